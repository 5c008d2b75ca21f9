// test-file-timeout: 60
/**
 * A job the plan finds no room for gets no `compute.job.planned`. Before, the ledger said
 * nothing of it until its deadline passed; the plan now names it, and the schedule flags it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { createComputeAgent } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import { unplacedOf } from '../../../agents/compute/plan-events.ts';
import type { PlanResult } from '../../../agents/compute/planner/index.ts';
import { evolveSchedule, initialSchedule, type ScheduleState } from '../../../projections/schedule/schedule.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { advanceAndSettle } from '../../../sim/clock-driver.ts';
import { SiteReadModel, siteQueries } from '../../../cli/site-read-model.ts';
import { silentLogger } from '../../../core/log/index.ts';

const T0 = Date.parse('2023-07-03T00:00:00Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Non-preemptible, 6 MW for 47 hours, due 48 hours after it may start: two of them cannot
 * share the 10 MW site, and the second has no room to start before the plan's horizon ends.
 */
function longJob(id: string) {
  return { jobId: id, class: 'training', powerKw: 6000, runtimeMin: 47 * 60, earliestStart: iso(T0 + H), deadline: iso(T0 + 49 * H), slaClass: 'silver', preemptible: false };
}

test('jobs that cannot all fit: the plan names the ones it could not place, and the schedule flags them until a plan places them', async () => {
  const s = embeddedStack('compute');
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep' });
  try {
    rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
    await rt.start();
    await rt.settle();
    for (const id of ['a', 'b', 'c']) {
      const r = await rt.send('compute', 'submit', longJob(id));
      assert.equal(r.ok, true, JSON.stringify(r));
    }
    await rt.settle();
    await advanceAndSettle(s.clock, rt, T0 + 2 * H);
    const all: Envelope[] = [];
    for await (const e of s.store.readAll()) all.push(e);
    assert.equal(all.filter((e) => e.type === 'compute.job.rejected').length, 0, 'each job alone fits: all three accepted');
    const plans = all.filter((e) => e.type === 'compute.plan.published');
    const unplacedIn = (e: Envelope) => (e.data as { unplaced?: { count: number; jobIds: string[] } }).unplaced;
    assert.ok(plans.length >= 2);
    const started = new Set(all.filter((e) => e.type === 'compute.job.started').map((e) => (e.data as { jobId: string }).jobId));
    assert.equal(started.size, 1, `one job runs: ${[...started].join(',')}`);
    const left = ['a', 'b', 'c'].filter((id) => !started.has(id));
    // Every plan names the two that do not fit, in id order.
    for (const p of plans) assert.deepEqual(unplacedIn(p), { count: 2, jobIds: left }, JSON.stringify(unplacedIn(p)));
    // The schedule flags them from the first plan's start, and never the one that runs.
    let sched: ScheduleState = initialSchedule;
    for (const e of all) sched = evolveSchedule(sched, e);
    const firstStart = (plans[0]!.data as { startsAt: string }).startsAt;
    for (const id of left) assert.equal(sched.jobs.get(id)!.unplacedSince, firstStart, id);
    assert.equal(sched.jobs.get([...started][0]!)!.unplacedSince, null);
    assert.deepEqual(sched.plan?.unplaced, unplacedIn(plans.at(-1)!));
    // And an outside agent's q.plan says so: its planned start is stale, from an earlier plan.
    const model = new SiteReadModel(silentLogger());
    for (const e of all) model.apply(e);
    const q = siteQueries(model, () => T0 + 2 * H)['plan']!;
    for (const id of left) assert.equal((q.answer({ jobId: id }) as { plan: { unplacedSince: string | null } }).plan.unplacedSince, firstStart, id);
    assert.equal((q.answer({ jobId: [...started][0]! }) as { plan: { unplacedSince: string | null } }).plan.unplacedSince, null);
    // A later plan that names neither clears both flags, and the plan's own count.
    const { unplaced: _u, ...rest } = plans.at(-1)!.data as Record<string, unknown>;
    sched = evolveSchedule(sched, { ...plans.at(-1)!, id: 'later', position: 1e9, data: { ...rest, planId: 'later' } });
    for (const id of left) assert.equal(sched.jobs.get(id)!.unplacedSince, null, id);
    assert.equal(sched.plan!.unplaced, null);
  } finally {
    await rt.stop();
    await s.close();
  }
});

