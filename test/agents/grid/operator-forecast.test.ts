// test-file-timeout: 120
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import {
  forecastProblem,
  LATE_REVISION_FORECAST_SUFFIX,
  OPERATOR_FORECAST_SUFFIX,
  operatorP50s,
  shiftedBand,
  withOperatorForecast,
  type ForecastPoint,
  type SeriesForecast,
} from '../../../agents/grid/index.ts';

const T = Date.parse('2026-01-15T17:00:00Z');
const slot = (i: number) => T + i * HALF_HOUR_MS;

/** A model forecast whose every band encodes its slot: p50 = 200 + i, 30 below, 50 above. */
function model(n = 96): SeriesForecast {
  return { modelId: 'caco-carbon-lstm', modelVersion: 'v3', points: Array.from({ length: n }, (_, i) => ({ p10: 170 + i, p50: 200 + i, p90: 250 + i })) };
}

describe('withOperatorForecast (pure)', () => {
  test('covered half-hours take the operator P50 with the model band width; the rest keep the model', () => {
    const operator: ForecastPoint[] = Array.from({ length: 40 }, (_, i) => ({ fromMs: slot(i), carbonForecastGPerKwh: 100 + 2 * i }));
    const m = model();
    const out = withOperatorForecast(m, operator, T, 'live');
    assert.equal(out.modelId, `caco-carbon-lstm${OPERATOR_FORECAST_SUFFIX}`);
    assert.equal(out.modelVersion, 'v3');
    assert.equal(out.points.length, 96);
    for (let i = 0; i < 40; i++) assert.deepEqual(out.points[i], { p10: 70 + 2 * i, p50: 100 + 2 * i, p90: 150 + 2 * i }, `slot ${i}`);
    for (let i = 40; i < 96; i++) assert.deepEqual(out.points[i], m.points[i], `slot ${i}`);
    assert.equal(forecastProblem(out), null);
    // The model's forecast is not changed in place.
    assert.deepEqual(m, model());
  });

  test('gaps in the operator forecast keep the model there; off-grid, out-of-horizon and placeholder values are not used', () => {
    const operator: ForecastPoint[] = [
      { fromMs: slot(3), carbonForecastGPerKwh: 90 },
      { fromMs: slot(5) + 60_000, carbonForecastGPerKwh: 91 }, // not on the half-hour grid
      { fromMs: slot(-1), carbonForecastGPerKwh: 92 }, // before the forecast starts
      { fromMs: slot(96), carbonForecastGPerKwh: 93 }, // past its 48 h
      { fromMs: slot(7), carbonForecastGPerKwh: 0 }, // the API's placeholder, not a forecast
      { fromMs: slot(8), carbonForecastGPerKwh: Number.NaN },
      { fromMs: slot(9), carbonForecastGPerKwh: -5 },
    ];
    const m = model();
    const out = withOperatorForecast(m, operator, T);
    assert.deepEqual(operatorP50s(operator, T, 96), new Map([[3, 90]]));
    assert.deepEqual(out.points[3], { p10: 60, p50: 90, p90: 140 });
    for (let i = 0; i < 96; i++) if (i !== 3) assert.deepEqual(out.points[i], m.points[i], `slot ${i}`);
  });

  test('P10 never goes below zero: a low operator forecast squeezes the lower band, not the upper', () => {
    assert.deepEqual(shiftedBand({ p10: 150, p50: 200, p90: 260 }, 20), { p10: 0, p50: 20, p90: 80 });
    const out = withOperatorForecast(model(), [{ fromMs: slot(0), carbonForecastGPerKwh: 10 }], T);
    assert.deepEqual(out.points[0], { p10: 0, p50: 10, p90: 60 });
  });

  test('an empty or failed operator forecast changes nothing, modelId included', () => {
    const m = model();
    assert.equal(withOperatorForecast(m, [], T, 'live'), m);
    // Nothing usable is the same as nothing.
    assert.equal(withOperatorForecast(m, [{ fromMs: slot(200), carbonForecastGPerKwh: 100 }, { fromMs: slot(1), carbonForecastGPerKwh: 0 }], T, 'live'), m);
  });

  test('the modelId names a recorded late revision as such', () => {
    const out = withOperatorForecast(model(), [{ fromMs: slot(0), carbonForecastGPerKwh: 100 }], T, 'late-revision');
    assert.equal(out.modelId, `caco-carbon-lstm${LATE_REVISION_FORECAST_SUFFIX}`);
  });

  test('property: bands stay ordered and non-negative below, and P50 is exactly the operator value where it covers', () => {
    const band = fc.tuple(fc.double({ min: -500, max: 2000, noNaN: true }), fc.double({ min: -500, max: 2000, noNaN: true }), fc.double({ min: -500, max: 2000, noNaN: true }));
    const opValue = fc.oneof(fc.double({ min: -100, max: 2000, noNaN: false }), fc.constantFrom(0, Number.NaN, Number.POSITIVE_INFINITY, Number.MIN_VALUE));
    fc.assert(
      fc.property(
        // Any model bands, even crossed ones: the blend must not cross what it touches.
        fc.array(band, { minLength: 1, maxLength: 96 }),
        fc.array(fc.tuple(fc.integer({ min: -4, max: 100 }), opValue), { maxLength: 120 }),
        (bands, ops) => {
          const m: SeriesForecast = { modelId: 'm', modelVersion: '1', points: bands.map(([a, b, c]) => ({ p10: a, p50: b, p90: c })) };
          const operator = ops.map(([i, y]) => ({ fromMs: slot(i), carbonForecastGPerKwh: y }));
          const out = withOperatorForecast(m, operator, T);
          const p50s = operatorP50s(operator, T, bands.length);
          assert.equal(out.points.length, bands.length);
          out.points.forEach((b, i) => {
            const y = p50s.get(i);
            if (y === undefined) return assert.deepEqual(b, m.points[i]);
            assert.ok(b.p10 >= 0 && b.p10 <= b.p50 && b.p50 <= b.p90, `slot ${i}: ${JSON.stringify(b)}`);
            assert.equal(b.p50, y);
            assert.ok(Number.isFinite(b.p10) && Number.isFinite(b.p90));
          });
          assert.equal(out.modelId, p50s.size > 0 ? `m${OPERATOR_FORECAST_SUFFIX}` : 'm');
        },
      ),
      { numRuns: 500 },
    );
  });

  test('property: on an ordered model band the shifted band keeps its width exactly unless P10 hits zero', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (below, above, p50, y) => {
        const b = shiftedBand({ p10: p50 - below, p50, p90: p50 + above }, y);
        assert.equal(b.p90 - b.p50, above);
        assert.equal(b.p50 - b.p10, Math.min(below, y));
      }),
    );
  });
});
