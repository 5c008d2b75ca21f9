import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { makeHorizon, plan, validatePlan, type PlanInput, type PlanJob, type PlanResult } from '../../../../agents/compute/planner/index.ts';

// A battery held for a sold window (PlanInput.flexHoldKw): the plan keeps the power and energy
// to cover the kW sold until the window, and spends them there when a job arrives.

const T0 = Date.UTC(2023, 6, 3, 0, 0);
const HH = 1_800_000;
const N = 8;
const site = siteConfig({ carbonPriceGbpPerT: 0, pue: 1, battery: { energyKwh: 1000, powerKw: 500, minSocFraction: 0, maxSocFraction: 1, roundTripEfficiency: 0.9, degradationGbpPerMwh: 0 } });
const BREACH = 300;
// A flat day with a price spike in slot 2; the window sold is slots 4–5.
const price = (spike: number) => [50, 50, spike, 50, 50, 50, 50, 50];
const serving = (kw: number, fromSlot: number, toSlot: number): PlanJob => ({
  id: `serving-${kw}-${fromSlot}`,
  class: 'serving',
  powerKw: kw,
  runtimeMin: (toSlot - fromSlot) * 30,
  earliestStartMs: T0 + fromSlot * HH,
  deadlineMs: T0 + toSlot * HH,
  slaClass: 'gold',
  preemptible: false,
});

function input(spike: number, hold: number, jobs: PlanJob[], capKw = 1000): PlanInput {
  const capped = (v: number, other: number) => Array.from({ length: N }, (_, s) => (s === 4 || s === 5 ? v : other));
  return {
    nowMs: T0,
    site,
    signals: { startMs: T0, priceGbpPerMwh: price(spike), intensityGPerKwh: Array(N).fill(200) },
    batterySocKwh: 500,
    jobs,
    flexCapKw: capped(capKw, 14_000),
    flexBreachGbpPerMwh: capped(BREACH, 0),
    ...(hold > 0 ? { flexHoldKw: capped(hold, 0) } : {}),
  };
}
const opts = { horizonSlots: N, inWorker: false, mode: 'full' as const, terminalSocFraction: 0 };
/** SoC at the window's start (the end of slot 3). */
const socAtWindow = (p: Awaited<ReturnType<typeof plan>>) => p.slots[3]!.socKwh;

test('without a hold the battery is spent on the price spike before the window; with one it keeps the energy for it', async () => {
  const base = [serving(1000, 0, N)];
  const free = await plan(input(150, 0, base), opts);
  const held = await plan(input(150, 300, base), opts);
  assert.ok(free.slots[2]!.dischargeKw > 100, `no hold: discharges at the spike (${free.slots[2]!.dischargeKw.toFixed(0)} kW)`);
  // 300 kW for an hour from the battery, at ηd = √0.9.
  const need = 300 / Math.sqrt(0.9);
  assert.ok(socAtWindow(held) >= need - 1e-3, `held: ${socAtWindow(held).toFixed(1)} kWh at the window, needs ${need.toFixed(1)}`);
  assert.ok(socAtWindow(free) < need - 1, `no hold: ${socAtWindow(free).toFixed(1)} kWh at the window`);
  assert.deepEqual(validatePlan(held, base, site, input(150, 300, base).signals, { batterySocKwh: 500 }), []);
});

test('a spike worth more than the hold’s price is still taken: the hold is soft', async () => {
  const base = [serving(1000, 0, N)];
  const p = await plan(input(1000, 300, base), opts);
  assert.ok(p.slots[2]!.dischargeKw > 400, `discharges at a £1000/MWh spike (${p.slots[2]!.dischargeKw.toFixed(0)} kW)`);
});

test('when a job arrives in the window the held energy meets the cap instead of a shortfall', async () => {
  // 300 kW of serving arrives in the window: without the battery the import is 1300 kW against a 1000 kW cap.
  const jobs = [serving(1000, 0, N), serving(300, 4, 6)];
  const p = await plan(input(150, 300, jobs), opts);
  for (const s of [4, 5]) {
    assert.ok(p.slots[s]!.siteKw <= 1000 + 1e-3, `slot ${s}: import ${p.slots[s]!.siteKw.toFixed(1)} kW within the cap`);
    assert.ok(p.slots[s]!.dischargeKw >= 300 - 1e-3, `slot ${s}: discharges ${p.slots[s]!.dischargeKw.toFixed(1)} kW`);
  }
});

