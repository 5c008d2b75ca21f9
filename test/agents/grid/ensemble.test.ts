// test-file-timeout: 240
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EnsembleSeriesForecaster,
  ForecastInputError,
  HISTORY_SLOTS,
  ensembleHistorySlots,
  forecastProblem,
  loadGridForecaster,
  RecordedSignalSource,
  type SeriesForecast,
  type SeriesForecaster,
} from '../../../agents/grid/index.ts';
import type { Forecaster as ModelForecaster } from '../../../models/index.ts';
import { pastOnly, walkForward, type MonthWindow } from '../../../bench/_walk-forward.ts';
import { parseEnsembleOptions, walkForwardSeries } from '../../../bench/forecast.ts';
import { ofType, recordedRows, runGrid } from './harness.ts';

const HH = 30 * 60 * 1000;
const DAY = 48 * HH;
const T0 = Date.parse('2023-01-01T00:00:00Z');
const POISON = 1e6;
const SMALL = { windowDays: 3, refitSlots: 6, leadsPerBucket: 8, minSamples: 48 };

/** Deterministic PRNG (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A deterministic synthetic series: daily cycle, slow drift, seeded noise. */
function synthetic(days: number): Float64Array {
  const r = mulberry32(12345);
  return Float64Array.from({ length: days * 48 }, (_, i) => 200 + 60 * Math.sin((2 * Math.PI * i) / 48) + 30 * Math.sin(i / 200) + 30 * (r() - 0.5));
}

/** A stand-in for the LSTM: yesterday's profile shifted by the latest level, recording everything it was shown. */
function fakeModel(seen: number[][]): SeriesForecaster {
  return {
    describe: 'fake-lstm@1',
    forecast(series, nowMs) {
      const v = series.values.map((x) => x ?? Number.NaN);
      seen.push([nowMs, Math.max(...v.filter(Number.isFinite))]);
      const n = (nowMs - series.fromMs) / HH;
      if (n < 96) return Promise.reject(new ForecastInputError('fake-lstm', 'short'));
      const last = v[n - 1]!;
      const points = Array.from({ length: 96 }, (_, h) => {
        const p = 0.5 * v[n + h - 48 * (Math.floor(h / 48) + 1)]! + 0.5 * last;
        return { p10: p - 20, p50: p, p90: p + 20 };
      });
      return Promise.resolve({ modelId: 'fake-lstm', modelVersion: '1', points });
    },
  };
}

for (const [label, options] of [
  ['', SMALL],
  [' (band recalibrated on its own past outcomes)', { ...SMALL, recalibrationDays: 2, lower: 0.1, upper: 0.9 }],
  [' (band scaled by spread, adaptive conformal levels)', { ...SMALL, recalibrationDays: 2, recalibrationStep: 0.005, bandScale: 'spread', lower: 0.1, upper: 0.9 }],
] as const) describe(`walk-forward never uses data at or after the origin${label}`, () => {
  const actual = synthetic(30);
  const months: MonthWindow[] = [
    { label: 'A', fromMs: T0 + 14 * DAY, toMs: T0 + 17 * DAY },
    { label: 'B', fromMs: T0 + 17 * DAY, toMs: T0 + 20 * DAY },
  ];
  const slots = ensembleHistorySlots(options);
  const cleanFrom = T0 + 17 * DAY;

  async function run(series: Float64Array, ms: MonthWindow[]) {
    const seen: number[][] = [];
    const model = fakeModel(seen);
    const modelAllowedAt = (t: number) => t >= cleanFrom;
    const forecaster = new EnsembleSeriesForecaster({ signal: 'test', model, modelAllowedAt, options });
    const out = new Map<number, SeriesForecast>();
    const rows = await walkForward({ forecaster, model, modelAllowedAt, actual: series, seriesFromMs: T0, months: ms, historySlots: slots, stride: 5, onForecast: (t, f) => out.set(t, f) });
    return { rows, out, seen };
  }

  test('poisoning every value from month B on leaves month A\'s forecasts unchanged, and no forecaster ever sees a poisoned value', async () => {
    const clean = await run(actual, months.slice(0, 1));
    const poisoned = Float64Array.from(actual, (v, i) => (T0 + i * HH >= months[1]!.fromMs ? POISON : v));
    const dirty = await run(poisoned, months.slice(0, 1));
    assert.ok(clean.out.size > 10);
    assert.deepEqual([...dirty.out.entries()], [...clean.out.entries()]);
    assert.ok(dirty.seen.every(([, max]) => max! < POISON));
  });

  test('within a month: each forecast equals the one made from a series poisoned from its origin on', async () => {
    const { out } = await run(actual, months);
    let checked = 0;
    for (const [t, f] of out) {
      if ((t - T0) % (7 * HH) !== 0) continue; // a sample of origins keeps the test fast
      const o = (t - T0) / HH;
      const poisoned = Float64Array.from(actual, (v, i) => (i >= o ? POISON : v));
      const forecaster = new EnsembleSeriesForecaster({ signal: 'test', model: fakeModel([]), modelAllowedAt: (x) => x >= cleanFrom, options });
      // A fresh forecaster (empty caches) on the poisoned series, with the whole poisoned array in reach.
      const g = await forecaster.forecast({ fromMs: T0, values: Array.from(poisoned) }, t);
      assert.deepEqual(g.points, f.points, `origin ${new Date(t).toISOString()}`);
      checked++;
    }
    assert.ok(checked >= 3, `${checked} origins checked`);
  });

  test('the learned member is never asked for a forecast before the instant it is admitted', async () => {
    const { seen, rows } = await run(actual, months);
    assert.ok(seen.length > 0);
    assert.ok(seen.every(([t]) => t! >= cleanFrom), 'model called for an origin before it is clean');
    assert.equal(rows[0]!.model, null, 'month A is scored without the model');
    assert.notEqual(rows[1]!.model, null);
  });

  test('pastOnly hands over nothing at or after the origin', () => {
    const h = pastOnly(actual, T0, 700, 100);
    assert.equal(h.values.length, 100);
    assert.equal(h.fromMs + 100 * HH, T0 + 700 * HH);
    assert.equal(h.values.at(-1), actual[699]);
  });
});

