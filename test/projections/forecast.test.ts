import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dayAheadSkill, evolveForecast, forecastVsActual, initialForecast, latestForecastRows, forecastProjection } from '../../projections/forecast/index.ts';
import { registered } from './settlement/helpers.ts';
import { fold } from '../../projections/index.ts';

const T0 = Date.parse('2023-07-03T00:00:00Z');
const SLOT = 1_800_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A 96-point forecast issued at `issuedMs` whose P50 at each point is `issuedMs` in hours plus the point index (so tests can tell forecasts apart). */
function forecast(issuedMs: number) {
  const tag = (issuedMs - T0) / 3_600_000;
  const points = Array.from({ length: 96 }, (_, i) => ({ p10: tag * 1000 + i - 10, p50: tag * 1000 + i, p90: tag * 1000 + i + 10 }));
  return registered('grid.forecast.published', {
    forecastId: `f-${tag}`,
    issuedAt: iso(issuedMs),
    startsAt: iso(issuedMs),
    slotMinutes: 30,
    inputsHash: '0'.repeat(64),
    carbonGPerKwh: { modelId: 'c', modelVersion: '1', points },
    priceGbpPerMwh: { modelId: 'p', modelVersion: '2', points },
  });
}
const observed = (ms: number, carbon: number | null, index: number | null, imbalance: number | null) =>
  registered('grid.signal.observed', { periodStart: iso(ms), settlementDate: '2023-07-03', settlementPeriod: 1, carbonActualGPerKwh: carbon, carbonPublishedForecastGPerKwh: null, imbalancePriceGbpPerMwh: imbalance, marketIndexPriceGbpPerMwh: index, source: 'test' });

describe('forecast projection', () => {
  test('the day-ahead view keeps, for each half-hour, the forecast issued 24 h before it', () => {
    // Forecasts every hour for 30 h: the one issued at h covers h .. h+48.
    const events = Array.from({ length: 31 }, (_, h) => forecast(T0 + h * 3_600_000));
    const s = fold(forecastProjection, events);
    const target = T0 + 26 * 3_600_000; // issued 24 h before: the 2 h forecast, point 48
    const p = s.dayAhead.get(iso(target))!;
    assert.equal(p.forecastId, 'f-2');
    assert.equal(p.leadMin, 24 * 60);
    assert.equal(p.carbon.p50, 2000 + 48);
    // The latest forecast is the last one, whole.
    assert.equal(s.latest!.forecastId, 'f-30');
    assert.equal(latestForecastRows(s).length, 96);
    assert.equal(s.latest!.carbonModel, 'c@1');
  });

  test('order does not matter: the closest to 24 h wins whichever arrives first', () => {
    const a = fold(forecastProjection, [forecast(T0), forecast(T0 + 3_600_000), forecast(T0 + 2 * 3_600_000)]);
    const b = fold(forecastProjection, [forecast(T0 + 2 * 3_600_000), forecast(T0), forecast(T0 + 3_600_000)]);
    for (let k = 0; k < 100; k++) assert.deepEqual(a.dayAhead.get(iso(T0 + k * SLOT)), b.dayAhead.get(iso(T0 + k * SLOT)));
  });

  test('half-hours with only a young forecast are not called day-ahead', () => {
    const s = fold(forecastProjection, [forecast(T0)]);
    const rows = forecastVsActual(s, T0, T0 + 48 * SLOT);
    // Points 0..41 have leads under 21 h (outside 24 h ± 3 h); 42..47 are within.
    assert.equal(rows.filter((r) => r.carbonDayAhead !== null).length, 6);
    assert.equal(rows[42]!.dayAheadLeadMin, 21 * 60);
  });

  test('actuals: market index price, the imbalance price where the index is missing, null where neither', () => {
    const s = fold(forecastProjection, [observed(T0, 100, 50, 70), observed(T0 + SLOT, 110, null, 70), observed(T0 + 2 * SLOT, null, null, null)]);
    const rows = forecastVsActual(s, T0, T0 + 4 * SLOT);
    assert.deepEqual(rows.map((r) => [r.carbonActual, r.priceActual]), [[100, 50], [110, 70], [null, null], [null, null]]);
  });

  test('skill: mean absolute error of the P50 and the share of actuals inside the band', () => {
    let s = fold(forecastProjection, [forecast(T0)]);
    // Points 44..47 have P50 44..47 and bands ±10: actual 44 is inside, 57 above 55, 40 inside, 100 above.
    const actual = [44, 57, 40, 100];
    actual.forEach((a, i) => (s = evolveForecast(s, observed(T0 + (44 + i) * SLOT, a, a, null))));
    const sk = dayAheadSkill(forecastVsActual(s, T0 + 44 * SLOT, T0 + 48 * SLOT));
    assert.equal(sk.carbon.n, 4);
    assert.equal(sk.carbon.maeP50, (0 + 12 + 6 + 53) / 4);
    assert.equal(sk.carbon.coverageP10P90, 0.5);
  });

  test('degraded ticks are counted with the last reason; other events change nothing', () => {
    const d = registered('grid.signal.degraded', { reason: 'ForecasterFailed: x', source: 'forecaster', lastGoodForecastId: null, lastGoodIssuedAt: null });
    const s = fold(forecastProjection, [d, d]);
    assert.equal(s.degraded, 2);
    assert.equal(s.lastDegraded!.reason, 'ForecasterFailed: x');
    assert.equal(evolveForecast(initialForecast, { type: 'compute.job.started', data: {} }), initialForecast);
  });
});
