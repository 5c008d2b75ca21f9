import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { exampleRegistry } from '../../example/messages.ts';
import { meterAgent, tallyAgent, type TallyState } from '../../example/agents.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { hashEvent } from '../../../core/ledger/seal.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import type { DeadLetter } from '../../../core/runtime/dead-letter.ts';

const HOUR = 3600 * 1000;

async function setup(seed: string, tallyInput: 'store' | 'bus' = 'store') {
  const s = embeddedStack(seed);
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: exampleRegistry(), delivery: 'lockstep' });
  rt.add(meterAgent(seed, s.clock.now() + 2 * HOUR));
  const tally = rt.add(tallyAgent(), { input: tallyInput });
  const dlq: DeadLetter[] = [];
  await s.bus.subscribe('caco.t.dlq', (m) => void dlq.push(JSON.parse(Buffer.from(m.data).toString()) as DeadLetter));
  await rt.start();
  while (s.clock.advanceToNextTimer()) await rt.settle();
  await rt.settle();
  const snapshot = async () => {
    const out: Envelope[] = [];
    for await (const e of s.store.readAll()) out.push(e);
    return out.map((e) => e.hash).join();
  };
  return { s, rt, tally, dlq, snapshot };
}

const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

function command(over: Record<string, unknown> = {}) {
  return { id: 'cmd-1', type: 'example.tally.reset', version: 1, time: '2023-07-03T02:00:00Z', source: 'operator', correlationId: 'corr-1', causationId: null, data: { meter: 'main', reason: 'new month' }, ...over };
}

test('a valid command is handled and answered with the events it caused; a repeat is not applied twice', async () => {
  const { s, rt, tally } = await setup('cmd-ok');
  const reply = await rt.send('tally', 'reset', { meter: 'main', reason: 'audit' }, { id: 'reset-1' });
  assert.equal(reply.ok, true);
  assert.equal(reply.ok && reply.events[0]?.type, 'example.total.reset');
  assert.equal((tally.state as TallyState).totalKwh, 0);
  const again = await rt.send('tally', 'reset', { meter: 'main', reason: 'audit' }, { id: 'reset-1' });
  assert.deepEqual(again, { ok: true, duplicate: true, events: [] });
  await rt.stop();
  await s.close();
});

type Signer = (c: Record<string, unknown>) => Promise<Record<string, unknown>>;
for (const c of [
  { name: 'malformed JSON', bytes: async () => enc('{"id": "x", '), reason: /malformed JSON/ },
  { name: 'a payload that fails its schema', bytes: async (sign: Signer) => enc(await sign(command({ data: { meter: '', reason: 7 } }))), reason: /fails the example.tally.reset v1 schema/, path: 'data.reason' },
  { name: 'an unknown message type', bytes: async (sign: Signer) => enc(await sign(command({ type: 'example.tally.explode' }))), reason: /unknown message type "example.tally.explode"/ },
  { name: 'no signature', bytes: async () => enc(command()), reason: /^unsigned/ },
  {
    name: 'a bad signature',
    bytes: async (sign: Signer) => enc({ ...(await sign(command())), data: { meter: 'main', reason: 'tampered' } }),
    reason: /bad signature/,
  },
]) {
  test(`a command with ${c.name} goes to the DLQ with the reason and the original payload; the agent keeps running and the ledger is unchanged`, async () => {
    const { s, rt, tally, dlq, snapshot } = await setup(`dlq-${c.name}`);
    const before = await snapshot();
    const stateBefore = tally.state;
    const bytes = await c.bytes((x) => rt.identity.sign(x as ReturnType<typeof command>));
    const res = await s.bus.request('caco.t.cmd.tally.reset', bytes, { timeoutMs: 2000 });
    const reply = JSON.parse(Buffer.from(res.data).toString()) as { ok: boolean; error?: { reason: string; problems?: Array<{ path: string }> } };
    assert.equal(reply.ok, false);
    assert.match(reply.error!.reason, c.reason);
    await s.bus.flush();
    assert.equal(dlq.length, 1);
    assert.match(dlq[0]!.reason, c.reason);
    assert.equal(dlq[0]!.payload, Buffer.from(bytes).toString('utf8'));
    assert.equal(dlq[0]!.agent, 'tally');
    if (c.path) assert.ok(dlq[0]!.problems?.some((p) => p.path === c.path), JSON.stringify(dlq[0]!.problems));
    assert.equal(await snapshot(), before, 'nothing already stored changes');
    assert.equal(tally.state, stateBefore);
    // Still alive: a good command works afterwards.
    const ok = await rt.send('tally', 'reset', { meter: 'main', reason: 'after' });
    assert.equal(ok.ok, true);
    await rt.stop();
    await s.close();
  });
}

