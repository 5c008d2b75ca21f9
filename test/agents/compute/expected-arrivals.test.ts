import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arrivalRoomKw, slotArrivals, type ArrivalHistory } from '../../../agents/compute/expected-arrivals.ts';
import { offerWindows } from '../../../agents/compute/offer-windows.ts';
import { initialComputeState } from '../../../agents/compute/state.ts';
import { siteConfig } from '../../../agents/compute/jobs/index.ts';
import { DEFAULT_FLEX_WINDOWS } from '../../../agents/compute/flex-windows.ts';

const H = 3_600_000;
const DAY = 24 * H;
const SLOT = H / 2;
const T0 = Date.parse('2023-07-03T00:00:00Z');

/** A serving job released at `h` o'clock on day `d` (after T0), running one hour: it cannot avoid its slots. */
const serving = (d: number, h: number, kw: number) => ({ earliestStartMs: T0 + d * DAY + h * H, deadlineMs: T0 + d * DAY + (h + 1) * H, runtimeMin: 60, powerKw: kw, class: 'serving' });

describe('arrivals expected on top of a plan (issue 13: flexibility that is delivered)', { timeout: 30_000 }, () => {
  // Day 3, 12:00; the slot is 18:00–18:30. Days 1 and 2 had 1000 and 3000 kW arrive at 18:00.
  const now = T0 + 3 * DAY + 12 * H;
  const a = T0 + 3 * DAY + 18 * H;
  const jobs = [serving(1, 18, 1000), serving(2, 18, 3000)];

  test('a site that has not yet seen a day cannot estimate them: undefined, not 0', () => {
    assert.equal(slotArrivals({ jobs: [], observedSinceMs: Infinity }, now, a, a + SLOT), undefined);
    // Metered only since this morning: yesterday at this time is not seen.
    assert.equal(slotArrivals({ jobs, observedSinceMs: T0 + 3 * DAY }, now, a, a + SLOT), undefined);
  });

  test('only the days seen count: a day before the site started is unknown, not a day without arrivals', () => {
    // Seen since day 2: one day, 3000 kW.
    assert.deepEqual(slotArrivals({ jobs, observedSinceMs: T0 + 2 * DAY }, now, a, a + SLOT), { median: 3000, max: 3000 });
    // Seen since day 0: days 0 (nothing arrived), 1 and 2; the median is the middle day's.
    assert.deepEqual(slotArrivals({ jobs, observedSinceMs: T0 }, now, a, a + SLOT), { median: 1000, max: 3000 });
  });

  test('room is kept only in slots a sold window covers, PUE × the worst day', () => {
    const history: ArrivalHistory = { jobs, observedSinceMs: T0 };
    const t0 = T0 + 3 * DAY + 17 * H;
    const room = arrivalRoomKw(history, t0, 6, SLOT, 1.2, [{ startMs: a, endMs: a + 2 * SLOT }]);
    assert.deepEqual(room, [0, 0, 3600, 3600, 0, 0]);
    assert.deepEqual(arrivalRoomKw(history, t0, 6, SLOT, 1.2, []), [0, 0, 0, 0, 0, 0]);
    // Once the slot's arrivals of the day have been submitted, no room is kept for them.
    assert.deepEqual(arrivalRoomKw(history, a, 2, SLOT, 1.2, [{ startMs: a, endMs: a + 2 * SLOT }]), [0, 0]);
  });
});

describe('offers need a day of arrivals seen (issue 13)', { timeout: 30_000 }, () => {
  test('a site in its first day offers nothing; once it has metered the day before, the same plan is offered', () => {
    type Result = Parameters<typeof offerWindows>[4];
    const t = T0 + 12 * H;
    const n = 12;
    const slots = Array.from({ length: n }, (_, i) => ({ startMs: t + i * SLOT, itKw: 2000, siteKw: 2300, chargeKw: 0, dischargeKw: 0, socKwh: 2500, importCapKw: 14000, priceGbpPerMwh: 80, intensityGPerKwh: 150, costGbp: 0, carbonKg: 0 }));
    const flexibility = slots.map((x) => ({ startMs: x.startMs, sheddableKw: 1500, marginalCostGbpPerMwh: 20, fromJobsKw: 1500, fromBatteryKw: 0, heldKw: 0 }));
    // Only what offerWindows reads of a plan.
    const result = { slots, flexibility } as unknown as Result;
    const s = initialComputeState(2500);
    const site = siteConfig();
    assert.deepEqual(offerWindows(site, DEFAULT_FLEX_WINDOWS, s, t, result, 2500), []);
    s.importKwBySlot.set(t - DAY, 2300);
    const offered = offerWindows(site, DEFAULT_FLEX_WINDOWS, s, t, result, 2500);
    assert.ok(offered.length > 0 && offered.every((w) => w.kw >= 1000), JSON.stringify(offered));
  });
});
