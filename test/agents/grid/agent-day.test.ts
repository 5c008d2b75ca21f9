import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HALF_HOUR_MS, settlementPeriodOf } from '../../../core/time/index.ts';
import { DEFAULT_STRESS_OPTIONS, forecastIdOf, forecastInputsHash, stressIdOf, type StressKind } from '../../../agents/grid/index.ts';
import { naiveForecaster, ofType, recordedRows, recordedSource, runGrid, type RunResult } from './harness.ts';

const DAY = 24 * 3_600_000;
const START = Date.parse('2023-07-03T00:00:00Z');
const END = START + DAY;

interface Observed {
  periodStart: string;
  settlementDate: string;
  settlementPeriod: number;
  carbonActualGPerKwh: number | null;
  carbonPublishedForecastGPerKwh: number | null;
  imbalancePriceGbpPerMwh: number | null;
  marketIndexPriceGbpPerMwh: number | null;
  source: string;
}
interface Band {
  p10: number;
  p50: number;
  p90: number;
}
interface Published {
  forecastId: string;
  issuedAt: string;
  startsAt: string;
  inputsHash: string;
  carbonGPerKwh: { modelId: string; modelVersion: string; points: Band[] };
  priceGbpPerMwh: { modelId: string; modelVersion: string; points: Band[] };
}
interface Stress {
  stressId: string;
  forecastId: string;
  windowStart: string;
  windowEnd: string;
  kind: StressKind;
  peakCarbonGPerKwh: number;
  peakPriceGbpPerMwh: number;
  severity: number;
}

