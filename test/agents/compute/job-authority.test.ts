import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createComputeAgent, type ComputeCmd, type ComputeIn, type ComputeState } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import type { AgentContext, AgentInput, CommandMessage, Decision } from '../../../core/runtime/agent.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import type { Principal } from '../../../core/identity/index.ts';
import { silentLogger } from '../../../core/log/logger.ts';
import { cacoUpcasters } from '../../../schemas/index.ts';
import { T0, H, iso, alice, mallory, siteAgent, operator, admin } from './fixtures/tenants.ts';

/**
 * The compute agent's rules for overriding the plan, called through `decide` directly with a
 * state built by `evolve`: who may pin or release a job, and which pins a job can survive.
 */

const SLOT = 1_800_000;

let n = 0;
// Hand-made ledger events, some with only the fields a rule reads: typed as the agent's input unchecked.
// An older version is upgraded as the read path does it (core/store/verified-store.ts) before evolve sees it.
const upcasters = cacoUpcasters();
function event(type: string, version: number, stream: string, revision: number, data: unknown, timeMs = T0): Envelope<ComputeIn> {
  n++;
  const latest = upcasters.isOld(type, version) ? upcasters.upcast(type, version, data) : { version, data };
  return { id: `e${n}`, type, version: latest.version, stream, revision, position: n, time: iso(timeMs), source: 'compute', correlationId: `c${n}`, causationId: null, data: latest.data, prevHash: '0'.repeat(64), hash: '0'.repeat(64), sig: 'x' } as Envelope<ComputeIn>;
}

interface JobOpts {
  readonly earliestMs?: number;
  readonly deadlineMs?: number;
  readonly runtimeMin?: number;
  readonly preemptible?: boolean;
  readonly submittedBy?: Principal | null;
  /** v1: the submitter was not recorded. */
  readonly v1?: boolean;
  /** The Clock's time when commands are decided (T0). */
  readonly nowMs?: number;
}

function setup(o: JobOpts = {}) {
  const agent = createComputeAgent({ site: DEFAULT_SITE });
  let state: ComputeState = agent.initialState();
  const base = { jobId: 'j', class: 'training', powerKw: 500, gpuCount: null, runtimeMin: o.runtimeMin ?? 60, runtimeSource: 'given', runtimeModel: null, earliestStart: iso(o.earliestMs ?? T0 + H), deadline: iso(o.deadlineMs ?? T0 + 4 * H), slaClass: 'silver', preemptible: o.preemptible ?? false };
  state = agent.evolve(state, o.v1 ? event('compute.job.submitted', 1, 'job-j', 0, base) : event('compute.job.submitted', 2, 'job-j', 0, { ...base, submittedBy: o.submittedBy === undefined ? alice : o.submittedBy }));
  const ctx: AgentContext = { site: 't', agent: 'compute', now: () => o.nowMs ?? T0, nowIso: () => iso(o.nowMs ?? T0), log: silentLogger(), newId: () => `id${++n}`, setTimer: () => undefined, publish: async () => undefined };
  const command = (name: 'pin' | 'release', data: Record<string, unknown>, by: Principal | undefined, sentMs = o.nowMs ?? T0): AgentInput<ComputeIn, ComputeCmd> => ({
    kind: 'command',
    id: `cmd${++n}`,
    correlationId: `cmd${n}`,
    command: { id: `cmd${n}`, type: `compute.job.${name}`, version: 1, time: iso(sentMs), source: by?.party ?? 'nobody', correlationId: `cmd${n}`, causationId: null, data, ...(by ? { principal: by } : {}) } as CommandMessage<ComputeCmd>,
  });
  return {
    agent,
    get state() {
      return state;
    },
    evolve(type: string, data: unknown, timeMs?: number) {
      state = agent.evolve(state, event(type, 1, 'job-j', state.jobs.get('j')!.revision + 1, data, timeMs));
    },
    pin: async (atMs: number, by: Principal | undefined, sentMs?: number) => (await agent.decide(command('pin', { jobId: 'j', startAt: iso(atMs), operator: 'x' }, by, sentMs), state, ctx)) as Decision[],
    release: async (by: Principal | undefined, sentMs?: number) => (await agent.decide(command('release', { jobId: 'j', operator: 'x' }, by, sentMs), state, ctx)) as Decision[],
  };
}

function problems(d: Decision[]): Array<{ field: string; reason: string }> {
  assert.equal(d.length, 1);
  assert.equal(d[0]!.stream, 'intake-main', JSON.stringify(d));
  assert.equal(d[0]!.events[0]!.type, 'compute.job.rejected');
  return (d[0]!.events[0]!.data as { problems: Array<{ field: string; reason: string }> }).problems;
}

