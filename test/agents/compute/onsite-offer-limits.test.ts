// test-file-timeout: 180
/**
 * An outside operator's `onsite.energy.offered` must not buy a MILP solve and a ledger write
 * per fact: re-plans for outside facts are coalesced (at most one per spacing, read from the
 * clock), an operator has at most so many live offers, and an offer that cannot change a plan
 * (its window ended, or starts beyond the 48 h horizon) is not used. Driven through `decide`
 * with a state built by `evolve`, the offer folded before it is decided on, as the runtime does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createComputeAgent, type ComputeAgentDeps, type ComputeIn, type ComputeOut, type ComputeState } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import type { AgentContext, Decision } from '../../../core/runtime/agent.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { silentLogger, type Logger } from '../../../core/log/logger.ts';
import { foldOnsiteFact, type OnsiteBattery, type OnsiteOffer } from '../../../agents/compute/onsite-offers.ts';

const T0 = Date.parse('2023-07-03T00:00:00Z');
const H = 3_600_000;
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const alice = { keyId: 'alice-1', party: 'alice', role: 'third-party' } as const;

function setup(over: Partial<ComputeAgentDeps> = {}, jobs = 20) {
  const agent = createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 20 }, ...over });
  let state: ComputeState = agent.initialState();
  let now = T0 + MIN;
  let n = 0;
  const warned: Array<{ obj: unknown; msg: unknown }> = [];
  const told: Array<{ obj: unknown; msg: unknown }> = [];
  const log: Logger = silentLogger();
  log.warn = ((obj: unknown, msg?: unknown) => void warned.push({ obj, msg })) as Logger['warn'];
  log.info = ((obj: unknown, msg?: unknown) => void told.push({ obj, msg })) as Logger['info'];
  const ctx: AgentContext = { site: 't', agent: 'compute', now: () => now, nowIso: () => iso(now), log, newId: () => `id${++n}`, setTimer: () => undefined, publish: async () => undefined };
  const revisions = new Map<string, number>();
  const envelope = (stream: string, source: string, e: { type: string; version?: number; data: unknown }) => {
    const revision = (revisions.get(stream) ?? -1) + 1;
    revisions.set(stream, revision);
    n++;
    return { id: `e${n}`, type: e.type, version: e.version ?? 1, stream, revision, position: n, time: iso(now), source, correlationId: `c${n}`, causationId: null, data: e.data, prevHash: '0'.repeat(64), hash: '0'.repeat(64), sig: 'x' } as Envelope<ComputeIn>;
  };
  /** Every event written, and its bytes. */
  const written: Array<{ type: string; bytes: number }> = [];
  const fold = (decisions: ReadonlyArray<Decision<ComputeOut>>) => {
    for (const d of decisions) {
      for (const e of d.events) {
        written.push({ type: e.type, bytes: Buffer.byteLength(JSON.stringify(e.data)) });
        state = agent.evolve(state, envelope(d.stream, 'compute', e));
      }
    }
  };
  for (let i = 0; i < jobs; i++) {
    const data = { jobId: `j${i}`, class: 'training', powerKw: 500, gpuCount: null, runtimeMin: 120, runtimeSource: 'given', runtimeModel: null, earliestStart: iso(T0), deadline: iso(T0 + 40 * H), slaClass: 'silver', preemptible: false, submittedBy: alice };
    state = agent.evolve(state, envelope(`job-j${i}`, 'compute', { type: 'compute.job.submitted', version: 2, data }));
  }
  /** An operator appends an offer through the gateway (its own stream): folded, then decided on; what it decided is folded. */
  const offer = async (source: string, d: { assetId: string; fromH: number; hours: number; price?: number; powerKw?: number }) => {
    const data = { assetId: d.assetId, from: iso(T0 + d.fromH * H), to: iso(T0 + (d.fromH + d.hours) * H), powerKw: d.powerKw ?? 8000, priceGbpPerMwh: d.price ?? -500, carbonGPerKwh: 1 };
    const e = envelope(`ext-${source}`, source, { type: 'onsite.energy.offered', data });
    state = agent.evolve(state, e);
    const out = (await agent.decide({ kind: 'event', id: e.id, correlationId: e.correlationId, event: e }, state, ctx)) as Decision<ComputeOut>[];
    fold(out);
    return out;
  };
  const tick = async (atMs: number) => {
    now = atMs;
    const out = (await agent.decide({ kind: 'timer', id: `t${atMs}`, correlationId: `t${atMs}`, name: 'tick', data: null, atMs }, state, ctx)) as Decision<ComputeOut>[];
    fold(out);
    return out;
  };
  const offersOf = (source: string) => [...state.onsiteOffers.values()].filter((o) => o.source === source).map((o) => o.assetId).sort();
  const plans = () => written.filter((w) => w.type === 'compute.plan.published').length;
  return { offer, tick, offersOf, plans, written, warned, told, state: () => state, setNow: (ms: number) => void (now = ms) };
}

