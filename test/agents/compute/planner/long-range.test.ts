import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { extendBands, horizonLength, quantileWeightedCost, seasonalProfile } from '../../../../agents/compute/planner/index.ts';
import { DEFAULT_SITE, type Job } from '../../../../agents/compute/jobs/index.ts';

const SLOT = 1_800_000;
const T0 = Date.parse('2023-03-01T00:00:00Z');

describe('long-range estimate and quantile-weighted cost (issue 13)', { timeout: 30_000 }, () => {
  test('property: the profile uses only values before the decision time', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 500, noNaN: true }), { minLength: 48 * 3, maxLength: 48 * 10 }), fc.integer({ min: 48, max: 48 * 3 - 1 }), fc.double({ min: -1000, max: 1000, noNaN: true }), (values, nowIdx, junk) => {
        const nowMs = T0 + nowIdx * SLOT;
        const a = seasonalProfile({ fromMs: T0, values }, nowMs, { days: 28 });
        // Anything at or after now may be rewritten: the profile must not move.
        const future = values.map((v, i) => (i >= nowIdx ? v + junk : v));
        const b = seasonalProfile({ fromMs: T0, values: future }, nowMs, { days: 28 });
        assert.deepEqual(a, b);
        const ea = extendBands([{ p10: 1, p50: 2, p90: 3 }], { fromMs: T0, values }, nowMs, 200);
        const eb = extendBands([{ p10: 1, p50: 2, p90: 3 }], { fromMs: T0, values: future }, nowMs, 200);
        assert.deepEqual(ea, eb);
      }),
      { numRuns: 100 },
    );
  });

  test('the profile is by time of day; beyond the forecast the bands are never narrower than its last band', () => {
    // Two days: 100 at every half-hour but 18:00, which is 300.
    const values = Array.from({ length: 96 }, (_, i) => (i % 48 === 36 ? 300 : 100));
    const prof = seasonalProfile({ fromMs: T0, values }, T0 + 96 * SLOT);
    assert.equal(prof[36]!.p50, 300);
    assert.equal(prof[10]!.p50, 100);
    const fc96 = Array.from({ length: 96 }, () => ({ p10: 90, p50: 100, p90: 130 }));
    const ext = extendBands(fc96, { fromMs: T0, values }, T0 + 96 * SLOT, 336);
    assert.equal(ext.length, 336);
    assert.deepEqual(ext[95], { p10: 90, p50: 100, p90: 130 });
    // Slot 96 + 36 is 18:00 two days on: the profile's 300, at least ±20 wide.
    assert.equal(ext[96 + 36]!.p50, 300);
    assert.ok(ext[96 + 36]!.p90 - ext[96 + 36]!.p10 >= 40 - 1e-9);
  });

  test('no history before now is an error naming the time', () => {
    assert.throws(() => seasonalProfile({ fromMs: T0, values: [1, 2, 3] }, T0), /no history before 2023-03-01T00:00:00.000Z/);
  });

  test('quantile-weighted cost: neutral weights are the Pearson–Tukey mean; risk-averse weights raise a wide band more', () => {
    const bands = [{ p10: 50, p50: 60, p90: 200 }, { p10: 90, p50: 100, p90: 110 }];
    assert.deepEqual(quantileWeightedCost(bands), [0.3 * 50 + 0.4 * 60 + 0.3 * 200, 100]);
    const averse = quantileWeightedCost(bands, { p10: 0.1, p50: 0.4, p90: 0.5 });
    assert.ok(averse[0]! - 99 > averse[1]! - 100, 'the wide band is charged more');
    assert.throws(() => quantileWeightedCost(bands, { p10: 0.5, p50: 0.5, p90: 0.5 }), /sum to 1/);
    assert.throws(() => quantileWeightedCost([{ p10: 3, p50: 2, p90: 1 }]), /bands\[0\]/);
  });

  test('the horizon covers the latest deadline when the signals reach it, and stays at 96 when they do not', () => {
    const job: Job = { id: 'j', class: 'training', powerKw: 100, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + 200 * SLOT, slaClass: 'bronze', preemptible: false };
    const sig = (n: number) => ({ startMs: T0, priceGbpPerMwh: new Array<number>(n).fill(50), intensityGPerKwh: new Array<number>(n).fill(100) });
    const input = (n: number) => ({ nowMs: T0, site: DEFAULT_SITE, jobs: [job], signals: sig(n), batterySocKwh: 0 });
    assert.equal(horizonLength(input(96), 96, 336), 96);
    assert.equal(horizonLength(input(400), 96, 336), 200);
    assert.equal(horizonLength({ ...input(400), jobs: [{ ...job, deadlineMs: T0 + 500 * SLOT }] }, 96, 336), 336);
    assert.equal(horizonLength({ ...input(400), jobs: [{ ...job, deadlineMs: T0 + 10 * SLOT }] }, 96, 336), 96);
  });
});
