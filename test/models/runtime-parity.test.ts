import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRuntimePrediction } from '../../site/runtime-prediction.ts';
import { RuntimeFeaturesError } from '../../agents/compute/index.ts';
import { encodeRuntimeFeatures, loadRuntimeModel, MODEL_DIRS, ModelInputError, naiveRuntimeSeconds, type RuntimeFeatures } from '../../models/index.ts';

interface Case {
  input: RuntimeFeatures | null;
  features: Array<number | null>;
  margin: number;
  seconds: number | null;
}
const saved = JSON.parse(readFileSync(join(MODEL_DIRS.runtime, 'test-cases.json'), 'utf8')) as { tolerance: { margin: number }; cases: Case[] };

describe('runtime model: ONNX tree ensemble matches XGBoost on the saved cases', async () => {
  const model = await loadRuntimeModel();
  const rows = saved.cases.map((c) => c.features.map((v) => (v === null ? Number.NaN : v)));

  test('raw margins agree within tolerance, including the all-missing row', async () => {
    const m = await model.predictMargin(rows);
    saved.cases.forEach((c, i) => {
      assert.ok(Math.abs(m[i]! - c.margin) <= saved.tolerance.margin, `case ${i}: onnx ${m[i]} vs xgboost ${c.margin}`);
    });
  });

  test('TypeScript feature encoding equals the Python encoding', () => {
    for (const c of saved.cases) {
      if (!c.input) continue;
      const f = encodeRuntimeFeatures(c.input, model.spec);
      assert.deepEqual(Array.from(f, (v) => (Number.isNaN(v) ? null : v)), c.features.map((v) => (v === null ? null : Math.fround(v))));
    }
  });

  test('predictSeconds returns the training side seconds', async () => {
    for (const c of saved.cases) {
      if (!c.input || c.seconds === null) continue;
      const s = await model.predictSeconds(c.input);
      assert.ok(Math.abs(s - c.seconds) <= 1e-3 * c.seconds, `${s} vs ${c.seconds}`);
    }
  });

  test('more inference steps never predicts less time for an otherwise identical request, on average', async () => {
    const base: RuntimeFeatures = { predictType: 'TXT_2_IMG', promptLength: 60, negativePromptLength: null, numImagesPerPrompt: 1, numLora: 0, checkpointModelVersionId: null };
    const [few, many] = await Promise.all([model.predictSeconds({ ...base, numInferenceSteps: 20 }), model.predictSeconds({ ...base, numInferenceSteps: 60 })]);
    assert.ok(many > few, `${many} <= ${few}`);
  });

  test('predictSecondsP90 scales the prediction by the validation p90 factor, never below it', async () => {
    const input = saved.cases.find((c) => c.input)!.input!;
    const [p50, p90] = await Promise.all([model.predictSeconds(input), model.predictSecondsP90(input)]);
    assert.ok(model.spec.p90Factor >= 1);
    assert.ok(Math.abs(p90 - p50 * model.spec.p90Factor) < 1e-9 * p90);
  });

  test('an unknown predict type is a ModelInputError; the naive baseline falls back to the overall median', () => {
    assert.throws(() => encodeRuntimeFeatures({ predictType: 'TXT_2_VIDEO' }, model.spec), ModelInputError);
    assert.equal(naiveRuntimeSeconds({ predictType: 'TXT_2_IMG', numInferenceSteps: 12345 }, model.spec), model.spec.naiveBaseline.overallMedianSeconds);
  });
});

describe('the site\'s runtime prediction (site/runtime-prediction.ts)', () => {
  test('a job type the model does not know is a RuntimeFeaturesError naming features.predictType; a known one predicts', async () => {
    const notes: string[] = [];
    const predict = await loadRuntimePrediction((n) => notes.push(n));
    assert.ok(predict, notes.join('; '));
    await assert.rejects(async () => predict({ predictType: 'nope', numInferenceSteps: 30 }), (e: unknown) => e instanceof RuntimeFeaturesError && e.field === 'features.predictType' && /"nope" is not a job type the runtime model knows \(.*TXT_2_IMG/.test(e.reason));
    const p = await predict({ predictType: 'TXT_2_IMG', numInferenceSteps: 30 });
    assert.ok(p && p.minutes > 0 && Number.isFinite(p.minutes), JSON.stringify(p));
  });

  test('requests and parallel must be whole, positive, parallel at most requests: a batch is not made a 1-minute job by them (a helper\'s review)', async () => {
    const predict = (await loadRuntimePrediction(() => undefined))!;
    const base = { predictType: 'TXT_2_IMG', numInferenceSteps: 30 };
    const one = (await predict(base))!.minutes;
    const batch = (await predict({ ...base, requests: 2000, parallel: 4 }))!.minutes;
    assert.ok(Math.abs(batch - one * 500) < 1e-6 * batch, `${batch} vs ${one} × 500`);
    assert.equal((await predict({ ...base, requests: '2000', parallel: '4' }))!.minutes, batch, 'decimals in text are read');
    // A step count in hex is not 16 steps: read as missing, as any feature that is not a number.
    assert.equal((await predict({ ...base, numInferenceSteps: '0x1E' }))!.minutes, (await predict({ predictType: 'TXT_2_IMG' }))!.minutes);
    for (const [features, field] of [
      [{ requests: -2000 }, 'features.requests'],
      [{ requests: 0 }, 'features.requests'],
      [{ requests: 2.5 }, 'features.requests'],
      [{ requests: 'many' }, 'features.requests'],
      [{ requests: 2000, parallel: 1e9 }, 'features.parallel'],
      [{ requests: 20, parallel: 0 }, 'features.parallel'],
      // Number() reads these as 16 and 3; nothing else here takes such notations.
      [{ requests: '0x10' }, 'features.requests'],
      [{ requests: 8, parallel: '0b11' }, 'features.parallel'],
    ] as const) {
      await assert.rejects(async () => predict({ ...base, ...features }), (e: unknown) => e instanceof RuntimeFeaturesError && e.field === field, JSON.stringify(features));
    }
  });
});