const planTriggers = (out: ReadonlyArray<Decision<ComputeOut>>) => out.flatMap((d) => d.events).flatMap((e) => (e.type === 'compute.plan.published' ? [e.data.trigger] : []));

describe('outside energy offers are bounded', { timeout: 170_000 }, () => {
  test('a burst of offers costs one re-plan: the first re-plans at once, the rest wait for the next plan (the half-hourly tick), which plans on them', async () => {
    const s = setup();
    await s.tick(T0);
    const afterTick = { plans: s.plans(), events: s.written.length };
    // One key toggling one offer between two windows, a minute apart: the reviewer's repro.
    for (let i = 0; i < 10; i++) {
      s.setNow(T0 + (2 + i) * MIN);
      await s.offer('mallory', { assetId: 'pv', fromH: i % 2 === 0 ? 2 : 30, hours: 3 });
    }
    assert.equal(s.plans() - afterTick.plans, 1, 'ten offers in twelve minutes: one re-plan, not ten');
    const events = s.written.length - afterTick.events;
    assert.ok(events <= 22, `one re-plan's events (the moved jobs and the plan), not ten re-plans' (${events})`);
    // The tick at 00:30 plans on the latest offer (window 30:00-33:00, at -£500/MWh), from
    // scratch: an incremental plan would keep the (non-preemptible) starts the first offer drew.
    const ticked = await s.tick(T0 + 30 * MIN);
    assert.deepEqual(planTriggers(ticked), ['half-hourly re-plan']);
    const starts = [...s.state().jobs.values()].map((r) => r.plannedStartMs!);
    assert.ok(starts.some((t) => t >= T0 + 30 * H && t < T0 + 33 * H), 'the next plan used the last offer of the burst');
    // Past the spacing an offer re-plans at once again.
    s.setNow(T0 + 45 * MIN);
    assert.deepEqual(planTriggers(await s.offer('mallory', { assetId: 'pv', fromH: 2, hours: 3 })), ['energy offered by mallory (pv)']);
    assert.equal(s.plans() - afterTick.plans, 3);
  });

  test('an operator has at most so many live offers: past it a new asset\'s offer is not used, re-plans nothing, and is told once per spell', async () => {
    const s = setup({ maxOnsiteOffersPerSource: 3, onsiteReplanSpacingMs: 0 }, 2);
    for (const a of ['a0', 'a1', 'a2']) assert.equal(planTriggers(await s.offer('mallory', { assetId: a, fromH: 2, hours: 3 })).length, 1, a);
    for (const a of ['a3', 'a4', 'a5']) assert.deepEqual(await s.offer('mallory', { assetId: a, fromH: 2, hours: 3 }), [], a);
    assert.deepEqual(s.offersOf('mallory'), ['a0', 'a1', 'a2']);
    assert.equal(s.warned.length, 1, 'told once, not once per offer');
    assert.deepEqual(s.warned[0]!.obj, { source: 'mallory', assetId: 'a3', reason: 'mallory has 3 live offers, the most one operator may have' });
    // Another operator is not held to mallory's offers; re-offering a live asset is always used.
    assert.equal(planTriggers(await s.offer('solar-1', { assetId: 'a3', fromH: 2, hours: 3 })).length, 1);
    assert.equal(planTriggers(await s.offer('mallory', { assetId: 'a1', fromH: 4, hours: 3, price: 5 })).length, 1);
    // The spell ends when one of mallory's offers is used again, with a count of those that were not.
    assert.equal(s.told.length, 1);
    assert.match(String(s.told[0]!.msg), /not used/);
    assert.deepEqual(s.told[0]!.obj, { source: 'mallory', notUsed: 3, from: iso(T0 + MIN), to: iso(T0 + MIN) });
    // Withdrawing (powerKw 0) frees the place.
    assert.equal(planTriggers(await s.offer('mallory', { assetId: 'a0', fromH: 2, hours: 3, powerKw: 0 })).length, 1);
    assert.deepEqual(s.offersOf('mallory'), ['a1', 'a2']);
    assert.equal(planTriggers(await s.offer('mallory', { assetId: 'a5', fromH: 2, hours: 3 })).length, 1);
    assert.deepEqual(s.offersOf('mallory'), ['a1', 'a2', 'a5']);
  });

  test('an offer whose window has ended, or that starts beyond the 48 h horizon, is not used', async () => {
    const s = setup({ onsiteReplanSpacingMs: 0 }, 2);
    s.setNow(T0 + 3 * H);
    assert.deepEqual(await s.offer('mallory', { assetId: 'old', fromH: 0, hours: 3 }), []);
    assert.deepEqual(await s.offer('mallory', { assetId: 'far', fromH: 3 + 48, hours: 3 }), []);
    assert.deepEqual(s.offersOf('mallory'), []);
    assert.equal(s.warned.length, 1);
    assert.match((s.warned[0]!.obj as { reason: string }).reason, /ended/);
    // Within the horizon, and one that runs on into it, are.
    assert.equal(planTriggers(await s.offer('mallory', { assetId: 'near', fromH: 3 + 47, hours: 3 })).length, 1);
    assert.equal(planTriggers(await s.offer('mallory', { assetId: 'now', fromH: 2, hours: 3 })).length, 1);
    assert.deepEqual(s.offersOf('mallory'), ['near', 'now']);
  });
});

