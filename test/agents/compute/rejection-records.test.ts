// test-file-timeout: 120
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime, type CommandReply } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { createComputeAgent } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import { newKeyFile, SiteIdentity, signWithKey, type LoadedKey } from '../../../core/identity/index.ts';
import { privateKeyFromSeed } from '../../../core/ledger/keyring.ts';
import { advanceAndSettle } from '../../../sim/clock-driver.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { CommandRefused, eventOf } from '../../../core/runtime/index.ts';
import { JobRejected } from '../../../schemas/index.ts';
import { RejectionRecords } from '../../../agents/compute/rejection-records.ts';

/**
 * A registered tenant that sends submissions it knows will fail must not grow the ledger at its
 * whole command rate: its refusals are recorded up to a rate, then answered without a record.
 */

const iso = (ms: number) => new Date(ms).toISOString();
const H = 3_600_000;

function party(name: string, role: 'third-party' | 'operator'): LoadedKey {
  const k = newKeyFile({ party: name, role });
  return { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
}

async function count(store: { readAll(): AsyncIterable<Envelope> }, type: string): Promise<number> {
  let n = 0;
  for await (const e of store.readAll()) if (e.type === type) n++;
  return n;
}

describe('refused commands of a third party', { timeout: 90_000 }, () => {
  test('the operator is told once per spell of unrecorded refusals, not once per refusal', () => {
    const records = new RejectionRecords({ perSecond: 1, burst: 1 });
    const warned: unknown[] = [];
    const log = { warn: (o: unknown) => void warned.push(o) };
    const by = { keyId: 'm-1', party: 'mallory', role: 'third-party' as const };
    const refusal = () => [{ stream: 'intake-main', events: [eventOf(JobRejected, { jobId: 'x', problems: [{ field: 'deadlineMs', reason: 'too early' }] })] }];
    assert.equal(records.admit(refusal(), by, 0, log).length, 1, 'the first is recorded');
    for (let i = 0; i < 5; i++) assert.throws(() => records.admit(refusal(), by, 10, log), CommandRefused);
    assert.equal(warned.length, 1);
    assert.equal(records.admit(refusal(), by, 5_000, log).length, 1, 'recorded again once the rate allows');
    assert.throws(() => records.admit(refusal(), by, 5_001, log), CommandRefused);
    assert.equal(warned.length, 2, 'a new spell is told again');
  });

  test('the refusals not recorded are counted into one summary before the party\'s next recorded refusal', () => {
    const records = new RejectionRecords({ perSecond: 1, burst: 1 });
    const by = { keyId: 'm-1', party: 'mallory', role: 'third-party' as const };
    const refusal = (field: string) => [{ stream: 'intake-main', events: [eventOf(JobRejected, { jobId: 'x', problems: [{ field, reason: 'too early' }] })] }];
    assert.equal(records.admit(refusal('a'), by, 0).at(0)!.events.length, 1);
    for (let i = 0; i < 7; i++) assert.throws(() => records.admit(refusal(i === 6 ? 'lastField' : 'b'), by, 100 + i * 10));
    const next = records.admit(refusal('c'), by, 5_000);
    assert.equal(next.length, 1);
    const [summary, recorded] = next[0]!.events;
    assert.equal(summary!.type, JobRejected.type);
    const p = (summary!.data as unknown as { problems: Array<{ field: string; reason: string }> }).problems;
    assert.equal(p[0]!.field, '(unrecorded refusals)');
    assert.match(p[0]!.reason, /^7 refusals of party "mallory" from 1970-01-01T00:00:00\.100Z to 1970-01-01T00:00:00\.160Z answered, not recorded \(over 1 a second after 1\); the last: lastField: too early$/);
    assert.equal((recorded!.data as unknown as { problems: Array<{ field: string }> }).problems[0]!.field, 'c', 'then the refusal itself');
    assert.equal(records.admit(refusal('d'), by, 10_000)[0]!.events.length, 1, 'one summary per spell');
    assert.ok(cacoRegistry().decode(summary!.type, 1, summary!.data).ok, 'the summary is a valid compute.job.rejected');
  });

  test('are recorded up to a burst, then answered "refused" with every problem and not recorded; the rate refills with time; an operator is not limited', async () => {
    const s = embeddedStack('rejection-records');
    const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
    const rt = new Runtime({ ...s, site: 'rr', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', identity });
    rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 }, rejectionRecords: { perSecond: 1, burst: 3 } }));
    await rt.start();
    try {
      const mallory = party('mallory', 'third-party');
      const ops = party('ops', 'operator');
      for (const p of [mallory, ops]) await identity.admin.add(p);
      let n = 0;
      const bad = (who: LoadedKey) => {
        const id = `rr-${++n}`;
        const now = s.clock.now();
        // Deadline before the earliest start: refused by the compute agent on its data.
        return signWithKey({ id, type: 'compute.job.submit', version: 1, time: iso(now), source: who.party, correlationId: id, causationId: null, data: { jobId: `bad-${n}`, class: 'training', powerKw: 100, runtimeMin: 60, earliestStart: iso(now + 5 * H), deadline: iso(now + H), slaClass: 'silver', preemptible: true } }, who);
      };
      const send = async (body: unknown): Promise<CommandReply> => JSON.parse(Buffer.from((await s.bus.request('caco.rr.cmd.compute.submit', Buffer.from(JSON.stringify(body)), { timeoutMs: 10_000 })).data).toString('utf8')) as CommandReply;

      const replies: CommandReply[] = [];
      for (let i = 0; i < 6; i++) replies.push(await send(bad(mallory)));
      assert.deepEqual(replies.map((r) => (r.ok ? 'recorded' : r.error.code)), ['recorded', 'recorded', 'recorded', 'refused', 'refused', 'refused']);
      const unrecorded = replies[3]!;
      assert.ok(!unrecorded.ok);
      assert.match(unrecorded.error.reason, /^refused: deadline\w*: .*\(not recorded: party "mallory" has had 3 refusals recorded, then 1 a second; retry in \d+ ms once fixed\)$/);
      assert.ok(unrecorded.error.problems?.some((p) => p.path.startsWith('deadline')), JSON.stringify(unrecorded));
      assert.equal(await count(s.store, 'compute.job.rejected'), 3);

      // An operator's refusals are all recorded.
      for (let i = 0; i < 5; i++) assert.equal((await send(bad(ops))).ok, true);
      assert.equal(await count(s.store, 'compute.job.rejected'), 8);

      // Two seconds on, two more of mallory's are recorded.
      await advanceAndSettle(s.clock, rt, s.clock.now() + 2_000);
      const later = [await send(bad(mallory)), await send(bad(mallory)), await send(bad(mallory))];
      assert.deepEqual(later.map((r) => (r.ok ? 'recorded' : r.error.code)), ['recorded', 'recorded', 'refused']);
      // The two recorded, and before the first of them the summary of the three that were not.
      assert.equal(await count(s.store, 'compute.job.rejected'), 11);
      const summaries: string[] = [];
      for await (const e of s.store.readAll()) {
        const p = e.type === JobRejected.type ? (e.data as { problems: Array<{ field: string; reason: string }> }).problems[0] : undefined;
        if (p?.field === '(unrecorded refusals)') summaries.push(p.reason);
      }
      assert.equal(summaries.length, 1);
      assert.match(summaries[0]!, /^3 refusals of party "mallory" /);
    } finally {
      await rt.stop();
      await s.close();
    }
  });
});
