// test-file-timeout: 120
/**
 * Found by a helper's review of the planner:
 *  - an operator's pin only raised a job's earliest start, so the planner chose the cheapest slot
 *    after it (a job pinned to 02:00 was planned for 12:00, where prices fell), and nothing ran
 *    at the pinned time. A pinned job's start is now fixed, as a serving job's is;
 *  - an incremental re-plan was never decomposed: one tenant's 1,000 new jobs went into one
 *    model (28-38 s, the event loop held 11-22 s), three tenants' into one too large for V8.
 *    Too large to add to the last plan, the plan is made afresh, decomposed.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, sharedSolverWorker, type PlanJob } from '../../../../agents/compute/planner/index.ts';
import { HH, T0, input } from './fixtures.ts';
import { jobsToPlan } from '../../../../agents/compute/site-planner.ts';
import { initialComputeState, type JobRecord } from '../../../../agents/compute/state.ts';
import { siteConfig } from '../../../../agents/compute/jobs/index.ts';

after(async () => {
  await sharedSolverWorker().close();
});

/** £300/MWh for the first 24 half-hours, £20 after: a free job waits for the cheap hours. */
const steep = { startMs: T0, priceGbpPerMwh: Array.from({ length: 96 }, (_, s) => (s < 24 ? 300 : 20)), intensityGPerKwh: Array.from({ length: 96 }, () => 150) };

describe('planner: pins and the size of an incremental plan', { timeout: 110_000 }, () => {
  test('a pinned job starts at its pin, not at the cheapest slot after it; unpinned, it waits for the cheap hours', async () => {
    const job: PlanJob = { id: 'j1', class: 'training', powerKw: 1000, runtimeMin: 60, earliestStartMs: T0 + 4 * HH, deadlineMs: T0 + 60 * HH, slaClass: 'silver', preemptible: false };
    for (const mode of ['full', 'greedy'] as const) {
      const pinned = await plan(input([{ ...job, pinned: true }], { signals: steep }), { inWorker: false, mode });
      const p = pinned.jobs.find((j) => j.jobId === 'j1')!;
      assert.equal(p.kind, 'scheduled', mode);
      assert.equal(p.startMs, T0 + 4 * HH, `${mode}: starts at the pin`);
    }
    const free = await plan(input([job], { signals: steep }), { inWorker: false, mode: 'full' });
    assert.ok(free.jobs[0]!.startMs! >= T0 + 24 * HH, 'the same job unpinned waits for £20');
  });

  test('an incremental plan too large to add to the last one is made afresh, decomposed, within its time', async () => {
    const first = await plan(input([]), { inWorker: true, mode: 'full', timeLimitS: 5 });
    const many: PlanJob[] = Array.from({ length: 400 }, (_, i) => ({
      id: `t-${i}`,
      class: 'training',
      powerKw: 1 + i / 1000,
      runtimeMin: 600,
      earliestStartMs: T0,
      deadlineMs: T0 + 47 * HH,
      slaClass: 'bronze',
      preemptible: false,
    }));
    const t0 = performance.now();
    const next = await plan(input(many, { previous: first }), { inWorker: true, mode: 'auto', timeLimitS: 5, decomposeAboveColumns: 4000 });
    const took = performance.now() - t0;
    assert.equal(next.solver.mode, 'decomposed', JSON.stringify(next.solver).slice(0, 300));
    assert.equal(next.jobs.length, many.length);
    assert.ok(took < 30_000, `${took} ms`);
  });
});

describe('planner: a pinned job that has started', { timeout: 60_000 }, () => {
  test('runs straight through on the re-plans after its pin, though it was submitted preemptible', async () => {
    // A helper's review: the pin held only for its first half-hour. From the next re-plan the pin
    // lay in the past, the job was preemptible again, and the plan stopped it for cheaper slots
    // (the tick would then have recorded compute.job.preempted for a job an operator pinned).
    const dear = { startMs: T0, priceGbpPerMwh: Array.from({ length: 200 }, (_, s) => (s < 8 ? 300 : 50)), intensityGPerKwh: Array.from({ length: 200 }, () => 100) };
    const s = initialComputeState(2500);
    const job = { id: 'p', class: 'training' as const, powerKw: 100, runtimeMin: 120, earliestStartMs: T0, deadlineMs: T0 + 40 * HH, slaClass: 'gold' as const, preemptible: true };
    s.jobs.set('p', { job, status: 'running', revision: 2, doneMin: 30, startedMs: T0, runningSinceMs: T0, endMs: null, plannedStartMs: T0, plannedEndMs: T0 + 4 * HH, pinnedStartMs: T0, overrides: 1, lastOverrideMs: T0, missed: false, feasibleOnArrival: true, energyKwh: 0, costGbp: 0, carbonKg: 0, lastPlanEventId: null, submittedBy: null } as JobRecord);
    s.active.add('p');
    const { jobs } = jobsToPlan(s, T0 + HH, new Map());
    const r = await plan({ nowMs: T0 + HH, site: siteConfig(), jobs, signals: dear, batterySocKwh: 2500 }, { inWorker: false, mode: 'full', deterministic: true });
    const p = r.jobs.find((j) => j.jobId === 'p')!;
    assert.deepEqual(p.runs.map((x) => x.slot), [0, 1, 2], `it keeps running from now until done: ${JSON.stringify(p.runs)}`);
    // Unpinned, the same running job waits for the cheap hours: the pin is what holds it.
    s.jobs.get('p')!.pinnedStartMs = null;
    const free = await plan({ nowMs: T0 + HH, site: siteConfig(), jobs: jobsToPlan(s, T0 + HH, new Map()).jobs, signals: dear, batterySocKwh: 2500 }, { inWorker: false, mode: 'full', deterministic: true });
    assert.ok(free.jobs[0]!.runs.every((x) => x.slot >= 6), JSON.stringify(free.jobs[0]!.runs));
  });
});
