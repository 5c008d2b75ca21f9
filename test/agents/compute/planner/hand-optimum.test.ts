import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { plan, validatePlan, type PlanInput } from '../../../../agents/compute/planner/index.ts';

const T0 = Date.UTC(2023, 6, 3, 0, 0);
const HH = 1_800_000;
// No battery to speak of and no carbon price: the optimum is read off the prices by hand.
const site = siteConfig({ carbonPriceGbpPerT: 0, battery: { energyKwh: 0, powerKw: 0, minSocFraction: 0, maxSocFraction: 0 } });
const prices = [100, 90, 80, 30, 20, 50, 70, 100];
const signals = { startMs: T0, priceGbpPerMwh: prices, intensityGPerKwh: prices.map(() => 200) };

describe('small instance with a hand-computed optimum', () => {
  test('a 1 h non-preemptible job starts in the cheapest pair of slots; a preemptible one takes the cheapest slots', async () => {
    const input: PlanInput = {
      nowMs: T0,
      site,
      signals,
      batterySocKwh: 0,
      jobs: [
        // Window covers slots 0..7: the cheapest adjacent pair is slots 3+4 (30 + 20).
        { id: 'np', class: 'training', powerKw: 1000, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + 8 * HH, slaClass: 'silver', preemptible: false },
        // 45 min at 400 kW = 300 kWh; cheapest slots 4 (20), then 3 (30): 200 kWh in slot 4 and 100 kWh in slot 3.
        { id: 'p', class: 'batch-inference', powerKw: 400, runtimeMin: 45, earliestStartMs: T0, deadlineMs: T0 + 8 * HH, slaClass: 'bronze', preemptible: true },
      ],
    };
    const p = await plan(input, { horizonSlots: 8, inWorker: false, mode: 'full' });
    assert.equal(p.status, 'optimal');
    const np = p.jobs.find((j) => j.jobId === 'np')!;
    assert.equal(np.startMs, T0 + 3 * HH);
    const pre = p.jobs.find((j) => j.jobId === 'p')!;
    const runs = Object.fromEntries(pre.runs.map((r) => [r.slot, Math.round(r.kw)]));
    assert.deepEqual(runs, { 3: 200, 4: 400 });
    // Hand-computed: (1000 kW × ½ h × (30 + 20) + 200 kW × ½ h × 30 + 400 kW × ½ h × 20) × PUE / 1000.
    const expected = ((1000 * 0.5 * 50 + 200 * 0.5 * 30 + 400 * 0.5 * 20) * 1.15) / 1000;
    assert.ok(Math.abs(p.totals.energyCostGbp - expected) < 1e-6, `${p.totals.energyCostGbp} vs ${expected}`);
    // Counterfactual: the non-preemptible job started at once costs (100 + 90) per MWh-half-hour.
    assert.ok(Math.abs(np.counterfactual.costGbp - (1000 * 0.5 * 190 * 1.15) / 1000) < 1e-6);
    assert.deepEqual(validatePlan(p, input.jobs, site, signals, { batterySocKwh: 0 }), []);
  });

  test('the battery charges in the cheap slot and discharges in the dear one when the spread beats its losses', async () => {
    const bsite = siteConfig({ carbonPriceGbpPerT: 0, battery: { energyKwh: 1000, powerKw: 1000, roundTripEfficiency: 0.81, minSocFraction: 0, maxSocFraction: 1, degradationGbpPerMwh: 0 } });
    const pr = [20, 200];
    const input: PlanInput = {
      nowMs: T0,
      site: bsite,
      signals: { startMs: T0, priceGbpPerMwh: pr, intensityGPerKwh: [0, 0] },
      batterySocKwh: 0,
      jobs: [{ id: 'srv', class: 'serving', powerKw: 1000, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + 2 * HH, slaClass: 'gold', preemptible: false }],
    };
    const p = await plan(input, { horizonSlots: 2, inWorker: false, mode: 'full', terminalSocFraction: 0 });
    // Charge 1000 kW for ½ h: SoC 0.9 × 500 = 450 kWh; discharge all: 450 × 0.9 / 0.5 h = 810 kW.
    assert.ok(Math.abs(p.slots[0]!.chargeKw - 1000) < 1e-3, `charge ${p.slots[0]!.chargeKw}`);
    assert.ok(Math.abs(p.slots[1]!.dischargeKw - 810) < 1e-3, `discharge ${p.slots[1]!.dischargeKw}`);
    const expected = ((1150 + 1000) * 0.5 * 20 + (1150 - 810) * 0.5 * 200) / 1000;
    assert.ok(Math.abs(p.totals.energyCostGbp - expected) < 1e-6);
  });
});