describe('grid agent over a recorded day (2023-07-03) on a simulated clock', () => {
  let run: RunResult;
  before(async () => {
    run = await runGrid({ startMs: START, untilMs: END, deps: { source: recordedSource(), forecaster: naiveForecaster() } });
  });

  test('one grid.signal.observed per half-hour, with the recorded values and the right settlement period', () => {
    const observed = ofType<Observed>(run.events, 'grid.signal.observed');
    // Ticks at 00:00 … 23:30 each publish the half-hour just ended: 23:30 the day before … 23:00.
    const expected = Array.from({ length: 48 }, (_, i) => START - HALF_HOUR_MS + i * HALF_HOUR_MS);
    assert.deepEqual(
      observed.map((e) => Date.parse(e.data.periodStart)),
      expected,
    );
    const { carbon, prices } = recordedRows();
    const c = new Map(carbon.map((r) => [r.fromMs, r]));
    const p = new Map(prices.map((r) => [r.fromMs, r]));
    for (const e of observed) {
      const ms = Date.parse(e.data.periodStart);
      // Published at the end of its half-hour, not before.
      assert.equal(Date.parse(e.time), ms + HALF_HOUR_MS);
      assert.deepEqual({ settlementDate: e.data.settlementDate, settlementPeriod: e.data.settlementPeriod }, settlementPeriodOf(ms));
      assert.equal(e.data.carbonActualGPerKwh, c.get(ms)?.actualGPerKwh ?? null, e.data.periodStart);
      assert.equal(e.data.carbonPublishedForecastGPerKwh, c.get(ms)?.forecastGPerKwh ?? null);
      assert.equal(e.data.imbalancePriceGbpPerMwh, p.get(ms)?.imbalanceGbpPerMwh ?? null);
      assert.equal(e.data.marketIndexPriceGbpPerMwh, p.get(ms)?.marketIndexGbpPerMwh ?? null);
      assert.equal(e.data.source, 'recorded');
      assert.equal(e.stream, 'grid-signals');
    }
    // BST: 00:00Z is 01:00 local, settlement period 3 of 2023-07-03.
    assert.deepEqual([observed[1]!.data.settlementDate, observed[1]!.data.settlementPeriod], ['2023-07-03', 3]);
  });

  test('a forecast every half-hour: 96 points from the tick, p10 <= p50 <= p90, a deterministic id and a reproducible inputs hash', async () => {
    const forecasts = ofType<Published>(run.events, 'grid.forecast.published');
    assert.equal(forecasts.length, 48);
    const source = recordedSource();
    for (const [i, e] of forecasts.entries()) {
      const tick = START + i * HALF_HOUR_MS;
      assert.equal(Date.parse(e.data.startsAt), tick);
      assert.equal(Date.parse(e.data.issuedAt), tick);
      assert.equal(e.data.forecastId, forecastIdOf(tick));
      for (const s of [e.data.carbonGPerKwh, e.data.priceGbpPerMwh]) {
        assert.equal(s.points.length, 96);
        for (const b of s.points) assert.ok(b.p10 <= b.p50 && b.p50 <= b.p90, JSON.stringify(b));
      }
      assert.equal(e.data.carbonGPerKwh.modelId, 'naive-same-time-yesterday');
    }
    // Rebuild the inputs of one forecast from the source and re-run the forecaster: same hash, same numbers.
    const e = forecasts[17]!;
    const now = Date.parse(e.data.issuedAt);
    const history = await source.observed(now - 8 * DAY, now, now);
    assert.equal(forecastInputsHash(history, now), e.data.inputsHash);
    const again = await naiveForecaster().forecast(history, now);
    assert.deepEqual(again.carbon.points, e.data.carbonGPerKwh.points);
    assert.deepEqual(again.price.points, e.data.priceGbpPerMwh.points);
    // The naive P50 of the first slot is the same half-hour yesterday, read from the data itself.
    const yesterday = recordedRows().carbon.find((r) => r.fromMs === now - DAY);
    assert.equal(e.data.carbonGPerKwh.points[0]!.p50, yesterday?.actualGPerKwh);
    // Different history, different hash.
    assert.notEqual(forecasts[16]!.data.inputsHash, e.data.inputsHash);
  });

  test('stress windows: only in the future (with notice), each announced once, no two of a kind overlapping, a few a day', () => {
    const stress = ofType<Stress>(run.events, 'grid.stress.expected');
    assert.ok(stress.length > 0, 'a summer day has price and carbon peaks');
    assert.ok(stress.length <= 2 * DEFAULT_STRESS_OPTIONS.maxPerDay * 2, `${stress.length} windows in a day`);
    const forecasts = new Map(ofType<Published>(run.events, 'grid.forecast.published').map((e) => [e.data.forecastId, e]));
    const ids = new Set<string>();
    for (const e of stress) {
      const start = Date.parse(e.data.windowStart);
      const end = Date.parse(e.data.windowEnd);
      assert.ok(start >= Date.parse(e.time) + DEFAULT_STRESS_OPTIONS.noticeMin * 60_000, `${e.data.stressId} announced at ${e.time}`);
      assert.ok(end - start >= DEFAULT_STRESS_OPTIONS.minWindowMin * 60_000 && end - start <= DEFAULT_STRESS_OPTIONS.maxWindowMin * 60_000);
      assert.ok(!ids.has(e.data.stressId), `${e.data.stressId} announced twice`);
      ids.add(e.data.stressId);
      assert.equal(e.data.stressId, stressIdOf({ kind: e.data.kind, startMs: start }));
      // The window comes from the forecast issued in the same tick, and its peaks are that forecast's.
      const f = forecasts.get(e.data.forecastId);
      assert.ok(f && f.time === e.time, e.data.forecastId);
      const slot = (ms: number) => (ms - Date.parse(f.data.startsAt)) / HALF_HOUR_MS;
      const carbon = f.data.carbonGPerKwh.points.slice(slot(start), slot(end)).map((b) => b.p50);
      const price = f.data.priceGbpPerMwh.points.slice(slot(start), slot(end)).map((b) => b.p50);
      assert.equal(e.data.peakCarbonGPerKwh, Math.max(...carbon));
      assert.equal(e.data.peakPriceGbpPerMwh, Math.max(...price));
    }
    for (const a of stress)
      for (const b of stress) {
        if (a === b || a.data.kind !== b.data.kind) continue;
        const overlap = Date.parse(a.data.windowStart) < Date.parse(b.data.windowEnd) && Date.parse(b.data.windowStart) < Date.parse(a.data.windowEnd);
        assert.ok(!overlap, `${a.data.stressId} overlaps ${b.data.stressId}`);
      }
  });

  test('the state holds the last good forecast and the announced windows; the ledger verifies; nothing dead-lettered', () => {
    const forecasts = ofType<Published>(run.events, 'grid.forecast.published');
    assert.equal(run.state.lastGood?.forecastId, forecasts.at(-1)!.data.forecastId);
    assert.equal(run.state.lastTickMs, START + 47 * HALF_HOUR_MS);
    const stress = ofType<Stress>(run.events, 'grid.stress.expected');
    assert.equal(run.state.announced.length, stress.length);
    assert.equal(ofType(run.events, 'grid.signal.degraded').length, 0);
    assert.ok(run.auditOk);
    assert.deepEqual(run.dlq, []);
    assert.deepEqual([...new Set(run.events.map((e) => e.stream))].sort(), ['grid-forecasts', 'grid-signals', 'grid-stress']);
  });
});
