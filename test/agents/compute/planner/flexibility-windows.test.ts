import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Job, siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { evaluate, makeHorizon, plan, scheduleRuns, toItem, type Item, type PlanInput, type PlanJob, type PlanResult } from '../../../../agents/compute/planner/index.ts';

// The job flexibility a plan reports per offer window is what can leave the window together:
// the moves share the room they go to, and none lands inside the window it sheds.

const T0 = Date.UTC(2023, 6, 3, 0, 0);
const HH = 1_800_000;
// No battery to speak of and PUE 1: the flexibility is the jobs', in IT kW.
const site = siteConfig({ pue: 1, carbonPriceGbpPerT: 0, itCapacityKw: 10_000, importCapKw: 10_000, battery: { energyKwh: 1, powerKw: 1 } });
const opts = { inWorker: false, mode: 'full' as const, terminalSocFraction: 0 };

const job = (id: string, kw: number, fromSlot: number, toSlot: number, runtimeMin: number, extra: Partial<Job> = {}): PlanJob => ({
  id,
  class: 'training',
  powerKw: kw,
  runtimeMin,
  earliestStartMs: T0 + fromSlot * HH,
  deadlineMs: T0 + toSlot * HH,
  slaClass: 'gold',
  preemptible: false,
  ...extra,
});

function input(jobs: PlanJob[], price: number[], extra: Partial<PlanInput> = {}): PlanInput {
  return { nowMs: T0, site, jobs, signals: { startMs: T0, priceGbpPerMwh: price, intensityGPerKwh: price.map(() => 200) }, batterySocKwh: 0, ...extra };
}

/** A plan of preemptible jobs run as given (IT kW per slot), priced, with its flexibility: the plan without the solver. */
function byHand(jobs: PlanJob[], runKw: Record<string, number[]>, price = [100, 100, 10, 10, 10, 10, 100, 100], importCapKw?: number[]): PlanResult {
  const h = makeHorizon(input(jobs, price, importCapKw ? { importCapKw } : {}), price.length);
  const items = jobs.map((j) => toItem(h, j)).filter((it): it is Item => it !== null);
  const sched = { jobs: new Map(items.map((it) => [it.job.id, scheduleRuns(it as Extract<Item, { kind: 'run' }>, Float64Array.from(runKw[it.job.id]!), 0)])), chargeKw: new Float64Array(h.n), dischargeKw: new Float64Array(h.n) };
  return evaluate(h, new Map(jobs.map((j) => [j.id, j])), items, sched, 0, 'optimal', { message: 'by hand' } as never, h.t0);
}

const jobsKw = (p: PlanResult, s: number): number => p.flexibility[s]!.fromJobsKw;
const startOf = (p: PlanResult, id: string): number | null => p.jobs.find((j) => j.jobId === id)!.startMs;

