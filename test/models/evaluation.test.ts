import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorAccumulator, leadIndex, runtimeScores, sameTimeLastWeek, sameTimeYesterday } from '../../models/evaluation.ts';

describe('baselines', () => {
  test('same time yesterday uses only values observed before the origin, at the same time of day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 96, max: 500 }), fc.integer({ min: 0, max: 95 }), (origin, h) => {
        const series = Float64Array.from({ length: 700 }, (_, i) => i);
        const v = sameTimeYesterday(series, origin, h);
        assert.ok(v < origin, 'must be known at the origin');
        assert.equal((origin + h - v) % 48, 0, 'same time of day');
        assert.ok(origin + h - v <= 96);
      }),
    );
  });

  test('same time last week is 336 half-hours back; outside the series is NaN', () => {
    const series = Float64Array.from({ length: 400 }, (_, i) => i);
    assert.equal(sameTimeLastWeek(series, 340, 10), 14);
    assert.ok(Number.isNaN(sameTimeLastWeek(series, 10, 0)));
  });

  test('lead k hours is horizon index 2k − 1', () => {
    assert.deepEqual([1, 6, 24, 48].map(leadIndex), [1, 11, 47, 95]);
  });
});

describe('scores', () => {
  test('MAE, RMSE and bias', () => {
    const a = new ErrorAccumulator();
    [[3, 1], [1, 2], [5, 5]].forEach(([p, y]) => a.add(p!, y!));
    const s = a.summary();
    assert.equal(s.mae, 1);
    assert.ok(Math.abs(s.rmse - Math.sqrt(5 / 3)) < 1e-12);
    assert.ok(Math.abs(s.bias - 1 / 3) < 1e-12);
  });

  test('under-prediction counts jobs whose prediction is below 90 % of the actual', () => {
    const r = runtimeScores([9, 8.99, 20, 10], [10, 10, 10, 10]);
    assert.equal(r.underPredictedOver10Pct, 0.25);
    assert.ok(Math.abs(r.maeSeconds - (1 + 1.01 + 10 + 0) / 4) < 1e-12);
  });
});
