import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { ModelInputError, MODEL_DIRS, type Forecaster as ModelForecaster, type FeatureSpec } from '../../../models/index.ts';
import {
  checkHistory,
  DEFAULT_HISTORY_REQUIREMENTS,
  FORECAST_HORIZON,
  ForecastInputError,
  forecastProblem,
  loadGridForecaster,
  HISTORY_SLOTS,
  lstmSeriesForecaster,
  naiveSeriesForecaster,
  NAIVE_MODEL_ID,
  seriesBefore,
  TRACKED_BAND_OPTIONS,
  type SignalPoint,
} from '../../../agents/grid/index.ts';
import { loadConfig } from '../../../core/config/index.ts';
import { ofType, recordedSource, runGrid } from './harness.ts';

const DAY = 24 * 3_600_000;
const NOW = Date.parse('2023-07-10T12:00:00Z');

function series(days: number, f: (i: number) => number | null) {
  const n = days * 48;
  return { fromMs: NOW - n * HALF_HOUR_MS, values: Array.from({ length: n }, (_, i) => f(i)) };
}

describe('naive same-time-yesterday forecaster', () => {
  test('P50 is the same half-hour on the latest observed day; bands are the empirical 10–90 % of that guess’s errors', async () => {
    // A daily shape plus a trend of +1 per day: yesterday's value is always 1 low (2 low for day two).
    const shape = (i: number) => 100 + Math.round(50 * Math.sin((2 * Math.PI * i) / 48)) + Math.floor(i / 48);
    const s = series(8, shape);
    const f = await naiveSeriesForecaster().forecast(s, NOW);
    assert.equal(f.modelId, NAIVE_MODEL_ID);
    assert.equal(f.points.length, FORECAST_HORIZON);
    const n = s.values.length;
    for (let h = 0; h < 96; h++) {
      const lag = h < 48 ? 48 : 96;
      assert.equal(f.points[h]!.p50, s.values[n + h - lag]);
    }
    // Every error a day apart is exactly +1 (two days: +2): the band is [p50, p50 + 1] and [p50, p50 + 2].
    assert.deepEqual([f.points[0]!.p90 - f.points[0]!.p50, f.points[0]!.p50 - f.points[0]!.p10], [1, 0]);
    assert.deepEqual([f.points[60]!.p90 - f.points[60]!.p50, f.points[60]!.p50 - f.points[60]!.p10], [2, 0]);
    assert.equal(forecastProblem(f), null);
  });

  test('a missing value yesterday falls back to the same time on an earlier day; none in a week is an input error', async () => {
    const s = series(8, (i) => (i % 48 === 0 && i >= 7 * 48 ? null : i));
    const f = await naiveSeriesForecaster().forecast(s, NOW);
    // Slot 0's yesterday (index n − 48) is missing: two days before is used.
    assert.equal(f.points[0]!.p50, s.values.length - 96);
    const empty = series(8, (i) => (i % 48 === 5 ? null : i));
    await assert.rejects(naiveSeriesForecaster().forecast(empty, NOW), (e) => e instanceof ForecastInputError && /no value at the same time of day in the 7 days before/.test(e.message));
    await assert.rejects(naiveSeriesForecaster().forecast(series(1, (i) => i), NOW), ForecastInputError);
  });

  test('bands always hold the P50, whatever the history (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.double({ min: -100, max: 1000, noNaN: true }), { freq: 10 }), { minLength: 384, maxLength: 384 }), async (values) => {
        try {
          const f = await naiveSeriesForecaster().forecast({ fromMs: NOW - 384 * HALF_HOUR_MS, values }, NOW);
          assert.equal(forecastProblem(f), null);
        } catch (e) {
          assert.ok(e instanceof ForecastInputError);
        }
      }),
      { numRuns: 100 },
    );
  });

  test('as a fallback its modelId says so', async () => {
    const f = await naiveSeriesForecaster({ fallbackFor: 'carbon LSTM' }).forecast(series(8, (i) => i), NOW);
    assert.equal(f.modelId, 'naive-same-time-yesterday (fallback: carbon LSTM not loaded)');
  });
});

