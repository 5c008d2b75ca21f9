import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DELIVERY_PRIORITY_GBP_PER_MWH, flexCapsFor } from '../../../agents/compute/flex-caps.ts';

const SLOT = 1_800_000;
const T0 = Date.parse('2026-01-15T00:00:00Z');

describe('import caps of the flexibility sold', { timeout: 30_000 }, () => {
  test('issue 15: three orders on 18:00–19:00 cut import by their sum, not by the largest', () => {
    const start = T0 + 36 * SLOT;
    const w = (orderId: string, kw: number) => ({ orderId, startMs: start, endMs: start + 2 * SLOT, kw, baselineKw: 3309, shortfallGbpPerMwh: 100 + kw / 10 });
    const r = flexCapsFor({ t0Ms: T0, slots: 48, slotMs: SLOT, siteImportCapKw: 5000, windows: [w('a', 478), w('b', 450), w('c', 428)] });
    assert.equal(r.caps[36], 3309 - 1356);
    assert.equal(r.caps[37], 3309 - 1356);
    assert.equal(r.caps[35], 5000);
    assert.equal(r.caps[38], 5000);
    // Issue 13: a planned shortfall is charged at least the delivery priority (price + penalty is 147.8 here).
    assert.equal(r.breach[36], DELIVERY_PRIORITY_GBP_PER_MWH);
    assert.equal(flexCapsFor({ t0Ms: T0, slots: 48, slotMs: SLOT, siteImportCapKw: 5000, windows: [w('a', 478), w('b', 450), w('c', 428)], minBreachGbpPerMwh: 0 }).breach[36], 147.8);
    assert.deepEqual(r.orders.map((o) => [o.id, [...o.slots]]), [['a', [36, 37]], ['b', [36, 37]], ['c', [36, 37]]]);
  });

  test('property: the cap in each slot is the baseline minus the sum of all orders in it (within the site cap, not below 0)', () => {
    const order = fc.record({
      startSlot: fc.integer({ min: 0, max: 20 }),
      lengthSlots: fc.integer({ min: 1, max: 6 }),
      kw: fc.integer({ min: 1, max: 2000 }),
      shortfall: fc.integer({ min: 0, max: 500 }),
    });
    fc.assert(
      fc.property(fc.array(order, { maxLength: 8 }), fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 100, max: 8000 }), (os, baselineKw, siteCap) => {
        const windows = os.map((o, i) => ({ orderId: `o${i}`, startMs: T0 + o.startSlot * SLOT, endMs: T0 + (o.startSlot + o.lengthSlots) * SLOT, kw: o.kw, baselineKw, shortfallGbpPerMwh: o.shortfall }));
        const r = flexCapsFor({ t0Ms: T0, slots: 30, slotMs: SLOT, siteImportCapKw: siteCap, windows });
        for (let i = 0; i < 30; i++) {
          const inSlot = os.filter((o) => o.startSlot <= i && i < o.startSlot + o.lengthSlots);
          const sum = inSlot.reduce((a, o) => a + o.kw, 0);
          const expected = inSlot.length === 0 ? siteCap : Math.min(siteCap, Math.max(0, baselineKw - sum));
          assert.equal(r.caps[i], expected, `slot ${i}`);
          // The battery holds what was sold in the slot (PlanInput.flexHoldKw).
          assert.equal(r.soldKw[i], sum, `slot ${i}: kW sold`);
          const worst = inSlot.reduce((a, o) => Math.max(a, o.shortfall), 0);
          assert.equal(r.breach[i], worst > 0 ? Math.max(worst, DELIVERY_PRIORITY_GBP_PER_MWH) : 0);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('issue 13: under a sold cap the plan keeps room for the arrivals the baseline counted, and only there', () => {
    const w = { orderId: 'a', startMs: T0 + 2 * SLOT, endMs: T0 + 4 * SLOT, kw: 400, baselineKw: 3000, shortfallGbpPerMwh: 90 };
    const r = flexCapsFor({ t0Ms: T0, slots: 6, slotMs: SLOT, siteImportCapKw: 9000, windows: [w], arrivalRoomKw: [500, 500, 1200, 900, 500, 500] });
    assert.deepEqual(r.caps, [9000, 9000, 3000 - 400 - 1200, 3000 - 400 - 900, 9000, 9000]);
    // Never below zero.
    assert.equal(flexCapsFor({ t0Ms: T0, slots: 6, slotMs: SLOT, siteImportCapKw: 9000, windows: [w], arrivalRoomKw: [0, 0, 5000, 0, 0, 0] }).caps[2], 0);
  });

  test('orders from offers with different baselines: the lowest baseline minus the sum satisfies each', () => {
    const r = flexCapsFor({
      t0Ms: T0,
      slots: 1,
      slotMs: SLOT,
      siteImportCapKw: 9000,
      windows: [
        { orderId: 'a', startMs: T0, endMs: T0 + SLOT, kw: 300, baselineKw: 3000, shortfallGbpPerMwh: 1 },
        { orderId: 'b', startMs: T0, endMs: T0 + SLOT, kw: 200, baselineKw: 2800, shortfallGbpPerMwh: 1 },
      ],
    });
    assert.equal(r.caps[0], 2300);
  });
});
