import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCarbonForecaster, MODEL_DIRS, ModelLoadError } from '../../models/index.ts';

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
      await assert.rejects(loadCarbonForecaster(bad), (e: unknown) => e instanceof ModelLoadError && e.message.startsWith(onnx) && /cannot be loaded/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
