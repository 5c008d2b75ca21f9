import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { forecastIdOf, ForecastInputError, type Forecaster, type SignalPoint, type SignalSource } from '../../../agents/grid/index.ts';
import { flakySource, naiveForecaster, ofType, recordedSource, runGrid } from './harness.ts';

const START = Date.parse('2023-07-03T06:00:00Z');
const at = (hhmm: string) => Date.parse(`2023-07-03T${hhmm}:00Z`);

interface Degraded {
  reason: string;
  source: string;
  lastGoodForecastId: string | null;
  lastGoodIssuedAt: string | null;
}

const forecastTimes = (events: Awaited<ReturnType<typeof runGrid>>['events']) =>
  ofType<{ issuedAt: string }>(events, 'grid.forecast.published').map((e) => e.data.issuedAt.slice(11, 16));

describe('grid agent on bad input', () => {
  test('a source outage: degraded each half-hour it lasts, no new forecast, the last good one named; it recovers and catches up the observations', async () => {
    const down = (now: number) => (now >= at('08:00') && now < at('09:30') ? 'unavailable' : null);
    const run = await runGrid({ startMs: START, untilMs: at('11:00'), deps: { source: flakySource(recordedSource(), down), forecaster: naiveForecaster() } });
    const degraded = ofType<Degraded>(run.events, 'grid.signal.degraded');
    assert.deepEqual(
      degraded.map((e) => e.time.slice(11, 16)),
      ['08:00', '08:30', '09:00'],
    );
    for (const e of degraded) {
      assert.equal(e.data.source, 'test /observed');
      assert.match(e.data.reason, /^SourceUnavailable: connect ECONNREFUSED \(after 4 attempts\)$/);
      assert.equal(e.data.lastGoodForecastId, forecastIdOf(at('07:30')));
      assert.equal(e.data.lastGoodIssuedAt, new Date(at('07:30')).toISOString());
    }
    assert.deepEqual(forecastTimes(run.events), ['06:00', '06:30', '07:00', '07:30', '09:30', '10:00', '10:30']);
    // Every half-hour observed exactly once, the ones missed during the outage published on recovery.
    const observed = ofType<{ periodStart: string }>(run.events, 'grid.signal.observed');
    const periods = observed.map((e) => Date.parse(e.data.periodStart));
    assert.deepEqual(periods, Array.from({ length: 10 }, (_, i) => at('05:30') + i * HALF_HOUR_MS));
    assert.deepEqual(
      observed.filter((e) => e.time.startsWith('2023-07-03T09:30')).map((e) => e.data.periodStart.slice(11, 16)),
      ['07:30', '08:00', '08:30', '09:00'],
    );
    assert.deepEqual(run.dlq, []);
    assert.ok(run.auditOk);
  });

  test('a response of the wrong shape is a degradation naming the field, not a crash', async () => {
    const bad = (now: number) => (now === at('07:00') ? 'bad-response' : null);
    const run = await runGrid({ startMs: START, untilMs: at('08:00'), deps: { source: flakySource(recordedSource(), bad), forecaster: naiveForecaster() } });
    const [d, ...more] = ofType<Degraded>(run.events, 'grid.signal.degraded');
    assert.equal(more.length, 0);
    assert.match(d!.data.reason, /^BadResponse: data\[0\]\.intensity: expected an object$/);
    assert.deepEqual(forecastTimes(run.events), ['06:00', '06:30', '07:30']);
  });

  test('the first tick failing: degraded with no last good forecast', async () => {
    const run = await runGrid({ startMs: START, untilMs: at('07:00'), deps: { source: flakySource(recordedSource(), (n) => (n === START ? 'unavailable' : null)), forecaster: naiveForecaster() } });
    const [d] = ofType<Degraded>(run.events, 'grid.signal.degraded');
    assert.equal(d!.data.lastGoodForecastId, null);
    assert.equal(d!.data.lastGoodIssuedAt, null);
    assert.deepEqual(forecastTimes(run.events), ['06:30']);
  });

  test('a bug in the source is not mistaken for an outage: the input is dead-lettered, and the agent keeps ticking', async () => {
    const bug = (now: number) => (now === at('06:30') ? 'bug' : null);
    const run = await runGrid({ startMs: START, untilMs: at('07:30'), deps: { source: flakySource(recordedSource(), bug), forecaster: naiveForecaster() } });
    assert.equal(run.dlq.length, 1);
    assert.match(JSON.stringify(run.dlq[0]), /a bug in the source/);
    assert.equal(ofType(run.events, 'grid.signal.degraded').length, 0);
    assert.deepEqual(forecastTimes(run.events), ['06:00', '07:00']);
  });

  test('history with too many gaps: degraded with the threshold in the reason, observations still published', async () => {
    // The market index is missing for the last two days: 96 of the 336 half-hours the models read.
    const inner = recordedSource();
    const gappy: SignalSource = {
      name: 'gappy',
      async observed(from, to, now) {
        const pts = await inner.observed(from, to, now);
        return pts.map((p): SignalPoint => (p.fromMs >= at('06:00') - 2 * 86_400_000 ? { ...p, marketIndexPriceGbpPerMwh: null } : p));
      },
    };
    const run = await runGrid({ startMs: START, untilMs: at('07:00'), deps: { source: gappy, forecaster: naiveForecaster() } });
    const degraded = ofType<Degraded>(run.events, 'grid.signal.degraded');
    assert.equal(degraded.length, 2);
    assert.equal(degraded[0]!.data.source, 'gappy history');
    assert.match(degraded[0]!.data.reason, /^InsufficientHistory: since 2023-06-26T06:00:00.000Z, market index price has 240 of 336 half-hours \(needs 303, 90 %\)$/);
    assert.equal(ofType(run.events, 'grid.forecast.published').length, 0);
    assert.equal(ofType(run.events, 'grid.signal.observed').length, 2);
  });

  test('a forecaster that cannot use the history, or breaks, or crosses its bands: degraded, never published', async () => {
    const cases: Array<[Forecaster, RegExp]> = [
      [{ forecast: () => Promise.reject(new ForecastInputError('m', 'too few values')) }, /^InsufficientHistory: m: too few values$/],
      [{ forecast: () => Promise.reject(new Error('onnx session died')) }, /^ForecasterFailed: onnx session died$/],
      [
        {
          forecast: async (h, now) => {
            const f = await naiveForecaster().forecast(h, now);
            return { ...f, price: { ...f.price, points: f.price.points.map((b, i) => (i === 5 ? { p10: b.p90 + 1, p50: b.p50, p90: b.p90 } : b)) } };
          },
        },
        /^BadForecast: naive-same-time-yesterday: point 5 has crossed quantiles/,
      ],
      [{ forecast: async (h, now) => ({ ...(await naiveForecaster().forecast(h, now)), carbon: { modelId: 'short', modelVersion: '1', points: [] } }) }, /^BadForecast: short: 0 points, expected 96$/],
    ];
    for (const [forecaster, reason] of cases) {
      const run = await runGrid({ startMs: START, untilMs: START + 1, deps: { source: recordedSource(), forecaster } });
      const [d] = ofType<Degraded>(run.events, 'grid.signal.degraded');
      assert.match(d?.data.reason ?? '(none)', reason);
      assert.equal(ofType(run.events, 'grid.forecast.published').length, 0);
      assert.deepEqual(run.dlq, []);
    }
  });
});

