import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createComputeAgent, type ComputeCmd, type ComputeIn, type ComputeOut, type ComputeState } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import type { AgentContext, AgentInput, CommandMessage, Decision } from '../../../core/runtime/agent.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import type { Principal } from '../../../core/identity/index.ts';
import { silentLogger } from '../../../core/log/logger.ts';
import { T0, H, iso, alice, bob, operator } from './fixtures/tenants.ts';

/**
 * One outside submitter may not grow the plan without bound: every open job is in every
 * re-plan; nor take the site's power from other tenants (200 gold non-preemptible 50 kW jobs
 * were the whole 10 MW, and every other tenant's jobs missed their deadlines). Called through
 * `decide` with a state built by `evolve` from what it decided.
 */

let n = 0;

type Power = { readonly powerKw: number } | { readonly gpuCount: number };

function setup(limits: { readonly maxOpenJobsPerParty?: number; readonly maxOpenKwPerParty?: number | 'off' } = {}) {
  const agent = createComputeAgent({ site: DEFAULT_SITE, ...limits, planOptions: { inWorker: false } });
  let state: ComputeState = agent.initialState();
  const ctx: AgentContext = { site: 't', agent: 'compute', now: () => T0, nowIso: () => iso(T0), log: silentLogger(), newId: () => `id${++n}`, setTimer: () => undefined, publish: async () => undefined };
  const revisions = new Map<string, number>();
  const fold = (decisions: Decision<ComputeOut>[]) => {
    for (const d of decisions) {
      for (const e of d.events) {
        const revision = (revisions.get(d.stream) ?? -1) + 1;
        revisions.set(d.stream, revision);
        n++;
        const env = { id: `e${n}`, type: e.type, version: e.version, stream: d.stream, revision, position: n, time: iso(T0), source: 'compute', correlationId: `c${n}`, causationId: null, data: e.data, prevHash: '0'.repeat(64), hash: '0'.repeat(64), sig: 'x' } as Envelope<ComputeIn>;
        state = agent.evolve(state, env);
      }
    }
  };
  const submit = async (jobId: string, by: Principal, power: Power = { powerKw: 100 }): Promise<Decision<ComputeOut>[]> => {
    const data = { jobId, class: 'training', ...power, runtimeMin: 60, earliestStart: iso(T0 + H), deadline: iso(T0 + 24 * H), slaClass: 'silver', preemptible: true };
    const input: AgentInput<ComputeIn, ComputeCmd> = { kind: 'command', id: `cmd${++n}`, correlationId: `cmd${n}`, command: { id: `cmd${n}`, type: 'compute.job.submit', version: 1, time: iso(T0), source: by.party, correlationId: `cmd${n}`, causationId: null, data, principal: by } as CommandMessage<ComputeCmd> };
    const out = (await agent.decide(input, state, ctx)) as Decision<ComputeOut>[];
    fold(out);
    return out;
  };
  const complete = (jobId: string) => fold([{ stream: `job-${jobId}`, events: [{ type: 'compute.job.completed', version: 1, data: { jobId, at: iso(T0 + 2 * H), energyKwh: 100, costGbp: 10, carbonKg: 20, late: false } }] } as unknown as Decision<ComputeOut>]);
  return { submit, complete, state: () => state };
}

const refusal = (out: Decision<ComputeOut>[]) => {
  const e = out.flatMap((d) => d.events).find((x) => x.type === 'compute.job.rejected');
  return e ? (e.data as { readonly problems: ReadonlyArray<{ readonly field: string; readonly reason: string }> }).problems : undefined;
};

describe('open jobs per third party', () => {
  test('a third party is refused past its open jobs, naming the limit; others, the site’s operators and a finished job make room', async () => {
    const s = setup({ maxOpenJobsPerParty: 3 });
    for (const id of ['a1', 'a2', 'a3']) assert.equal(refusal(await s.submit(id, alice)), undefined, id);
    const over = refusal(await s.submit('a4', alice));
    assert.ok(over, 'the fourth open job of alice is refused');
    assert.equal(over[0]!.field, 'source');
    assert.match(over[0]!.reason, /^party "alice" has 3 jobs not yet done, the most one third party may have open here/);
    assert.equal(s.state().jobs.has('a4'), false);
    // Another party has its own allowance; an operator is not limited.
    assert.equal(refusal(await s.submit('b1', bob)), undefined);
    for (const id of ['o1', 'o2', 'o3', 'o4']) assert.equal(refusal(await s.submit(id, operator)), undefined, id);
    // A finished job frees its place.
    s.complete('a1');
    assert.equal(refusal(await s.submit('a4', alice)), undefined, 'room after a1 finished');
    assert.ok(refusal(await s.submit('a5', alice)));
  });
});

describe('open kW per third party', () => {
  test('by default a third party may have half the site open; past it the job is refused naming powerKw, the party, its kW and the limit', async () => {
    const s = setup();
    // 100 jobs of 50 kW: 5,000 kW, half of the default site's 10 MW.
    for (let i = 0; i < 100; i++) assert.equal(refusal(await s.submit(`a${i}`, alice, { powerKw: 50 })), undefined, `a${i}`);
    const over = refusal(await s.submit('a100', alice, { powerKw: 50 }));
    assert.ok(over, 'the 101st 50 kW job of alice is refused');
    assert.equal(over.length, 1);
    assert.equal(over[0]!.field, 'powerKw');
    assert.match(over[0]!.reason, /^party "alice" has 5000 kW of jobs not yet done; this job's 50 kW would take it past 5000 kW, the most one third party may have open here \(maxOpenKwPerParty, CACO_MAX_OPEN_KW_PER_PARTY\)/);
    assert.equal(s.state().jobs.has('a100'), false);
    // Another party has its own allowance, and the site's operators are not limited.
    assert.equal(refusal(await s.submit('b1', bob, { powerKw: 5_000 })), undefined, 'bob: all of his own half');
    assert.ok(refusal(await s.submit('b2', bob, { powerKw: 1 })), 'but no more');
    for (const id of ['o1', 'o2']) assert.equal(refusal(await s.submit(id, operator, { powerKw: 5_000 })), undefined, id);
    // A finished job frees its kW.
    s.complete('a0');
    assert.equal(refusal(await s.submit('a100', alice, { powerKw: 50 })), undefined, 'room after a0 finished');
  });

  test('the job is counted at its resolved power: from gpuCount too', async () => {
    const s = setup({ maxOpenKwPerParty: 1_000 });
    assert.equal(refusal(await s.submit('a1', alice, { powerKw: 600 })), undefined);
    // 600 GPUs × 0.7 kW = 420 kW; 600 + 420 > 1,000.
    const over = refusal(await s.submit('a2', alice, { gpuCount: 600 }));
    assert.equal(over?.[0]?.field, 'powerKw');
    assert.match(over[0]!.reason, /has 600 kW of jobs not yet done; this job's 420 kW would take it past 1000 kW/);
    // 571 GPUs = 399.7 kW fits.
    assert.equal(refusal(await s.submit('a3', alice, { gpuCount: 571 })), undefined);
    assert.equal(refusal(await s.submit('b1', bob, { gpuCount: 1_000 })), undefined, 'bob is not charged alice’s kW');
  });

  test("'off' takes any power from a third party", async () => {
    const s = setup({ maxOpenKwPerParty: 'off' });
    for (const id of ['a1', 'a2', 'a3']) assert.equal(refusal(await s.submit(id, alice, { powerKw: 4_000 })), undefined, id);
  });
});