describe('ensemble forecaster', () => {
  test('HISTORY_SLOTS covers the default ensemble\'s window', () => {
    assert.ok(HISTORY_SLOTS >= ensembleHistorySlots());
  });

  test('on a series it can learn, the ensemble beats yesterday and its band covers about 80 %', async () => {
    const actual = synthetic(40);
    const forecaster = new EnsembleSeriesForecaster({ signal: 'test', options: SMALL });
    const rows = await walkForward({ forecaster, actual, seriesFromMs: T0, months: [{ label: 'x', fromMs: T0 + 20 * DAY, toMs: T0 + 36 * DAY }], historySlots: ensembleHistorySlots(SMALL), stride: 7 });
    const r = rows[0]!;
    assert.ok(r.ratio24hVsYesterday < 1, `ratio ${r.ratio24hVsYesterday}`);
    const cov = r.ensemble.coverageP10P90.pooled;
    assert.ok(cov > 0.7 && cov < 0.9, `coverage ${cov}`);
    // The interval score is the width plus 10× the miss distances: above the width unless nothing missed.
    const b = r.ensemble.coverageP10P90;
    assert.ok(b.meanWidth > 0 && b.intervalScore > b.meanWidth, JSON.stringify(b));
    assert.equal(b.weekly.length, 3, '16 days of origins: weeks 0, 1 and 2');
    assert.ok(b.weekly.every((w) => w >= 0 && w <= 1) && Math.min(...b.weekly) <= cov && Math.max(...b.weekly) >= cov);
  });

  test('recalibrated on its own past outcomes (PIT quantiles, adaptive conformal levels or tracked widths), a band that lags a growing error catches up to about 80 %', async () => {
    // Noise whose scale grows all the time: a band sized on past residuals is always too narrow.
    const r = mulberry32(3);
    const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const actual = Float64Array.from({ length: 24 * 48 }, (_, i) => 200 + 60 * Math.sin((2 * Math.PI * i) / 48) + (2 + i / 20) * normal());
    const coverage = async (recalibrationDays: number, recalibrationStep = 0, recalibrationTrack: 'level' | 'scale' = 'level'): Promise<number> => {
      const options = { ...SMALL, lower: 0.1, upper: 0.9, bandHalfLifeDays: 0, recalibrationDays, recalibrationStep, recalibrationTrack };
      const forecaster = new EnsembleSeriesForecaster({ signal: 'test', options });
      const rows = await walkForward({ forecaster, actual, seriesFromMs: T0, months: [{ label: 'x', fromMs: T0 + 14 * DAY, toMs: T0 + 22 * DAY }], historySlots: ensembleHistorySlots(options), stride: 5 });
      return rows[0]!.ensemble.coverageP10P90.pooled;
    };
    const plain = await coverage(0);
    const recalibrated = await coverage(2);
    const adaptive = await coverage(2, 0.005);
    const tracked = await coverage(2, 0.01, 'scale');
    assert.ok(plain < 0.74, `without: ${plain}`);
    assert.ok(recalibrated > 0.76 && recalibrated < 0.84, `recalibrated: ${recalibrated} (without: ${plain})`);
    assert.ok(adaptive > 0.76 && adaptive < 0.86, `adaptive: ${adaptive} (without: ${plain})`);
    assert.ok(tracked > 0.76 && tracked < 0.86, `tracked: ${tracked} (without: ${plain})`);
    assert.match(new EnsembleSeriesForecaster({ signal: 'test', options: { ...SMALL, recalibrationDays: 2 } }).describe, /-r2\+baselines$/);
    assert.throws(() => new EnsembleSeriesForecaster({ signal: 'test', options: { recalibrationDays: 1.5 } }), /recalibrationDays must be a whole number/);
  });

  test('bench --options: known settings pass; an unknown name, a bad value or non-object JSON is refused naming it', () => {
    assert.deepEqual(parseEnsembleOptions('{"recalibrationDays":14,"recalibrationTrack":"scale"}'), { recalibrationDays: 14, recalibrationTrack: 'scale' });
    assert.throws(() => parseEnsembleOptions('{"windowDay":7}'), /"windowDay" is not an ensemble setting/);
    assert.throws(() => parseEnsembleOptions('{"recalibrationTrack":"fast"}'), /recalibrationTrack must be level or scale/);
    assert.throws(() => parseEnsembleOptions('[1]'), /must be a JSON object/);
    assert.throws(() => parseEnsembleOptions('{'), /--options: not JSON/);
  });

  test('a warm-start fit made after the forecast instant is not used', async () => {
    const actual = synthetic(10);
    const t = T0 + 8 * DAY;
    const series = pastOnly(actual, T0, 8 * 48, 8 * 48);
    const bare = await new EnsembleSeriesForecaster({ signal: 'test', options: { ...SMALL, minSamples: 1e9 } }).forecast(series, t);
    const members = ['sameTimeYesterday', 'sameTimeLastWeek', 'profile7d', 'persistence'];
    const bucket = { weights: [0, 0, 0, 1], bias: 1000, lo: -1, hi: 1, samples: 1 };
    const later = { atMs: t + HH * 6, members, buckets: Array.from({ length: 12 }, () => bucket) };
    const f = await new EnsembleSeriesForecaster({ signal: 'test', warmStart: later, options: { ...SMALL, minSamples: 1e9 } }).forecast(series, t);
    assert.deepEqual(f.points, bare.points);
    const earlier = { ...later, atMs: t - DAY };
    const g = await new EnsembleSeriesForecaster({ signal: 'test', warmStart: earlier, options: { ...SMALL, minSamples: 1e9 } }).forecast(series, t);
    assert.ok(g.points[0]!.p50 > 1000, 'an earlier warm start is used where there is no fit');
    assert.equal(forecastProblem(g), null);
  });
});