describe('determinism', () => {
  test('the same seed gives the same ledger to the last hash; another seed does not', async () => {
    const go = (seed: string) => runGrid({ seed, startMs: START, untilMs: at('12:00'), deps: { source: recordedSource(), forecaster: naiveForecaster() } });
    const a = await go('seed-a');
    const b = await go('seed-a');
    const c = await go('seed-c');
    assert.ok(a.events.length > 12);
    assert.deepEqual(
      a.events.map((e) => [e.id, e.hash]),
      b.events.map((e) => [e.id, e.hash]),
    );
    assert.equal(a.headHash, b.headHash);
    // Another seed changes ids and keys, not what was decided.
    assert.notEqual(a.headHash, c.headHash);
    assert.deepEqual(
      a.events.map((e) => [e.type, e.data]),
      c.events.map((e) => [e.type, e.data]),
    );
  });
});

describe('grid agent on values no GB signal takes (a helper\'s review)', () => {
  // One live value of 1e12 g/kWh set the ensemble's weights while it stayed in the window
  // (negative intensities forecast, a stress window at 2.3e11); an Infinity (an overflowing
  // market-index mean) made every tick's inputs hash throw: nothing published, not even degraded.
  const spiked = (inner: SignalSource): SignalSource => ({
    ...inner,
    observed: async (fromMs, toMs, nowMs) => {
      const r = await inner.observed(fromMs, toMs, nowMs);
      return r.map((p): SignalPoint => (p.fromMs === at('07:00') ? { ...p, carbonActualGPerKwh: 1e12, marketIndexPriceGbpPerMwh: Infinity, imbalancePriceGbpPerMwh: -5e6 } : p));
    },
  });

  test('are read as missing: every tick still forecasts, nothing is dead-lettered, the recorded observation has none of them', async () => {
    const run = await runGrid({ startMs: START, untilMs: at('10:00'), deps: { source: spiked(recordedSource()), forecaster: naiveForecaster() } });
    assert.deepEqual(run.dlq, []);
    assert.deepEqual(ofType(run.events, 'grid.signal.degraded'), []);
    assert.deepEqual(forecastTimes(run.events), ['06:00', '06:30', '07:00', '07:30', '08:00', '08:30', '09:00', '09:30']);
    const seven = ofType<{ periodStart: string; carbonActualGPerKwh: number | null; marketIndexPriceGbpPerMwh: number | null; imbalancePriceGbpPerMwh: number | null }>(run.events, 'grid.signal.observed').find((e) => Date.parse(e.data.periodStart) === at('07:00'));
    assert.ok(seven);
    assert.deepEqual([seven.data.carbonActualGPerKwh, seven.data.marketIndexPriceGbpPerMwh, seven.data.imbalancePriceGbpPerMwh], [null, null, null]);
    for (const e of ofType<{ carbonGPerKwh: { points: Array<{ p50: number }> } }>(run.events, 'grid.forecast.published')) assert.ok(Math.max(...e.data.carbonGPerKwh.points.map((b) => b.p50)) < 1500, 'no forecast carries the spike');
  });
});
