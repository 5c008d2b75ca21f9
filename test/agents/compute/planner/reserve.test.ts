// test-file-timeout: 120
/**
 * The reserve (15 % of IT capacity that roomy non-preemptible jobs may not be planned into, kept
 * for tight jobs still to arrive) must never make a known job late. It was a hard row: a job
 * above 85 % of capacity could not be placed until its slack fell under 2 h, and roomy jobs
 * kept apart pushed a tight one late (a helper's review of the planner). A plan with a miss is
 * made again without the reserve and taken when it misses less.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, sharedSolverWorker, type PlanJob } from '../../../../agents/compute/planner/index.ts';
import { HH, T0, input } from './fixtures.ts';
import { metricsHooks } from '../../../../core/observability/index.ts';

after(async () => {
  await sharedSolverWorker().close();
});

const MIN = 60_000;
const opts = { inWorker: false, mode: 'full', deterministic: true } as const;

describe('planner: the reserve never makes a known job late', { timeout: 110_000 }, () => {
  test('two jobs of 9 MW (above 85 % of the 10 MW site) with 6 h for 4 h of work: both planned on time', async () => {
    const job = (id: string): PlanJob => ({ id, class: 'training', powerKw: 9000, runtimeMin: 120, earliestStartMs: T0, deadlineMs: T0 + 12 * HH, slaClass: 'gold', preemptible: false });
    const r = await plan(input([job('a'), job('b')]), opts);
    assert.equal(r.totals.unplacedJobs, 0, JSON.stringify(r.jobs.map((j) => [j.jobId, j.kind, j.startMs, j.latenessH])));
    assert.equal(r.totals.lateJobs, 0);
    // One after the other: they never share a slot (18 MW would not fit).
    const [a, b] = r.jobs.map((j) => j.startMs!).sort((x, y) => x - y);
    assert.ok(b! - a! >= 4 * HH && b! + 4 * HH <= T0 + 12 * HH, `starts ${new Date(a!).toISOString()} and ${new Date(b!).toISOString()}`);
  });

  test('roomy jobs below 85 % are not kept apart at the cost of a tight one: all four on time', async () => {
    const jobs: PlanJob[] = [
      { id: 'j0', class: 'training', powerKw: 5000, runtimeMin: 114, earliestStartMs: T0 + 4 * HH + 28 * MIN, deadlineMs: T0 + 10 * HH + 6 * MIN, slaClass: 'bronze', preemptible: false },
      { id: 'j1', class: 'training', powerKw: 2000, runtimeMin: 48, earliestStartMs: T0 + HH, deadlineMs: T0 + 7 * HH + 10 * MIN, slaClass: 'gold', preemptible: false },
      { id: 'j2', class: 'training', powerKw: 3000, runtimeMin: 180, earliestStartMs: T0 + HH + 27 * MIN, deadlineMs: T0 + 13 * HH + 27 * MIN, slaClass: 'gold', preemptible: true },
      { id: 'j3', class: 'training', powerKw: 8000, runtimeMin: 180, earliestStartMs: T0, deadlineMs: T0 + 12 * HH, slaClass: 'bronze', preemptible: false },
    ];
    const r = await plan(input(jobs), opts);
    assert.equal(r.totals.lateJobs, 0, JSON.stringify(r.jobs.map((j) => [j.jobId, j.startMs && new Date(j.startMs).toISOString(), j.latenessH])));
    assert.equal(r.totals.unplacedJobs, 0);
  });

  test('a plan split into parts (decomposed) is made again without the reserve too, and says so', async () => {
    // The review of the fix: with 1,000 open jobs the model was decomposed, the retry never
    // reached, and both 9 MW jobs were left unplaced. decomposeAboveColumns forces the split here.
    const job = (id: string): PlanJob => ({ id, class: 'training', powerKw: 9000, runtimeMin: 120, earliestStartMs: T0, deadlineMs: T0 + 12 * HH, slaClass: 'gold', preemptible: false });
    const r = await plan(input([job('a'), job('b')]), { ...opts, decomposeAboveColumns: 10 });
    assert.equal(r.solver.mode, 'decomposed');
    assert.equal(r.totals.unplacedJobs + r.totals.lateJobs, 0, JSON.stringify(r.jobs.map((j) => [j.jobId, j.kind, j.startMs, j.latenessH])));
    assert.match(r.solver.message ?? '', /made again without the reserve \(with it: 2 unplaced, 2 late\)/);
  });

  test('a late job with no roomy start among the jobs is planned once: without the reserve it would be the same plan', async () => {
    // Three tight 9 MW jobs (under 2 h of slack) due together: one is late whatever the reserve.
    const job = (id: string): PlanJob => ({ id, class: 'training', powerKw: 9000, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + 4 * HH, slaClass: 'bronze', preemptible: false });
    let solves = 0;
    const solved = metricsHooks.solved;
    metricsHooks.solved = (ms, status) => {
      solves++;
      solved(ms, status);
    };
    try {
      const r = await plan(input([job('a'), job('b'), job('c')]), opts);
      assert.ok(r.totals.lateJobs > 0);
      assert.equal(solves, 1, 'one solve');
    } finally {
      metricsHooks.solved = solved;
    }
  });

  test('where the reserve costs no deadline it still holds: a roomy job stays out of it', async () => {
    // 9 MW for an hour with a day to do it, beside 1 MW of fixed serving load: the reserve's
    // 1.5 MW is kept (the job is planned where it fits under 8.5 MW with the serving load).
    const jobs: PlanJob[] = [
      { id: 'srv', class: 'serving', powerKw: 1000, runtimeMin: 24 * 60, earliestStartMs: T0, deadlineMs: T0 + 48 * HH, slaClass: 'gold', preemptible: false },
      { id: 'big', class: 'training', powerKw: 7000, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + 48 * HH, slaClass: 'bronze', preemptible: false },
    ];
    const r = await plan(input(jobs), opts);
    assert.equal(r.totals.lateJobs + r.totals.unplacedJobs, 0);
    for (const slot of r.slots) assert.ok(slot.itKw <= 8500 + 1e-6, `${new Date(slot.startMs).toISOString()}: ${slot.itKw} kW, into the reserve`);
  });
});