test('the plan lists at most 100 unplaced ids, in id order, and counts them all; a plan with none says nothing', () => {
  const jobs = Array.from({ length: 130 }, (_, i) => ({ jobId: `j${String(129 - i).padStart(3, '0')}`, kind: i % 10 === 0 ? 'scheduled' : 'unplaced' }));
  const u = unplacedOf({ jobs } as unknown as PlanResult)!;
  assert.equal(u.count, 117);
  assert.equal(u.jobIds.length, 100);
  assert.deepEqual(u.jobIds, [...u.jobIds].sort());
  assert.ok(!u.jobIds.includes('j129'), 'a scheduled job is not named');
  assert.equal(unplacedOf({ jobs: [{ jobId: 'x', kind: 'deferred' }] } as unknown as PlanResult), undefined);
});

test('past the 100 ids a plan names: flags are kept until a plan names every unplaced job, and q.plan counts the unnamed', () => {
  // Before: with 150 unplaced, a job flagged earlier lost its flag once others pushed it out of
  // the list, and q.plan said null, "placed" (a helper's review).
  const jobIds = Array.from({ length: 150 }, (_, i) => `job-${String(i).padStart(3, '0')}`);
  const at = (n: number) => iso(T0 + n * 1800_000);
  const submitted = (id: string, i: number) => ({ id: `s-${id}`, type: 'compute.job.submitted', version: 2, stream: `job-${id}`, position: i + 1, time: at(0), data: { jobId: id, class: 'training', powerKw: 100, gpuCount: null, runtimeMin: 60, runtimeSource: 'given', runtimeModel: null, earliestStart: at(0), deadline: at(10), slaClass: 'silver', preemptible: false, submittedBy: { party: 'op', keyId: 'op-1', role: 'operator' } } });
  const plan = (n: number, unplaced?: { count: number; jobIds: string[] }) => ({
    id: `p${n}`,
    type: 'compute.plan.published',
    version: 1,
    stream: 'plan-main',
    position: 1000 + n,
    time: at(n),
    data: { planId: `plan-${n}`, forecastId: null, startsAt: at(n), trigger: 't', solver: { status: 'optimal', mode: 'full', note: '' }, jobs: 150, itKw: [], siteKw: [], batteryChargeKw: [], batteryDischargeKw: [], batterySocKwh: [], importCapKw: [], expected: { costGbp: 0, carbonKg: 0 }, dispatch: { slotStart: at(n), runs: [], chargeKw: 0, dischargeKw: 0 }, ...(unplaced ? { unplaced } : {}) },
  });
  const model = new SiteReadModel(silentLogger());
  jobIds.forEach((id, i) => model.apply(submitted(id, i) as never));
  assert.equal(model.schedule.jobs.size, 150, 'the submissions fold');
  model.apply(plan(1, { count: 1, jobIds: ['job-149'] }) as never);
  model.apply(plan(2, { count: 150, jobIds: jobIds.slice(0, 100) }) as never);
  const q = siteQueries(model, () => T0)['plan']!;
  const answer = (id: string) => (q.answer({ jobId: id }) as { plan: { unplacedSince: string | null; unplacedUnlisted: number } }).plan;
  assert.deepEqual(answer('job-149'), { ...answer('job-149'), unplacedSince: at(1), unplacedUnlisted: 50 }, 'kept: unnamed, not placed');
  assert.equal(answer('job-000').unplacedSince, at(2));
  assert.equal(answer('job-120').unplacedSince, null);
  assert.equal(answer('job-120').unplacedUnlisted, 50, 'so its null is not "placed"');
  // A plan that names every unplaced job clears the rest.
  model.apply(plan(3, { count: 1, jobIds: ['job-000'] }) as never);
  assert.equal(answer('job-149').unplacedSince, null);
  assert.equal(answer('job-001').unplacedSince, null);
  assert.equal(answer('job-000').unplacedSince, at(2));
  assert.equal(answer('job-000').unplacedUnlisted, 0);
  assert.deepEqual(model.schedule.unplacedFlagged, ['job-000']);
});