describe('the recorded archive\'s forecast column is never read as a day-ahead forecast', () => {
  const fakeLstm = (): ModelForecaster =>
    ({
      spec: { modelId: 'fake', modelVersion: '1', horizon: 96, minValid: 48, historySteps: 336 },
      forecast: (h: { fromMs: number; values: ArrayLike<number | null> }, nowMs: number) => {
        const n = (nowMs - h.fromMs) / HH;
        const last = Number(h.values[n - 1] ?? 150);
        return Promise.resolve({ startMs: nowMs, modelId: 'fake', modelVersion: '1', unit: 'x', inputsHash: '0', points: Array.from({ length: 96 }, () => ({ p10: last - 10, p50: last, p90: last + 10 })) });
      },
    }) as unknown as ModelForecaster;

  test('simulation path: the grid agent publishes the same forecasts when the forecast column is poisoned', async () => {
    const START = Date.parse('2023-07-03T00:00:00Z');
    const rows = recordedRows();
    const poisonedCarbon = rows.carbon.map((r) => ({ ...r, forecastGPerKwh: r.forecastGPerKwh === null ? null : POISON }));
    const publish = async (carbon: typeof rows.carbon) => {
      const { forecaster } = await loadGridForecaster({ loadCarbon: () => Promise.resolve(fakeLstm()), loadPrice: () => Promise.resolve(fakeLstm()) });
      const run = await runGrid({ startMs: START, untilMs: START + 2 * HH, deps: { source: new RecordedSignalSource({ carbon, prices: rows.prices }), forecaster } });
      return ofType<{ carbonGPerKwh: unknown; priceGbpPerMwh: unknown }>(run.events, 'grid.forecast.published').map((e) => [e.data.carbonGPerKwh, e.data.priceGbpPerMwh]);
    };
    const clean = await publish(rows.carbon);
    const dirty = await publish(poisonedCarbon);
    assert.equal(clean.length, 2);
    assert.deepEqual(dirty, clean);
  });

  test('bench path: the walk-forward series is built from actuals only', () => {
    const rows = recordedRows().carbon;
    const from = Date.parse('2023-06-01T00:00:00Z');
    const to = Date.parse('2023-06-08T00:00:00Z');
    const clean = walkForwardSeries('carbon', rows, from, to);
    const dirty = walkForwardSeries('carbon', rows.map((r) => ({ ...r, forecastGPerKwh: POISON })), from, to);
    assert.deepEqual(dirty, clean);
    assert.ok(clean.every((v) => !Number.isFinite(v) || v < 1000));
  });
});