test('a signed command refused for where it came keeps its fields in the DLQ but not its signature: re-sent from there, it is refused', async () => {
  // A helper's review: a signed command refused rate-limited was dead-lettered whole, and a
  // reader of the DLQ (an auditor) re-sent it later, taken in its signer's name.
  const { s, rt, dlq, snapshot } = await setup('dlq-resend');
  try {
    const signed = await rt.identity.sign(command({ id: 'cmd-resend' }) as ReturnType<typeof command>);
    const res = await s.bus.request('caco.t.cmd.tally.nothing', enc(signed), { timeoutMs: 2000 });
    const reply = JSON.parse(Buffer.from(res.data).toString()) as { ok: boolean; error?: { code?: string } };
    assert.equal(reply.error?.code, 'wrong-subject');
    await s.bus.flush();
    assert.equal(dlq.length, 1);
    const kept = JSON.parse(dlq[0]!.payload as string) as Record<string, unknown>;
    assert.deepEqual({ ...kept, sig: undefined }, { ...(signed as Record<string, unknown>), sig: undefined }, 'every field but the signature is kept to debug with');
    assert.notEqual(kept['sig'], (signed as Record<string, unknown>)['sig']);
    const before = await snapshot();
    const again = await s.bus.request('caco.t.cmd.tally.reset', Buffer.from(dlq[0]!.payload as string), { timeoutMs: 2000 });
    const refused = JSON.parse(Buffer.from(again.data).toString()) as { ok: boolean; error?: { code?: string } };
    assert.equal(refused.ok, false);
    assert.match(refused.error?.code ?? '', /^(bad-request|bad-signature)$/, 'its signature is not one');
    assert.equal(await snapshot(), before, 'nothing recorded');
  } finally {
    await rt.stop();
    await s.close();
  }
});

test('an agent fed by the relay rejects a relayed event with a forged signature or broken schema to the DLQ and keeps tallying', async () => {
  const { s, rt, tally, dlq } = await setup('bus-fed', 'bus');
  await rt.settle();
  const readsBefore = (tally.state as TallyState).readings;
  assert.equal(readsBefore, 4, 'the bus-fed agent heard every relayed reading');
  let genuine: Envelope | undefined;
  for await (const e of s.store.readAll()) if (e.type === 'example.meter.read') genuine = e;
  const forged = { ...genuine!, id: 'forged-1', data: { ...(genuine!.data as object), energyKwh: 9999 } };
  await s.bus.publish('caco.t.evt.example.meter.read', enc(forged));
  // Re-hashed so the hash checks out, but signed with a key that is not the meter's.
  const rehashed = { ...forged, id: 'forged-2' };
  const hash = hashEvent(rehashed);
  await s.bus.publish('caco.t.evt.example.meter.read', enc({ ...rehashed, hash, sig: new MemoryKeyring('mallory').sign('meter', Buffer.from(hash, 'hex')) }));
  await s.bus.publish('caco.t.evt.example.meter.read', enc({ ...genuine!, id: 'bad-shape', data: { meter: 'main' } }));
  await s.bus.publish('caco.t.evt.example.meter.read', enc('not json'));
  await s.bus.flush();
  await rt.settle();
  assert.deepEqual(dlq.map((d) => d.reason.split(':')[0]), ['hash mismatch', 'bad signature', 'payload fails the example.meter.read v1 schema', 'malformed JSON']);
  assert.equal((tally.state as TallyState).readings, readsBefore);
  await rt.stop();
  await s.close();
});

test('enqueue hands a command to an in-process agent at once, without the bus, after checking its schema', async () => {
  const { s, rt, tally } = await setup('enqueue');
  const bad = rt.enqueue('tally', 'reset', { meter: 'main' });
  assert.equal(bad.accepted, false);
  // Ids the caller lends the envelope (from an outside request, say) are held to the envelope's rule,
  // or the agent's events would carry them and the store refuse them mid-decision.
  for (const [field, opts] of [['correlationId', { correlationId: 'tx\r\nInjected: 1' }], ['source', { source: 'has space' }], ['causationId', { causationId: 'x'.repeat(129) }], ['id', { id: 'nul\u0000' }]] as const) {
    const refused = rt.enqueue('tally', 'reset', { meter: 'main', reason: 'direct' }, opts);
    assert.deepEqual(refused.accepted ? undefined : refused.error, { ok: false, error: { reason: `${field} must be 1 to 128 printable ASCII characters without spaces` } });
  }
  const ok = rt.enqueue('tally', 'reset', { meter: 'main', reason: 'direct' }, { id: 'direct-1' });
  assert.equal(ok.accepted, true);
  const reply = ok.accepted ? await ok.outcome : undefined;
  assert.equal(reply?.ok && reply.events[0]?.type, 'example.total.reset');
  assert.equal((tally.state as TallyState).totalKwh, 0);
  await rt.stop();
  await s.close();
});