describe('outside battery states are bounded', () => {
  test('an operator\'s battery states are kept for at most so many assets: a new asset\'s replaces the one reported longest ago', () => {
    const offers = new Map<string, OnsiteOffer>();
    const batteries = new Map<string, OnsiteBattery>();
    const limits = { maxOffersPerSource: 3 };
    const report = (source: string, assetId: string, atH: number) =>
      foldOnsiteFact(offers, batteries, { id: `${source}-${assetId}-${atH}`, type: 'onsite.battery.state.reported', version: 1, stream: `ext-${source}`, source, time: iso(T0 + atH * H), data: { assetId, stateOfChargeKwh: 10, capacityKwh: 20, maxDischargeKw: 5, maxChargeKw: 5, at: iso(T0 + atH * H) } } as unknown as Envelope, limits);
    const of = (source: string) => [...batteries.values()].filter((b) => b.source === source).map((b) => b.assetId).sort();
    for (const [a, atH] of [['b0', 3], ['b1', 1], ['b2', 4], ['b3', 0], ['b4', 2]] as const) assert.equal(report('mallory', a, atH), true);
    // b3 came when b1 (01:00) was the oldest of three; b4 when b3 (00:00) was.
    assert.deepEqual(of('mallory'), ['b0', 'b2', 'b4']);
    report('solar-1', 'b0', 0);
    report('mallory', 'b0', 5);
    assert.deepEqual(of('mallory'), ['b0', 'b2', 'b4'], 'a newer report of a kept asset replaces it and drops nothing');
    assert.deepEqual(of('solar-1'), ['b0'], 'another operator is not held to mallory\'s');
  });
});
