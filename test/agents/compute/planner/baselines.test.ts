import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { type Job, siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { sharedSolverWorker, type PlanInput } from '../../../../agents/compute/planner/index.ts';
import { bestWindow, lowestK, oraclePolicy, rulePlanner, runOnArrival, runOnArrivalPolicy, simulate, thresholdRule } from '../../../../sim/policies/index.ts';
import { HH, T0, sineSignals } from './fixtures.ts';

after(async () => {
  await sharedSolverWorker().close();
});

const site = siteConfig();
const intensity = [300, 280, 100, 90, 250, 80, 85, 300];
const signals = { startMs: T0, priceGbpPerMwh: intensity.map(() => 100), intensityGPerKwh: intensity };
const one = (job: Partial<Job>): PlanInput => ({
  nowMs: T0,
  site,
  signals,
  batterySocKwh: 2500,
  jobs: [{ id: 'j', class: 'training', powerKw: 100, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + 8 * HH, slaClass: 'silver', preemptible: false, ...job }],
});
const runSlots = async (rule: Parameters<typeof rulePlanner>[0], job: Partial<Job>) => (await rulePlanner(rule, 8)(one(job))).jobs[0]!.runs.map((r) => r.slot);

describe('baseline rules', () => {
  test('run on arrival starts at once', async () => {
    assert.deepEqual(await runSlots(runOnArrival, {}), [0, 1]);
  });
  test('best window takes the contiguous window with the lowest mean forecast', async () => {
    // Pairs: (2,3) mean 95, (5,6) mean 82.5 → slots 5, 6.
    assert.deepEqual(await runSlots(bestWindow, {}), [5, 6]);
    assert.deepEqual(await runSlots(bestWindow, { preemptible: true }), [5, 6]);
  });
  test('lowest-k runs a preemptible job in its k cleanest slots', async () => {
    // 90 min = 3 slots: the cleanest are 5 (80), 6 (85), 3 (90); the best contiguous window is 4..6.
    assert.deepEqual(await runSlots(lowestK, { preemptible: true, runtimeMin: 90 }), [3, 5, 6]);
    assert.deepEqual(await runSlots(bestWindow, { preemptible: true, runtimeMin: 90 }), [4, 5, 6]);
  });
  test('threshold runs when below X, else waits until the deadline forces it', async () => {
    assert.deepEqual(await runSlots(thresholdRule(95), {}), [3, 4]);
    // Nothing below 50: the latest on-time start (deadline at slot 4's end → start at slot 3).
    assert.deepEqual(await runSlots(thresholdRule(50), { deadlineMs: T0 + 5 * HH }), [3, 4]);
  });
});

describe('harness', () => {
  test('with perfect foresight the MILP is cheaper than running on arrival, and every plan validates', async () => {
    const jobs: Job[] = Array.from({ length: 24 }, (_, i) => ({
      id: `j${i}`,
      class: 'training',
      powerKw: 500 + 100 * (i % 5),
      runtimeMin: 60 + 30 * (i % 4),
      earliestStartMs: T0 + i * HH,
      deadlineMs: T0 + i * HH + (4 + (i % 6) * 2) * 3_600_000,
      slaClass: 'silver',
      preemptible: i % 3 === 0,
    }));
    const actual = sineSignals(T0, 400, 5);
    const cfg = { site, startMs: T0, slots: 48, jobs, actual, forecastAt: () => actual, initialSocKwh: 2500 };
    const base = await simulate(runOnArrivalPolicy(), cfg);
    const oracle = await simulate(oraclePolicy({ timeLimitS: 5 }), cfg);
    for (const r of [base, oracle]) {
      assert.equal(r.validationProblems, 0, r.firstProblems.join('; '));
      assert.equal(r.unfinished, 0);
      assert.equal(r.missesFeasibleOnArrival, 0);
    }
    assert.equal(base.batteryCycles, 0);
    const total = (r: typeof base) => r.energyCostGbp + r.carbonCostGbp;
    assert.ok(total(oracle) < total(base), `${total(oracle)} !< ${total(base)}`);
    // Same work done: the site energy differs only by battery losses.
    assert.ok(Math.abs(oracle.siteEnergyMwh - base.siteEnergyMwh) < 0.15 * base.siteEnergyMwh);
  });

  test('a miss is reported with what it takes to tell a squeeze from a planning error', async () => {
    // Two 7 MW jobs cannot run together on the 10 MW of IT: the one that waits misses its deadline, though alone it was feasible.
    const job = (id: string, deadlineH: number): Job => ({ id, class: 'training', powerKw: 7000, runtimeMin: 120, earliestStartMs: T0, deadlineMs: T0 + deadlineH * 3_600_000, slaClass: 'silver', preemptible: false });
    const actual = sineSignals(T0, 400, 5);
    const r = await simulate(runOnArrivalPolicy(), { site, startMs: T0, slots: 24, jobs: [job('a', 2), job('b', 3), { ...job('c', 1), runtimeMin: 90 }], actual, forecastAt: () => actual, initialSocKwh: 2500 });
    assert.equal(r.deadlineMisses, r.missed.length);
    const byId = new Map(r.missed.map((m) => [m.jobId, m]));
    const c = byId.get('c');
    assert.ok(c && !c.feasibleOnArrival && c.slackMin === -30 && c.lateMin >= 30, JSON.stringify(r.missed));
    assert.ok(r.missed.some((m) => m.feasibleOnArrival && m.lateMin > 0), JSON.stringify(r.missed));
    assert.equal(r.missesFeasibleOnArrival, r.missed.filter((m) => m.feasibleOnArrival).length);
    // Listed by deadline: c (1 h), a (2 h), b (3 h).
    const ids = r.missed.map((m) => m.jobId);
    assert.deepEqual(ids, ['c', 'a', 'b'].filter((id) => ids.includes(id)));
  });
});
