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
      assert.equal(await count(s.store, 'compute.job.rejected'), 10);
    } finally {
      await rt.stop();
      await s.close();
    }
  });
});