describe('LSTM adapter', () => {
  const spec = { modelId: 'fake-lstm', modelVersion: 'abc' } as FeatureSpec;
  const fake = (forecast: ModelForecaster['forecast']): ModelForecaster => ({ spec, modelVersion: 'abc', forecast });

  test('passes the dense history through, sorts crossed quantiles, and maps a model input error', async () => {
    let seen: { fromMs: number; values: ArrayLike<number | null> } | undefined;
    const model = fake(async (history, nowMs) => {
      seen = history;
      return { startMs: nowMs, modelId: 'fake-lstm', modelVersion: 'abc', unit: 'x', inputsHash: '0', points: Array.from({ length: 96 }, (_, i) => ({ p10: i + 1, p50: i, p90: i + 2 })) };
    });
    const s = series(8, (i) => i);
    const f = await lstmSeriesForecaster(model).forecast(s, NOW);
    assert.equal(seen?.fromMs, s.fromMs);
    assert.equal(seen?.values.length, 384);
    assert.deepEqual(f.points[3], { p10: 3, p50: 4, p90: 5 });
    assert.equal(forecastProblem(f), null);
    const failing = fake(() => Promise.reject(new ModelInputError('fake-lstm', 'fewer than 48 valid half-hours')));
    await assert.rejects(lstmSeriesForecaster(failing).forecast(s, NOW), (e) => e instanceof ForecastInputError && e.modelId === 'fake-lstm');
  });

  test('a model that will not load leaves the ensemble of the baselines, per series, and the notes say why', async () => {
    const loaded = await loadGridForecaster({
      loadCarbon: () => Promise.reject(new Error('models/carbon/carbon-lstm.onnx: model file not found')),
      loadPrice: () => Promise.resolve(fake(async (_h, nowMs) => ({ startMs: nowMs, modelId: 'fake-lstm', modelVersion: 'abc', unit: 'x', inputsHash: '0', points: Array.from({ length: 96 }, () => ({ p10: 1, p50: 2, p90: 3 })) }))),
      warmStart: false,
    });
    assert.match(loaded.notes[0]!, /^carbon LSTM: not loaded \(models\/carbon\/carbon-lstm.onnx: model file not found\); using caco-ensemble-carbon@e1-w28-h3\.5\+baselines$/);
    assert.equal(loaded.notes[1], 'price forecaster: caco-ensemble-price@e1-w28-h3.5+fake-lstm@abc');
    const history = await recordedSource().observed(NOW - HISTORY_SLOTS * HALF_HOUR_MS, NOW, NOW);
    const f = await loaded.forecaster.forecast(history, NOW);
    assert.equal(f.carbon.modelId, 'caco-ensemble-carbon');
    assert.equal(f.price.modelId, 'caco-ensemble-price');
    assert.equal(forecastProblem(f.carbon), null);
    // The bare models, as before the ensemble, are still one option away.
    const bare = await loadGridForecaster({ ensemble: false, loadCarbon: () => Promise.reject(new Error('gone')) });
    assert.match(bare.notes[0]!, /using naive-same-time-yesterday \(fallback: carbon LSTM not loaded\)@1$/);
  });

  test('forecaster: ensemble-tracked loads the ensemble with the tracked band, which asks for the history its recalibration reaches', async () => {
    assert.equal(loadConfig({ env: { CACO_FORECASTER: 'ensemble-tracked' } }).forecaster, 'ensemble-tracked');
    assert.throws(() => loadConfig({ env: { CACO_FORECASTER: 'tracked' } }), /CACO_FORECASTER/);
    const loaded = await loadGridForecaster({ ensemble: TRACKED_BAND_OPTIONS, warmStart: false, loadCarbon: () => Promise.reject(new Error('gone')), loadPrice: () => Promise.reject(new Error('gone')) });
    assert.match(loaded.notes[0]!, /caco-ensemble-carbon@e1-w28-h3\.5-r14q0\.005\+baselines$/);
    const slots = loaded.forecaster.historySlots!;
    assert.ok(slots >= HISTORY_SLOTS + 14 * 48, `history ${slots} half-hours`);
    const history = await recordedSource().observed(NOW - slots * HALF_HOUR_MS, NOW, NOW);
    const f = await loaded.forecaster.forecast(history, NOW);
    for (const x of [f.carbon, f.price]) {
      assert.equal(forecastProblem(x), null);
      assert.ok(x.points.every((p) => p.p10 <= p.p50 && p.p50 <= p.p90 && p.p90 > p.p10));
    }
  });

  test('outOfSampleOnly: a model is asked only for origins after its training and validation data', async () => {
    // Validation ends at NOW: an origin before it is in sample, one at or after it is not.
    const seenOrigins: number[] = [];
    const model: ModelForecaster = {
      modelVersion: 'abc',
      spec: { ...spec, trainedOn: { trainTo: '2023-06-01T00:00:00Z', validation: ['2023-06-01T00:00:00Z', new Date(NOW).toISOString()] } } as ModelForecaster['spec'],
      forecast: async (_h, nowMs) => {
        seenOrigins.push(nowMs);
        return { startMs: nowMs, modelId: 'fake-lstm', modelVersion: 'abc', unit: 'x', inputsHash: '0', points: Array.from({ length: 96 }, () => ({ p10: 1, p50: 2, p90: 3 })) };
      },
    };
    const history = await recordedSource().observed(NOW - HISTORY_SLOTS * HALF_HOUR_MS - DAY, NOW + DAY, NOW + DAY);
    // The ensemble also asks its model at past origins, to score it over its online window.
    for (const outOfSampleOnly of [true, false]) {
      seenOrigins.length = 0;
      const loaded = await loadGridForecaster({ loadCarbon: () => Promise.resolve(model), loadPrice: () => Promise.resolve(model), warmStart: false, outOfSampleOnly });
      for (const t of [NOW - DAY, NOW]) await loaded.carbon.forecast(seriesBefore(history, 'carbonActualGPerKwh', t, HISTORY_SLOTS), t);
      assert.ok(seenOrigins.includes(NOW), `outOfSampleOnly ${outOfSampleOnly}: asked at the cut-off`);
      assert.equal(seenOrigins.some((o) => o < NOW), !outOfSampleOnly, `outOfSampleOnly ${outOfSampleOnly}: asked before the cut-off`);
    }
    // A spec that does not say what the model saw cannot be evaluated out of sample.
    const silent = await loadGridForecaster({ loadCarbon: () => Promise.resolve(fake(model.forecast)), loadPrice: () => Promise.resolve(model), warmStart: false, outOfSampleOnly: true });
    assert.match(silent.notes[0]!, /not loaded \(model spec has no trainedOn/);
  });

  const modelsPresent = existsSync(join(MODEL_DIRS.carbon, 'features.json')) && existsSync(join(MODEL_DIRS.price, 'features.json'));
  test('the real ONNX LSTMs forecast 96 ordered points from recorded history', { skip: !modelsPresent && process.env['CI'] !== 'true' ? 'models/ has no trained forecasters' : false }, async () => {
    const loaded = await loadGridForecaster();
    assert.ok(loaded.notes.every((n) => !n.includes('not loaded')), loaded.notes.join('\n'));
    const history = await recordedSource().observed(NOW - HISTORY_SLOTS * HALF_HOUR_MS, NOW, NOW);
    const f = await loaded.forecaster.forecast(history, NOW);
    for (const s of [f.carbon, f.price]) {
      assert.equal(forecastProblem(s), null);
      assert.doesNotMatch(s.modelId, /naive/);
    }
    // A forecast from real July history stays in the range the grid has seen.
    for (const b of f.carbon.points) assert.ok(b.p50 > 0 && b.p50 < 500, String(b.p50));

    // On the runtime: the agent publishes exactly what the models say for its inputs.
    const run = await runGrid({ startMs: NOW, untilMs: NOW + 2 * HALF_HOUR_MS, deps: { source: recordedSource(), forecaster: loaded.forecaster } });
    const published = ofType<{ carbonGPerKwh: { modelId: string; points: unknown[] }; priceGbpPerMwh: { modelId: string; points: unknown[] } }>(run.events, 'grid.forecast.published');
    assert.equal(published.length, 2);
    assert.equal(published[0]!.data.carbonGPerKwh.modelId, f.carbon.modelId);
    assert.deepEqual(published[0]!.data.carbonGPerKwh.points, f.carbon.points);
    assert.deepEqual(published[0]!.data.priceGbpPerMwh.points, f.price.points);
  });
});

describe('history requirements', () => {
  const point = (fromMs: number, carbon: number | null, price: number | null): SignalPoint => ({
    fromMs,
    carbonActualGPerKwh: carbon,
    carbonForecastGPerKwh: null,
    imbalancePriceGbpPerMwh: null,
    marketIndexPriceGbpPerMwh: price,
  });
  const week = (missing: (i: number) => 'carbon' | 'price' | null) =>
    Array.from({ length: 336 }, (_, i) => {
      const m = missing(i);
      return point(NOW - (336 - i) * HALF_HOUR_MS, m === 'carbon' ? null : 100, m === 'price' ? null : 50);
    });

  test('at most 10 % of the week missing per series and at most 3 h missing at the end; the reason names series and numbers', () => {
    const { windowSlots, minCoverage, maxTrailingMissing } = DEFAULT_HISTORY_REQUIREMENTS;
    assert.deepEqual([windowSlots, minCoverage, maxTrailingMissing], [336, 0.9, 6]);
    // 33 missing (303 of 336) passes; 34 does not.
    assert.equal(checkHistory(week((i) => (i < 33 ? 'price' : null)), NOW).ok, true);
    const thin = checkHistory(week((i) => (i < 34 ? 'price' : null)), NOW);
    assert.equal(thin.ok, false);
    assert.match(thin.ok ? '' : thin.reason, /market index price has 302 of 336 half-hours \(needs 303, 90 %\)/);
    assert.equal(checkHistory(week((i) => (i >= 330 ? 'carbon' : null)), NOW).ok, true);
    const stale = checkHistory(week((i) => (i >= 329 ? 'carbon' : null)), NOW);
    assert.match(stale.ok ? '' : stale.reason, /carbon intensity has no value for the last 7 half-hours \(at most 6\)/);
    assert.equal(checkHistory([], NOW).ok, false);
  });

  test('seriesBefore places each point in its half-hour and ignores what is outside the window', () => {
    const pts = [point(NOW - 2 * HALF_HOUR_MS, 7, 1), point(NOW, 9, 9), point(NOW - 5 * DAY, 1, 1)];
    const s = seriesBefore(pts, 'carbonActualGPerKwh', NOW + 10 * 60_000, 4);
    assert.deepEqual(s, { fromMs: NOW - 4 * HALF_HOUR_MS, values: [null, null, 7, null] });
  });
});
