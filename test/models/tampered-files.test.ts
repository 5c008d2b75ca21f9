import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadCarbonForecaster, MODEL_DIRS, ModelLoadError } from '../../models/index.ts';

const sha12 = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 12);

/** A model folder whose card (features.json) or ONNX file was damaged or tampered with: a ModelLoadError naming the file, not a crash. */
describe('tampered model files', { timeout: 60_000 }, () => {
  test('features.json that is not JSON, and an ONNX file that is not a model, are ModelLoadErrors naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-model-'));
    try {
      const bad = join(dir, 'carbon');
      cpSync(MODEL_DIRS.carbon, bad, { recursive: true });
      const specPath = join(bad, 'features.json');
      const spec = readFileSync(specPath, 'utf8');
      writeFileSync(specPath, spec.slice(0, spec.length >> 1));
      await assert.rejects(loadCarbonForecaster(bad), (e: unknown) => e instanceof ModelLoadError && /features\.json: not JSON/.test(e.message));

      writeFileSync(specPath, spec);
      const onnx = join(bad, (JSON.parse(spec) as { onnxFile: string }).onnxFile);
      writeFileSync(onnx, 'not a model');
      await assert.rejects(loadCarbonForecaster(bad), (e: unknown) => e instanceof ModelLoadError && e.message.startsWith(onnx) && /is version [0-9a-f]{12}, but its parameters .* are for version "81e823253fed"/.test(e.message));
      // Not a model, under parameters that name it: ONNX Runtime's refusal, named.
      writeFileSync(specPath, JSON.stringify({ ...(JSON.parse(spec) as object), modelVersion: sha12(Buffer.from('not a model')) }));
      await assert.rejects(loadCarbonForecaster(bad), (e: unknown) => e instanceof ModelLoadError && e.message.startsWith(onnx) && /cannot be loaded/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('a swapped model, one of another shape and parameters that make every output NaN are refused at load (a helper\'s review)', async () => {
    // Before: the price LSTM copied over the carbon one loaded and forecast carbon under the
    // carbon model's version; the runtime model there failed every forecast, the whole grid
    // forecaster with it; scale 0 made every output NaN, silently.
    const dir = mkdtempSync(join(tmpdir(), 'caco-model-'));
    try {
      const bad = join(dir, 'carbon');
      cpSync(MODEL_DIRS.carbon, bad, { recursive: true });
      const specPath = join(bad, 'features.json');
      const spec = JSON.parse(readFileSync(specPath, 'utf8')) as { onnxFile: string; modelVersion: string; scale: number };
      const onnx = join(bad, spec.onnxFile);
      const price = JSON.parse(readFileSync(join(MODEL_DIRS.price, 'features.json'), 'utf8')) as { onnxFile: string };
      cpSync(join(MODEL_DIRS.price, price.onnxFile), onnx);
      await assert.rejects(loadCarbonForecaster(bad), (e: unknown) => e instanceof ModelLoadError && /is version 20f617dc7827, but its parameters .* are for version "81e823253fed"/.test(e.message));

      const runtime = JSON.parse(readFileSync(join(MODEL_DIRS.runtime, 'features.json'), 'utf8')) as { onnxFile: string };
      cpSync(join(MODEL_DIRS.runtime, runtime.onnxFile), onnx);
      writeFileSync(specPath, JSON.stringify({ ...spec, modelVersion: sha12(readFileSync(onnx)) }));
      await assert.rejects(loadCarbonForecaster(bad), (e: unknown) => e instanceof ModelLoadError && /has no input "seq", input "static", input "level", output "quantiles"/.test(e.message));

      cpSync(join(MODEL_DIRS.carbon, spec.onnxFile), onnx);
      writeFileSync(specPath, JSON.stringify({ ...spec, scale: 0 }));
      await assert.rejects(loadCarbonForecaster(bad), (e: unknown) => e instanceof ModelLoadError && /scale > 0/.test(e.message));
      writeFileSync(specPath, JSON.stringify(spec));
      await loadCarbonForecaster(bad);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