test('a hold is ignored where no shortfall price holds the slot, and never above the battery’s power', async () => {
  const base = [serving(1000, 0, N)];
  const i = input(150, 0, base);
  const noBreach = await plan({ ...i, flexBreachGbpPerMwh: Array(N).fill(0), flexHoldKw: Array(N).fill(300) }, opts);
  const free = await plan(i, opts);
  assert.equal(socAtWindow(noBreach).toFixed(3), socAtWindow(free).toFixed(3));
  // (A hold priced at a share of a zero breach costs nothing anyway: the horizon is where it is dropped.)
  assert.deepEqual([...makeHorizon({ ...i, flexBreachGbpPerMwh: Array(N).fill(0), flexHoldKw: Array(N).fill(300) }, N).flexHoldKw], Array(N).fill(0));
  assert.deepEqual([...makeHorizon(input(150, 5000, base), N).flexHoldKw], [0, 0, 0, 0, 500, 500, 0, 0]);
  // A hold of 5 MW on a 500 kW battery is a 500 kW hold: the model stays feasible and keeps what it can.
  const big = await plan(input(150, 5000, base), opts);
  assert.deepEqual(validatePlan(big, base, site, i.signals, { batterySocKwh: 500 }), []);
  assert.ok(socAtWindow(big) >= 500 - 1e-3, `keeps its whole 500 kWh (${socAtWindow(big).toFixed(1)})`);
});

test('the flexibility a plan reports leaves out the battery it holds: neither the held power nor the held energy is offered again', async () => {
  const base = [serving(1000, 0, N)];
  const free = await plan(input(50, 0, base), opts);
  const held = await plan(input(50, 300, base), opts);
  const etaD = Math.sqrt(0.9);
  for (let s = 0; s < N; s++) {
    const f = held.flexibility[s]!;
    const sp = held.slots[s]!;
    assert.equal(f.heldKw, s === 4 || s === 5 ? 300 : 0, `slot ${s}: the hold is reported`);
    // Power: the battery's headroom less what is held in the slot.
    assert.ok(f.fromBatteryKw <= site.battery.powerKw - f.heldKw - sp.dischargeKw + sp.chargeKw + 1e-6, `slot ${s}: ${f.fromBatteryKw.toFixed(1)} kW from the battery`);
    // Energy: what the battery holds before the slot, less the 300 kWh (after η) held for the window.
    const socBefore = s === 0 ? 500 : held.slots[s - 1]!.socKwh;
    assert.ok(f.fromBatteryKw <= Math.max(0, (socBefore * etaD - 300) / 0.5) + sp.chargeKw + 1e-6, `slot ${s}: ${f.fromBatteryKw.toFixed(1)} kW against ${socBefore.toFixed(1)} kWh`);
  }
  // Before the window: 500 kWh × ηd less the 300 kWh held, over half an hour (the rest of the
  // battery's 500 kW would be promised twice). In the window: the plan kept just the held energy, so nothing.
  assert.ok(Math.abs(held.flexibility[0]!.fromBatteryKw - (500 * etaD - 300) / 0.5) < 1e-6, `slot 0: ${held.flexibility[0]!.fromBatteryKw}`);
  assert.ok(held.slots[3]!.socKwh >= 300 / etaD - 1e-3, 'the plan keeps the held energy to the window');
  assert.equal(held.flexibility[4]!.fromBatteryKw, 0);
  // Without a hold the whole battery is on offer.
  assert.equal(free.flexibility[0]!.fromBatteryKw, site.battery.powerKw);
});

test('a sold cap the battery can meet is met, even where the MIP stops within its gap at a plan that breaches it (2023-04-14, recorded)', async () => {
  // The incremental re-plan of this input used to stop at its greedy start (0.84 % from the
  // bound, inside the 1 % gap): 4,069 kW against the 3,890 kW cap, the battery idle at 1,150 kWh.
  const d = JSON.parse(readFileSync(new URL('./fixtures/sold-cap-2023-04-14.json', import.meta.url), 'utf8')) as { input: PlanInput; previous: PlanResult };
  const p = await plan({ ...d.input, previous: d.previous }, { deterministic: true, inWorker: false });
  assert.equal(p.solver.mode, 'incremental');
  assert.ok((p.solver.polishedGbp ?? 0) > 10, `the polish took £${p.solver.polishedGbp} off the MIP's answer`);
  const cap = d.input.flexCapKw![0]!;
  assert.ok(p.slots[0]!.siteKw <= cap + 1e-6, `import ${p.slots[0]!.siteKw.toFixed(1)} kW against the cap ${cap}`);
  assert.ok(p.slots[0]!.dischargeKw > 100, `the battery gives ${p.slots[0]!.dischargeKw.toFixed(1)} kW`);
  assert.deepEqual(validatePlan(p, d.input.jobs, d.input.site, d.input.signals, { batterySocKwh: d.input.batterySocKwh }), []);
});
