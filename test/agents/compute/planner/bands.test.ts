import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { expectedFromBand, expectedFromBands } from '../../../../agents/compute/planner/index.ts';

const band = fc.tuple(fc.double({ min: -500, max: 500, noNaN: true }), fc.double({ min: 0, max: 300, noNaN: true }), fc.double({ min: 0, max: 300, noNaN: true })).map(([p50, down, up]) => ({ p10: p50 - down, p50, p90: p50 + up }));

describe('expected value from forecast bands', () => {
  test('lies within the band, equals the P50 when the band is symmetric, and leans to the longer tail', () => {
    fc.assert(
      fc.property(band, (b) => {
        const e = expectedFromBand(b);
        assert.ok(e >= b.p10 - 1e-9 && e <= b.p90 + 1e-9);
        const up = b.p90 - b.p50;
        const down = b.p50 - b.p10;
        if (Math.abs(up - down) < 1e-9) assert.ok(Math.abs(e - b.p50) < 1e-6);
        else if (up > down) assert.ok(e > b.p50);
        else assert.ok(e < b.p50);
      }),
    );
  });

  test('a spike-prone price band (long upper tail) plans on more than the median', () => {
    assert.deepEqual(expectedFromBands([{ p10: 60, p50: 80, p90: 160 }, { p10: 10, p50: 10, p90: 10 }]), [0.3 * 60 + 0.4 * 80 + 0.3 * 160, 10]);
  });
});
