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

  test('the version a forecast names covers features.json: another mean is another version (a helper\'s review)', async () => {
    // Before: features.json with mean + 150 forecast 216 where the model's gives 166, under the same version.
    const dir = mkdtempSync(join(tmpdir(), 'caco-model-'));
    try {
      const edited = join(dir, 'carbon');
      cpSync(MODEL_DIRS.carbon, edited, { recursive: true });
      const specPath = join(edited, 'features.json');
      const spec = JSON.parse(readFileSync(specPath, 'utf8')) as { mean: number };
      writeFileSync(specPath, JSON.stringify({ ...spec, mean: spec.mean + 150 }, null, 2));
      const [a, b] = [await loadCarbonForecaster(), await loadCarbonForecaster(edited)];
      assert.equal(a.spec.modelVersion, b.spec.modelVersion, 'the same ONNX file');
      assert.notEqual(a.modelVersion, b.modelVersion);
      assert.match(a.modelVersion, /^[0-9a-f]{12}$/);
      const history = { fromMs: Date.UTC(2023, 7, 8), values: Array.from({ length: 7 * 48 }, (_, i) => 150 + 40 * Math.sin(i / 7)) };
      const [fa, fb] = [await a.forecast(history, Date.UTC(2023, 7, 15)), await b.forecast(history, Date.UTC(2023, 7, 15))];
      assert.equal(fa.modelVersion, a.modelVersion);
      assert.equal(fb.modelVersion, b.modelVersion);
      assert.notEqual(fa.points[47]!.p50, fb.points[47]!.p50, 'the forecasts differ, and so do the versions they name');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('sizes in features.json that disagree with each other or with the model are refused at load, so the ensemble runs on its baselines (a helper\'s review)', async () => {
    // Before: historySteps 384 (whole days, so it passed) loaded, then failed every forecast,
    // baselines and all, while the start-up notes named the LSTM as loaded.
    const dir = mkdtempSync(join(tmpdir(), 'caco-model-'));
    try {
      const bad = join(dir, 'carbon');
      cpSync(MODEL_DIRS.carbon, bad, { recursive: true });
      const specPath = join(bad, 'features.json');
      const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown> & { staticSize: number; horizon: number };
      const refused = async (change: Record<string, unknown>, why: RegExp) => {
        writeFileSync(specPath, JSON.stringify({ ...spec, ...change }));
        await assert.rejects(loadCarbonForecaster(bad), (e: unknown) => e instanceof ModelLoadError && e.message.startsWith(specPath) && why.test(e.message), JSON.stringify(change));
      };
      await refused({ historySteps: 384 }, /does not fit its model: windowFeatures: built 160 static features, spec says 159/);
      await refused({ historySteps: 4.8e9 }, /historySteps must be a whole number from 48 to 2880/);
      await refused({ seqLen: 0.5 }, /seqLen must be a whole number/);
      await refused({ minValid: -1 }, /minValid must be a whole number/);
      await refused({ quantiles: [0.5, 0.1, 0.9] }, /quantiles must be three increasing numbers/);
      // Consistent with itself, not with the model: the model's own input size refuses it.
      await refused({ horizon: 48, staticSize: spec.staticSize - 48 }, /does not fit its model/);
      // The grid agent falls back to its baselines, and says so.
      const { loadGridForecaster } = await import('../../agents/grid/index.ts');
      writeFileSync(specPath, JSON.stringify({ ...spec, historySteps: 384 }));
      const g = await loadGridForecaster({ carbonDir: bad, warmStart: false });
      assert.match(g.notes[0]!, /^carbon LSTM: not loaded \(.*does not fit its model/);
      // The runtime model likewise: a feature list of another length than its encoder builds.
      const rt = join(dir, 'runtime');
      cpSync(MODEL_DIRS.runtime, rt, { recursive: true });
      const rtSpec = JSON.parse(readFileSync(join(rt, 'features.json'), 'utf8')) as { features: string[] };
      writeFileSync(join(rt, 'features.json'), JSON.stringify({ ...rtSpec, features: [...rtSpec.features, 'extra'] }));
      const { loadRuntimeModel } = await import('../../models/index.ts');
      await assert.rejects(loadRuntimeModel(rt), (e: unknown) => e instanceof ModelLoadError && /does not fit its model: the encoder builds 8 features, features.json lists 9/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
