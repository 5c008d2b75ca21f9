import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createComputeAgent, type ComputeCmd, type ComputeIn, type ComputeOut, type ComputeState } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import type { AgentContext, AgentInput, CommandMessage, Decision } from '../../../core/runtime/agent.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import type { Principal } from '../../../core/identity/index.ts';
import { silentLogger } from '../../../core/log/logger.ts';

/**
 * One outside submitter may not grow the plan without bound: every open job is in every
 * re-plan. Called through `decide` with a state built by `evolve` from what it decided.
 */

const T0 = Date.parse('2023-07-03T00:00:00Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const alice: Principal = { keyId: 'alice-1', party: 'alice', role: 'third-party' };
const bob: Principal = { keyId: 'bob-1', party: 'bob', role: 'third-party' };
const operator: Principal = { keyId: 'ops-1', party: 'ops', role: 'operator' };

let n = 0;

function setup(maxOpenJobsPerParty: number) {
  const agent = createComputeAgent({ site: DEFAULT_SITE, maxOpenJobsPerParty, planOptions: { inWorker: false } });
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
  const submit = async (jobId: string, by: Principal): Promise<Decision<ComputeOut>[]> => {
    const data = { jobId, class: 'training', powerKw: 100, runtimeMin: 60, earliestStart: iso(T0 + H), deadline: iso(T0 + 24 * H), slaClass: 'silver', preemptible: true };
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
    const s = setup(3);
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
