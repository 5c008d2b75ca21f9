// test-file-timeout: 120
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime, type CommandReply } from '../../core/runtime/runtime.ts';
import { commandTypeOfSubject } from '../../core/runtime/intake.ts';
import { embeddedStack } from '../support/embedded.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { createComputeAgent } from '../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../agents/compute/jobs/index.ts';
import { newKeyFile, SiteIdentity, signWithKey, type LoadedKey } from '../../core/identity/index.ts';
import { privateKeyFromSeed } from '../../core/ledger/keyring.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';

/** "Each command lives on its own subject and only there": a command on another command's subject is refused. */

const T0 = Date.parse('2023-07-03T00:00:00Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
let seq = 0;
const envelope = (type: string, source: string, data: unknown) => {
  const id = `cmd-${++seq}`;
  return { id, type, version: 1, time: iso(T0), source, correlationId: id, causationId: null, data };
};
const job = (id: string) => ({ jobId: id, class: 'training', powerKw: 500, runtimeMin: 60, earliestStart: iso(T0 + H), deadline: iso(T0 + 4 * H), slaClass: 'silver', preemptible: false });

test('commandTypeOfSubject maps a subject to the one command type it carries', () => {
  const commands = { submit: 'compute.job.submit', pin: 'compute.job.pin' };
  assert.equal(commandTypeOfSubject('caco.s.cmd.compute.pin', 's', 'compute', commands), 'compute.job.pin');
  assert.equal(commandTypeOfSubject('caco.s.cmd.compute.anything', 's', 'compute', commands), null);
  assert.equal(commandTypeOfSubject('caco.s.cmd.compute.toString', 's', 'compute', commands), null, 'no prototype keys');
  assert.equal(commandTypeOfSubject('caco.other.cmd.compute.pin', 's', 'compute', commands), null);
});

describe('the compute agent takes a command only on its own subject', { timeout: 90_000 }, () => {
  test('submit on cmd.compute.pin, on cmd.compute.anything, pin on submit and another agent\'s command on submit are refused as wrong-subject; malformed JSON and envelopes are bad-request, refused data schema; the right subject works', async () => {
    const s = embeddedStack('cmd-subjects');
    const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
    const rt = new Runtime({ ...s, site: 'sub', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', identity });
    rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
    await rt.start();
    try {
      const k = newKeyFile({ party: 'alice', role: 'third-party' });
      const alice: LoadedKey = { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
      await identity.admin.add(alice);
      const send = async (subjectName: string, body: unknown): Promise<CommandReply> => {
        const res = await s.bus.request(`caco.sub.cmd.compute.${subjectName}`, Buffer.from(JSON.stringify(body)), { timeoutMs: 10_000 });
        return JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
      };
      const before: Envelope[] = [];
      for await (const e of s.store.readAll()) before.push(e);
      const cases: Array<[string, unknown, RegExp]> = [
        ['pin', signWithKey(envelope('compute.job.submit', 'alice', job('w1')), alice), /^wrong subject: "caco\.sub\.cmd\.compute\.pin" carries only compute\.job\.pin; send compute\.job\.submit on its own subject/],
        ['anything', signWithKey(envelope('compute.job.submit', 'alice', job('w2')), alice), /^wrong subject: "caco\.sub\.cmd\.compute\.anything" carries no command/],
        ['submit', signWithKey(envelope('compute.job.pin', 'alice', { jobId: 'w3', startAt: iso(T0 + 2 * H), operator: 'me' }), alice), /^wrong subject: .*carries only compute\.job\.submit/],
      ];
      for (const [subject, body, reason] of cases) {
        const r = await send(subject, body);
        assert.equal(r.ok, false, JSON.stringify(r));
        assert.equal(!r.ok && r.error.code, 'wrong-subject', subject);
        assert.match(r.ok ? '' : r.error.reason, reason);
      }
      // Every refusal carries a code (docs/external-agent.md, section 3): another agent's command
      // on this subject is wrong-subject too (it was "unknown message type", with no code), and
      // bytes that are not JSON, not a command envelope, or data its schema refuses had none.
      const rawCases: Array<[string, string, string, RegExp]> = [
        ['another agent\'s command', JSON.stringify(signWithKey(envelope('flex.request.handle', 'alice', {}), alice)), 'wrong-subject', /^wrong subject: "caco\.sub\.cmd\.compute\.submit" carries only compute\.job\.submit; send flex\.request\.handle on its own subject/],
        ['malformed JSON', '{"id": ', 'bad-request', /^malformed JSON/],
        ['not a command envelope', JSON.stringify({ hello: 'world' }), 'bad-request', /^not a command envelope/],
        ['data its schema refuses', JSON.stringify(signWithKey(envelope('compute.job.submit', 'alice', { jobId: 'w5' }), alice)), 'schema', /^payload fails the compute\.job\.submit v1 schema/],
        ['a type no agent takes', JSON.stringify(signWithKey(envelope('ext.alice.nothing', 'alice', {}), alice)), 'schema', /^unknown message type "ext\.alice\.nothing"/],
      ];
      for (const [name, bytes, code, reason] of rawCases) {
        const res = await s.bus.request('caco.sub.cmd.compute.submit', Buffer.from(bytes), { timeoutMs: 10_000 });
        const r = JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
        assert.equal(!r.ok && r.error.code, code, `${name}: ${JSON.stringify(r)}`);
        assert.match(r.ok ? '' : r.error.reason, reason, name);
      }
      await rt.settle();
      const after: Envelope[] = [];
      for await (const e of s.store.readAll()) after.push(e);
      assert.equal(after.length, before.length, 'nothing was written for a command on the wrong subject');
      const good = await send('submit', signWithKey(envelope('compute.job.submit', 'alice', job('w4')), alice));
      assert.equal(good.ok, true, JSON.stringify(good));
      assert.ok(good.ok && good.events.some((e) => e.type === 'compute.job.submitted'));
    } finally {
      await rt.stop();
      await s.close();
    }
  });
});
