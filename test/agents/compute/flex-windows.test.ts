import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { firmSlotKw, flexWindows, shortfallRisk, tightArrivalsByDay, tightArrivalsKw } from '../../../agents/compute/flex-windows.ts';
import type { FlexibilitySlot, SlotPlan } from '../../../agents/compute/planner/index.ts';

const SLOT = 1_800_000;
const T0 = Date.parse('2023-07-03T00:00:00Z');

function slot(i: number, p: Partial<SlotPlan> = {}): SlotPlan {
  return { startMs: T0 + i * SLOT, itKw: 0, siteKw: 2000, chargeKw: 0, dischargeKw: 0, socKwh: 2500, importCapKw: 14000, priceGbpPerMwh: 80, intensityGPerKwh: 150, costGbp: 0, carbonKg: 0, ...p };
}

describe('flexibility offered is what can be delivered whatever arrives later (issue 13)', { timeout: 60_000 }, () => {
  test('the battery counts only as far as its energy lasts the window; arrivals expected above the baseline are taken off', () => {
    const f = { fromJobsKw: 300, fromBatteryKw: 2500 };
    assert.equal(firmSlotKw(f, 800, 0, 5000), 1100);
    assert.equal(firmSlotKw(f, 800, 500, 5000), 600);
    assert.equal(firmSlotKw(f, 800, 5000, 5000), 0);
    assert.equal(firmSlotKw(f, 5000, 0, 1000), 1000, 'never above the baseline');
    assert.equal(shortfallRisk(1000, 250), 0.25);
    assert.equal(shortfallRisk(0, 0), 1);
  });

  test('tight arrivals: jobs released after "now" on past days that could not avoid the slot; the worst day counts', () => {
    const H = 3_600_000;
    const now = T0 + 7 * 86_400_000 + 12 * H; // day 7, 12:00; the slot is 18:00–18:30
    const a = now + 6 * H;
    const yesterday = (h: number) => T0 + 6 * 86_400_000 + h * H;
    const job = (releaseH: number, runtimeMin: number, slackH: number, powerKw: number, cls = 'training') => ({ earliestStartMs: yesterday(releaseH), deadlineMs: yesterday(releaseH) + runtimeMin * 60_000 + slackH * H, runtimeMin, powerKw, class: cls });
    const past = [
      job(17.5, 120, 0.5, 1000), // released 17:30, must run across 18:00: counts
      job(17.5, 60, 0, 700, 'serving'), // serving load is submitted as it starts: it counts
      job(11, 60, 0, 800), // released before "now": the plan knew it
      job(17.9, 60, 10, 900), // plenty of slack: the plan can move it out
      job(16, 30, 0, 600), // done by 16:30
    ];
    assert.equal(tightArrivalsKw(past, now, a, a + 1_800_000), 1700);
    assert.deepEqual(tightArrivalsByDay(past, now, a, a + 1_800_000, 2), [1700, 0]);
    assert.equal(tightArrivalsKw([], now, a, a + 1_800_000), 0);
  });

  test('shortfall risk is priced into the window: more risk, dearer', () => {
    const flex: FlexibilitySlot[] = Array.from({ length: 6 }, (_, i) => ({ startMs: T0 + i * SLOT, sheddableKw: 1500, marginalCostGbpPerMwh: 10, fromJobsKw: 1000, fromBatteryKw: 500, heldKw: 0 }));
    const slots = Array.from({ length: 6 }, (_, i) => slot(i));
    const calm = flexWindows(flex, slots, undefined, [], []);
    const risky = flexWindows(flex, slots, undefined, [], new Array<number>(6).fill(2300));
    assert.equal(calm[0]!.kw, 1500);
    assert.equal(calm[0]!.marginalCostGbpPerMwh, 10);
    assert.equal(risky[0]!.kw, 1200);
    assert.ok(risky[0]!.marginalCostGbpPerMwh > calm[0]!.marginalCostGbpPerMwh);
  });

  test('a battery kWh is promised to one window only: windows sold together before a re-plan stay deliverable', () => {
    // Battery flexibility only, 1000 kWh usable (η = 1) and nothing planned: the first hour can
    // have 1000 kW, and then nothing is left for the next.
    const flex: FlexibilitySlot[] = Array.from({ length: 8 }, (_, i) => ({ startMs: T0 + i * SLOT, sheddableKw: 2500, marginalCostGbpPerMwh: 10, fromJobsKw: 0, fromBatteryKw: 2500, heldKw: 0 }));
    const slots = Array.from({ length: 8 }, (_, i) => slot(i, { socKwh: 1500 }));
    const ws = flexWindows(flex, slots, undefined, [], [], { minSocKwh: 500, eta: 1, socStartKwh: 1500 });
    assert.deepEqual(ws.map((w) => w.kw), [1000]);
    // With movable work as well, the later windows offer the work alone.
    const mixed = flex.map((f) => ({ ...f, fromJobsKw: 300 }));
    assert.deepEqual(flexWindows(mixed, slots, undefined, [], [], { minSocKwh: 500, eta: 1, socStartKwh: 1500 }).map((w) => w.kw), [1300, 300, 300]);
  });

  test('a battery kWh held for a window sold earlier is not offered again, before that window or after it', () => {
    // 1000 kWh usable (η = 1); the plan holds 600 kW for the hour of slots 4–5 (600 kWh).
    const held = (i: number) => (i === 4 || i === 5 ? 600 : 0);
    const flex: FlexibilitySlot[] = Array.from({ length: 10 }, (_, i) => ({ startMs: T0 + i * SLOT, sheddableKw: 2500, marginalCostGbpPerMwh: 10, fromJobsKw: 0, fromBatteryKw: 2500, heldKw: held(i) }));
    const slots = Array.from({ length: 10 }, (_, i) => slot(i, { socKwh: 1500 }));
    const ws = flexWindows(flex, slots, undefined, [], [], { minSocKwh: 500, eta: 1, socStartKwh: 1500 });
    assert.deepEqual(ws.map((w) => w.kw), [400], 'the first window gets what the hold leaves, then nothing is left');
    // Held for a window at the end of the horizon: the energy is spoken for all the same.
    const late = flex.map((f, i) => ({ ...f, heldKw: i >= 8 ? 1000 : 0 }));
    assert.deepEqual(flexWindows(late, slots, undefined, [], [], { minSocKwh: 500, eta: 1, socStartKwh: 1500 }), []);
  });

  test('property: battery-only windows never promise more energy in all than the battery holds beyond what it holds for sales', () => {
    const slotArb = fc.record({ fromBatteryKw: fc.integer({ min: 0, max: 2500 }), heldKw: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1500 })) });
    fc.assert(
      fc.property(fc.array(slotArb, { minLength: 4, maxLength: 30 }), fc.integer({ min: 500, max: 5000 }), (xs, soc) => {
        const flex: FlexibilitySlot[] = xs.map((x, i) => ({ startMs: T0 + i * SLOT, sheddableKw: x.fromBatteryKw, marginalCostGbpPerMwh: 5, fromJobsKw: 0, fromBatteryKw: x.fromBatteryKw, heldKw: x.heldKw }));
        const slots = xs.map((_, i) => slot(i, { socKwh: soc }));
        const eta = Math.sqrt(0.9);
        const ws = flexWindows(flex, slots, undefined, [], [], { minSocKwh: 500, eta, socStartKwh: soc });
        const promisedKwh = ws.reduce((a, w) => a + (w.kw * (w.windowEndMs - w.windowStartMs)) / 3_600_000, 0);
        const heldKwh = xs.reduce((a, x) => a + x.heldKw / 2, 0);
        assert.ok(promisedKwh <= Math.max(0, (soc - 500) * eta - heldKwh) + 1e-6, `${promisedKwh} kWh promised, ${(soc - 500) * eta} usable, ${heldKwh} held`);
      }),
      { numRuns: 300 },
    );
  });

  test('property: over random queues and arrivals, no window offers more than the battery energy, movable queued work and the baseline allow', () => {
    const slotArb = fc.record({
      fromJobsKw: fc.integer({ min: 0, max: 4000 }),
      fromBatteryKw: fc.integer({ min: 0, max: 2500 }),
      siteKw: fc.integer({ min: 0, max: 12000 }),
      dischargeKw: fc.integer({ min: 0, max: 2500 }),
      socKwh: fc.integer({ min: 0, max: 5000 }),
      arrivalsKw: fc.integer({ min: 0, max: 8000 }),
      histKw: fc.integer({ min: 0, max: 8000 }),
    });
    fc.assert(
      fc.property(fc.array(slotArb, { minLength: 4, maxLength: 30 }), fc.integer({ min: 0, max: 5000 }), (xs, soc0) => {
        const flex: FlexibilitySlot[] = xs.map((x, i) => ({ startMs: T0 + i * SLOT, sheddableKw: Math.min(x.siteKw, x.fromJobsKw + x.fromBatteryKw), marginalCostGbpPerMwh: 5, fromJobsKw: x.fromJobsKw, fromBatteryKw: x.fromBatteryKw, heldKw: 0 }));
        const slots = xs.map((x, i) => slot(i, { siteKw: x.siteKw, dischargeKw: x.dischargeKw, socKwh: x.socKwh }));
        // Arrivals: the week's typical import at this time, which jobs still to come push the site to.
        const high = xs.map((x) => x.siteKw + x.arrivalsKw);
        const hist = xs.map((x) => x.histKw);
        const bat = { minSocKwh: 500, eta: Math.sqrt(0.9), socStartKwh: soc0 };
        const ws = flexWindows(flex, slots, undefined, hist, high, bat);
        for (const w of ws) {
          const s = Math.round((w.windowStartMs - T0) / SLOT);
          const socBefore = s === 0 ? soc0 : xs[s - 1]!.socKwh;
          const energyKw = Math.max(0, (socBefore - 500) * bat.eta);
          for (let k = 0; k < 2; k++) {
            const x = xs[s + k]!;
            const base = Math.max(x.siteKw, x.histKw);
            const risk = Math.max(0, high[s + k]! - base);
            const deliverable = Math.min(x.fromBatteryKw, Math.max(0, energyKw - x.dischargeKw)) + x.fromJobsKw - risk;
            assert.ok(w.kw <= deliverable + 1e-9, `window at slot ${s}: ${w.kw} kW offered, ${deliverable} deliverable`);
            assert.ok(w.kw <= w.baselineKw + 1);
          }
          assert.ok(w.kw >= 100);
        }
      }),
      { numRuns: 300 },
    );
  });
});
