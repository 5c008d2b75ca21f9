import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hourlyToHalfHourSeries, toHalfHourSeries, type CarbonRow } from '../../data/index.ts';

const HH = 30 * 60 * 1000;
const T0 = Date.parse('2023-01-01T00:00Z');

describe('toHalfHourSeries', () => {
  test('places each row at its half-hour, NaN where a row or value is missing', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 1, max: 500 }), { nil: null }), { maxLength: 200 }), fc.integer({ min: 0, max: 20 }), (values, skipRaw) => {
        const skip = Math.min(skipRaw, values.length + 5);
        const rows: CarbonRow[] = values.map((v, i) => ({ fromMs: T0 + i * HH, forecastGPerKwh: null, actualGPerKwh: v }));
        const from = T0 + skip * HH;
        const to = T0 + (values.length + 5) * HH;
        const s = toHalfHourSeries(rows, 'actualGPerKwh', from, to);
        assert.equal(s.length, values.length + 5 - skip);
        for (let i = 0; i < s.length; i++) {
          const v = values[i + skip];
          if (v === null || v === undefined) assert.ok(Number.isNaN(s[i]));
          else assert.equal(s[i], v);
        }
      }),
    );
  });

  test('rejects windows off the half-hour grid', () => {
    assert.throws(() => toHalfHourSeries([], 'actualGPerKwh' as never, T0 + 1, T0 + HH), RangeError);
  });

  test('hourly rows fill both half-hours of their hour', () => {
    const s = hourlyToHalfHourSeries([{ fromMs: T0, actualGPerKwh: 100 }, { fromMs: T0 + 2 * HH, actualGPerKwh: 120 }], T0 + HH, T0 + 5 * HH);
    assert.deepEqual(Array.from(s).map((v) => (Number.isNaN(v) ? null : v)), [100, 120, 120, null]);
  });
});
