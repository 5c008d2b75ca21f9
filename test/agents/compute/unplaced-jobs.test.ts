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
  const u = unplacedOf({ jobs } as unknown as PlanResult).unplaced!;
  assert.equal(u.count, 117);
  assert.equal(u.jobIds.length, 100);
  assert.deepEqual(u.jobIds, [...u.jobIds].sort());
  assert.ok(!u.jobIds.includes('j129'), 'a scheduled job is not named');
  assert.deepEqual(unplacedOf({ jobs: [{ jobId: 'x', kind: 'deferred' }] } as unknown as PlanResult), {});
});
