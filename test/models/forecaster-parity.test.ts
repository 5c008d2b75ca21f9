import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCarbonForecaster, loadPriceForecaster, MODEL_DIRS, windowFeatures, type Forecaster } from '../../models/index.ts';

interface Case {
  nowMs: number;
  history: { fromMs: number; values: Array<number | null> };
  features: { seq: number[]; static: number[]; level: number };
  output: { p10: number[]; p50: number[]; p90: number[] };
}
interface Cases {
  tolerance: { features: number; outputTimesScale: number };
  cases: Case[];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const [name, load] of [
  ['carbon', loadCarbonForecaster],
  ['price', loadPriceForecaster],
] as const) {
  describe(`${name} LSTM: ONNX in TypeScript matches PyTorch on the saved cases`, async () => {
    const saved = JSON.parse(readFileSync(join(MODEL_DIRS[name], 'test-cases.json'), 'utf8')) as Cases;
    const model: Forecaster = await load();

    test('there are cases, including histories with gaps', () => {
      assert.ok(saved.cases.length >= 4);
      assert.ok(saved.cases.some((c) => c.history.values.includes(null)));
    });

    for (const [i, c] of saved.cases.entries()) {
      test(`case ${i} (${new Date(c.nowMs).toISOString()})`, async () => {
        const hist = c.history.values.map((v) => (v === null ? Number.NaN : v));
        const f = windowFeatures(hist, c.nowMs, model.spec);
        assert.ok(f);
        assert.ok(maxAbsDiff(f.seq, c.features.seq) <= saved.tolerance.features, 'seq features differ from Python');
        assert.ok(maxAbsDiff(f.static, c.features.static) <= saved.tolerance.features, 'static features differ from Python');
        assert.ok(Math.abs(f.level - c.features.level) <= 1e-9 * Math.max(1, Math.abs(c.features.level)));

        const fc = await model.forecast(c.history, c.nowMs);
        assert.equal(fc.startMs, c.nowMs);
        assert.equal(fc.points.length, model.spec.horizon);
        const tol = saved.tolerance.outputTimesScale * model.spec.scale;
        assert.ok(maxAbsDiff(fc.points.map((p) => p.p50), c.output.p50) <= tol, 'p50 differs from PyTorch');
        assert.ok(maxAbsDiff(fc.points.map((p) => p.p10), c.output.p10) <= tol, 'p10 differs from PyTorch');
        assert.ok(maxAbsDiff(fc.points.map((p) => p.p90), c.output.p90) <= tol, 'p90 differs from PyTorch');
        assert.equal(fc.modelId, model.spec.modelId);
        assert.match(fc.modelVersion, /^[0-9a-f]{12}$/);
      });
    }
  });
}