describe('flexibility per offer window (issue 13: offers that can be delivered)', { timeout: 120_000 }, () => {
  test('two jobs that could each move to the one free hour count it once', async () => {
    // A and B (4 MW for 1 h) sit in the cheap hour 01:00–02:00; the only on-time hour outside
    // it with room is 02:00–03:00, where C already draws 4 MW of the 10 MW: room for one of them.
    const jobs = [job('a', 4000, 2, 6, 60), job('b', 4000, 2, 6, 60), job('c', 4000, 4, 6, 60, { class: 'serving' })];
    const p = await plan(input(jobs, [100, 100, 10, 10, 50, 50, 100, 100]), { ...opts, horizonSlots: 8 });
    assert.equal(startOf(p, 'a'), T0 + 2 * HH);
    assert.equal(startOf(p, 'b'), T0 + 2 * HH);
    for (const s of [2, 3]) assert.ok(Math.abs(jobsKw(p, s) - 4000) < 1e-6, `slot ${s}: ${jobsKw(p, s)} kW from jobs, one job's 4,000 kW`);
  });

  test('a move into a window already sold is no room: it would break that sale to make this one', async () => {
    // A (4 MW, 1 h, due 04:00) sits in the cheap hour 01:00–02:00. 02:00–03:00 has no import
    // at all, and 03:00–04:00 is sold down to 1 MW, which a serving job already draws.
    const jobs = [job('a', 4000, 2, 8, 60), job('srv', 1000, 6, 8, 60, { class: 'serving' })];
    const sold = [10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 1000, 1000];
    const p = await plan(
      input(jobs, [100, 100, 10, 10, 100, 100, 50, 50], { flexCapKw: sold, flexBreachGbpPerMwh: sold.map((c) => (c < 10_000 ? 300 : 0)), importCapKw: [10_000, 10_000, 10_000, 10_000, 0, 0, 10_000, 10_000] }),
      { ...opts, horizonSlots: 8, maxHorizonSlots: 8 },
    );
    assert.equal(startOf(p, 'a'), T0 + 2 * HH);
    for (const s of [2, 3]) assert.ok(jobsKw(p, s) < 1e-6, `slot ${s}: ${jobsKw(p, s)} kW from jobs`);
  });

  test('a preemptible job cannot shed a window by moving to its other half-hour', () => {
    // 2 MW in each half of 01:00–02:00 of a 4 MW job due at 02:00: its work can only trade
    // places inside the hour, which sheds nothing from it.
    const p = byHand([job('p', 4000, 2, 4, 30, { preemptible: true })], { p: [0, 0, 2000, 2000, 0, 0, 0, 0] });
    for (const s of [2, 3]) assert.ok(jobsKw(p, s) < 1e-6, `slot ${s}: ${jobsKw(p, s)} kW from jobs`);
  });

  test('a preemptible job’s room beyond the horizon is spent once across the window', () => {
    // 2 MW for an hour from 01:00, due at 04:30 on a 4 h horizon with no room after 02:00: half
    // of its 2 MWh may wait past the horizon. The plan runs it all in 01:00–02:00; waiting sheds
    // 1 MWh of the hour, 1 MW from each half-hour, not 2 MW from both.
    const p = byHand([job('d', 2000, 2, 9, 60, { preemptible: true })], { d: [0, 0, 2000, 2000, 0, 0, 0, 0] }, [100, 100, 10, 10, 100, 100, 100, 100], [10_000, 10_000, 10_000, 10_000, 0, 0, 0, 0]);
    for (const s of [2, 3]) assert.ok(Math.abs(jobsKw(p, s) - 1000) < 1e-6, `slot ${s}: ${jobsKw(p, s)} kW from jobs`);
  });

  // The property: for every hour-long window of a plan, a plan exists that keeps every job on
  // time with the window's IT load cut by the job flexibility reported for it.
  const N = 12;
  const jobArb = (i: number) =>
    fc
      .record({
        powerKw: fc.integer({ min: 4, max: 40 }).map((x) => x * 100),
        runtimeMin: fc.integer({ min: 1, max: 6 }).map((x) => x * 30),
        releaseSlot: fc.integer({ min: 0, max: 4 }),
        slackSlots: fc.integer({ min: 0, max: 6 }),
        preemptible: fc.boolean(),
      })
      .map((r): PlanJob => job(`j${i}`, r.powerKw, r.releaseSlot, r.releaseSlot + r.runtimeMin / 30 + r.slackSlots, r.runtimeMin, { preemptible: r.preemptible }));
  const instanceArb = fc.record({
    jobs: fc.integer({ min: 2, max: 7 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => jobArb(i)))),
    prices: fc.array(fc.integer({ min: 10, max: 200 }), { minLength: N, maxLength: N }),
  });

  test('property: what a window reports from jobs can be shed in it with every job on time', async () => {
    await fc.assert(
      fc.asyncProperty(instanceArb, async (x) => {
        const base = input(x.jobs, x.prices);
        const p = await plan(base, { ...opts, horizonSlots: N, maxHorizonSlots: N });
        fc.pre(p.totals.lateJobs === 0 && p.totals.unplacedJobs === 0);
        for (let a = 0; a + 2 <= N; a += 2) {
          const shed = [jobsKw(p, a), jobsKw(p, a + 1)];
          if (shed[0]! < 1 && shed[1]! < 1) continue;
          const importCapKw = Array.from({ length: N }, (_, s) => (s === a || s === a + 1 ? Math.max(0, p.slots[s]!.itKw - shed[s - a]!) + 1e-3 : site.importCapKw));
          const q = await plan({ ...base, importCapKw }, { ...opts, horizonSlots: N, maxHorizonSlots: N, reserveFraction: 0 });
          assert.equal(q.totals.lateJobs + q.totals.unplacedJobs, 0, `window at slot ${a}: ${shed.map((k) => k.toFixed(0)).join('/')} kW reported from jobs on ${p.slots[a]!.itKw.toFixed(0)}/${p.slots[a + 1]!.itKw.toFixed(0)} kW, and shedding it makes ${q.totals.lateJobs} late, ${q.totals.unplacedJobs} unplaced`);
        }
      }),
      { numRuns: 40, seed: 20261207 },
    );
  });
});