function pinnedBy(d: Decision[]): unknown {
  assert.equal(d.length, 1, JSON.stringify(d));
  assert.equal(d[0]!.stream, 'job-j');
  assert.equal(d[0]!.events[0]!.type, 'compute.job.pinned');
  return (d[0]!.events[0]!.data as { by: unknown }).by;
}

describe('compute agent: who may pin or release a job, and where', { timeout: 60_000 }, () => {
  test('the submitter, an operator and an admin may pin; another party, a site agent and an unauthenticated sender may not', async () => {
    const j = setup();
    assert.deepEqual(pinnedBy(await j.pin(T0 + 2 * H, alice)), alice);
    assert.deepEqual(pinnedBy(await j.pin(T0 + 2 * H, operator)), operator);
    assert.deepEqual(pinnedBy(await j.pin(T0 + 2 * H, admin)), admin);
    for (const by of [mallory, siteAgent, undefined]) {
      const p = problems(await j.pin(T0 + 2 * H, by));
      assert.deepEqual(p.map((x) => x.field), ['source']);
      assert.match(p[0]!.reason, by ? new RegExp(`party "${by.party}" .* may not pin job "j": only its submitter \\("alice"\\) or an operator may`) : /unauthenticated pin/);
    }
  });

  test('a job whose submitter was not recorded (a v1 event, upcast) is left to operators', async () => {
    const j = setup({ v1: true });
    assert.equal(j.state.jobs.get('j')!.submittedBy, null);
    assert.match(problems(await j.pin(T0 + 2 * H, alice))[0]!.reason, /only its submitter \(not recorded for this job\) or an operator/);
    assert.deepEqual(pinnedBy(await j.pin(T0 + 2 * H, operator)), operator);
  });

  test('release: the submitter or an operator; a job not pinned is answered with nothing to record', async () => {
    const j = setup();
    assert.deepEqual(await j.release(alice), []);
    assert.match(problems(await j.release(mallory))[0]!.reason, /may not release job "j"/);
    j.evolve('compute.job.pinned', { jobId: 'j', startAt: iso(T0 + 2 * H), operator: 'x', reason: '' });
    assert.match(problems(await j.release(mallory))[0]!.reason, /may not release job "j"/);
    for (const by of [alice, operator]) {
      const d = await j.release(by);
      assert.equal(d[0]!.events[0]!.type, 'compute.job.released');
      assert.deepEqual((d[0]!.events[0]!.data as { by: unknown }).by, by);
    }
  });

  test('a pin is accepted exactly when it is on the half-hour inside the window and after now: release ≤ start ≤ deadline − work left, now < start', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 24 * 60 }), fc.integer({ min: -4, max: 60 }), async (releaseSlot, runtimeMin, slackMin, pinSlot) => {
        const earliestMs = T0 + releaseSlot * SLOT;
        const deadlineMs = earliestMs + (runtimeMin + slackMin) * 60_000;
        const j = setup({ earliestMs, deadlineMs, runtimeMin });
        const at = T0 + pinSlot * SLOT;
        const inside = at >= earliestMs && at > T0 && at + runtimeMin * 60_000 <= deadlineMs;
        const d = await j.pin(at, alice);
        if (inside) assert.deepEqual(pinnedBy(d), alice);
        else assert.ok(problems(d).every((p) => p.field === 'startAt'));
      }),
      { numRuns: 300 },
    );
  });

  test('a pin to a half-hour already under way or gone by is refused, naming the first the site can still plan; one from there on is taken', async () => {
    // A helper's review: at 03:10 a pin to 01:00 was answered ok and recorded, and the job ran
    // where the plan had it; the planner takes pins only from the half-hour it plans.
    const j = setup({ deadlineMs: T0 + 10 * H, nowMs: T0 + 3 * H + 10 * 60_000 });
    for (const at of [T0 + H, T0 + 3 * H]) {
      const p = problems(await j.pin(at, operator));
      assert.deepEqual(p.map((x) => x.field), ['startAt']);
      assert.match(p[0]!.reason, /before the next half-hour the site can plan \(2023-07-03T03:30:00\.000Z; it is 2023-07-03T03:10:00\.000Z\)/);
    }
    assert.deepEqual(pinnedBy(await j.pin(T0 + 3 * H + SLOT, operator)), operator);
    // At 02:00 sharp the 02:00 tick may have dispatched that half-hour already.
    const onTheHalfHour = setup({ deadlineMs: T0 + 10 * H, nowMs: T0 + 2 * H });
    assert.match(problems(await onTheHalfHour.pin(T0 + 2 * H, alice))[0]!.reason, /before the next half-hour the site can plan \(2023-07-03T02:30:00\.000Z/);
    assert.deepEqual(pinnedBy(await onTheHalfHour.pin(T0 + 2 * H + SLOT, alice)), alice);
  });

  test('a pin or release sent before the job\'s latest recorded pin or release is refused, field time: one that changed nothing, re-sent after a restart, cannot undo a later pin', async () => {
    // A helper's review, on a live site: a pin to 10:30 while pinned to 10:30 (nothing
    // recorded), then a pin to 11:30; after a restart the first was re-sent and pinned 10:30.
    const j = setup({ deadlineMs: T0 + 10 * H, nowMs: T0 + 20 * 60_000 });
    j.evolve('compute.job.pinned', { jobId: 'j', startAt: iso(T0 + 2 * H), operator: 'x', reason: '' }, T0 + 10 * 60_000);
    // Sent at 00:05, before the pin recorded at 00:10: a pin to where it was, and a release.
    for (const d of [await j.pin(T0 + H, alice, T0 + 5 * 60_000), await j.release(alice, T0 + 5 * 60_000)]) {
      const p = problems(d);
      assert.deepEqual(p.map((x) => x.field), ['time']);
      assert.match(p[0]!.reason, /sent at 2023-07-03T00:05:00\.000Z, more than 30 s before the job's latest pin or release \(recorded 2023-07-03T00:10:00\.000Z\)/);
    }
    // Sent after it: decided as ever (a pin to where it is records nothing).
    assert.deepEqual(await j.pin(T0 + 2 * H, alice, T0 + 15 * 60_000), []);
    // A sender's clock a few seconds behind the site's (a helper's review): its release right
    // after its own pin is taken.
    assert.equal((await j.release(alice, T0 + 10 * 60_000 - 2_000))[0]!.events[0]!.type, 'compute.job.released');
    assert.deepEqual(pinnedBy(await j.pin(T0 + 3 * H, alice, T0 + 15 * 60_000)), alice);
    // Before any pin or release, the time sent does not matter.
    const fresh = setup({ deadlineMs: T0 + 10 * H, nowMs: T0 + 20 * 60_000 });
    assert.deepEqual(await fresh.release(alice, T0 - 24 * H), []);
  });

  test('an outsider re-pinning 18 h past the deadline, and a pin off the half-hour, are refused with the reason', async () => {
    const j = setup();
    const late = problems(await j.pin(T0 + 22 * H, operator));
    assert.match(late[0]!.reason, /the job would end at 2023-07-03T23:00:00\.000Z, after its deadline 2023-07-03T04:00:00\.000Z .*its window is 2023-07-03T01:00:00\.000Z to 2023-07-03T03:00:00\.000Z/);
    assert.match(problems(await j.pin(T0 + 2 * H + 60_000, alice))[0]!.reason, /on the half-hour/);
  });

  test('a running job that cannot be preempted cannot be pinned, by anyone; a preemptible one can, and only its work left counts', async () => {
    const j = setup({ runtimeMin: 120, deadlineMs: T0 + 5 * H });
    j.evolve('compute.job.started', { jobId: 'j', at: iso(T0 + H), kw: 500 });
    for (const by of [alice, operator, admin]) {
      const p = problems(await j.pin(T0 + 2 * H, by));
      assert.equal(p[0]!.field, 'jobId');
      assert.match(p[0]!.reason, /running \(since 2023-07-03T01:00:00\.000Z\) and is not preemptible/);
    }
    const pre = setup({ runtimeMin: 120, deadlineMs: T0 + 5 * H, preemptible: true });
    pre.evolve('compute.job.started', { jobId: 'j', at: iso(T0 + H), kw: 500 });
    pre.evolve('site.meter.read', { periodStart: iso(T0 + H), jobs: [{ jobId: 'j', kw: 500 }], batterySocKwh: 0, importKwh: 0, priceGbpPerMwh: 0, carbonGPerKwh: 0 });
    // 30 of 120 min done: 90 min left, so 03:30 is the last start that meets 05:00.
    assert.deepEqual(pinnedBy(await pre.pin(T0 + 3.5 * H, alice)), alice);
    assert.match(problems(await pre.pin(T0 + 4 * H, alice))[0]!.reason, /90 min of work left/);
  });

  test('a finished job cannot be pinned', async () => {
    const j = setup();
    j.evolve('compute.job.completed', { jobId: 'j', at: iso(T0 + 2 * H), energyKwh: 500, costGbp: 1, carbonKg: 1, late: false });
    assert.match(problems(await j.pin(T0 + 3 * H, operator))[0]!.reason, /finished/);
  });
});
