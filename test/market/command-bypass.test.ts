// test-file-timeout: 60
/**
 * The coordination agent's commands carry Beckn requests and refusals that its own doors have
 * already authenticated (Beckn signature, signer = bap_id, registered bap_uri, ttl, replay).
 * They are also served on `caco.<site>.cmd.coordination.*`, where any registered key may send
 * commands: a command there must not act as a Beckn request in a BAP's name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cancelRequest, confirmRequest, searchRequest } from '../../beckn/index.ts';
import { newKeyFile, signWithKey, type SiteIdentity } from '../../core/identity/index.ts';
import { privateKeyFromSeed } from '../../core/ledger/keyring.ts';
import { subjects } from '../../core/runtime/subjects.ts';
import type { CommandReply } from '../../core/runtime/runtime.ts';
import { flexibility, HOUR, ofType, startMarket, T0 } from './harness.ts';
import { contextFor, send } from './client.ts';

const at = (h: number) => T0 + h * HOUR;

test('a registered third party cannot send Beckn requests as commands on caco.<site>.cmd.coordination.*: refused, the order and the ledger untouched', { timeout: 45_000 }, async () => {
  const m = await startMarket({ gridOperator: false });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
    // A genuine buyer confirms an order through the signed Beckn door.
    const transactionId = crypto.randomUUID();
    const confirm = confirmRequest(contextFor(m, 'confirm', { transactionId }), { providerId: 'dc-london-01', itemId: 'flex-20260115-sp29-30', kw: 600 });
    assert.equal((await send(m, 'confirm', confirm)).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const [order] = [...m.coordination().orders.values()];
    assert.equal(order?.phase, 'confirmed');

    // mallory holds a registered third-party key. The order's ids are public (flex.order.confirmed).
    const k = newKeyFile({ party: 'mallory', role: 'third-party' });
    const mallory = { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
    await (m.runtime.identity as SiteIdentity).admin.add(mallory);
    const head = await m.runtime.store.headPosition();
    const command = (type: string, data: unknown) => {
      const id = crypto.randomUUID();
      return signWithKey({ id, type, version: 1, time: new Date(m.clock.now()).toISOString(), source: 'mallory', correlationId: id, causationId: null, data }, mallory);
    };
    const ask = async (name: string, body: unknown) => JSON.parse(Buffer.from((await m.runtime.o.bus.request(subjects.command(m.runtime.site, 'coordination', name), Buffer.from(JSON.stringify(body)), { timeoutMs: 10_000 })).data).toString('utf8')) as CommandReply;
    // In the genuine buyer's name: cancel its order; and a search whose callback goes wherever mallory says.
    const cancel = cancelRequest(contextFor(m, 'cancel', { transactionId }), { orderId: order!.orderId, reasonId: 'grid-need-withdrawn' });
    const search = searchRequest({ ...contextFor(m, 'search'), bap_uri: 'http://169.254.169.254/latest' }, { windowStartMs: at(3.5), windowEndMs: at(4.5) });
    const replies = [
      await ask('handle', command('flex.request.handle', { action: 'cancel', body: cancel })),
      await ask('handle', command('flex.request.handle', { action: 'search', body: search })),
      await ask('reject', command('flex.request.reject', { action: 'confirm', messageId: 'm1', transactionId, bapId: order!.bapId, httpStatus: 401, code: '10001', reason: 'forged refusal', path: null })),
    ];
    await m.runtime.settle();
    for (const r of replies) {
      assert.equal(r.ok, false, JSON.stringify(r).slice(0, 400));
      assert.equal(!r.ok && r.error.code, 'forbidden', JSON.stringify(r).slice(0, 400));
    }
    assert.equal(m.coordination().orders.get(order!.orderId)?.phase, 'confirmed', 'the order is not cancelled');
    assert.equal(await m.runtime.store.headPosition(), head, 'nothing on the ledger');
    assert.equal(ofType(await m.events(), 'flex.order.cancelled').length, 0);
  } finally {
    await m.close();
  }
});

test("the grid operator's callback command is refused on the bus too: only its callback intake, which checks the BPP's Beckn signature, queues it", { timeout: 45_000 }, async () => {
  const m = await startMarket({ gridOperator: true });
  try {
    const k = newKeyFile({ party: 'mallory', role: 'third-party' });
    const mallory = { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
    await (m.runtime.identity as SiteIdentity).admin.add(mallory);
    const head = await m.runtime.store.headPosition();
    const id = crypto.randomUUID();
    const cmd = signWithKey({ id, type: 'market.callback.handle', version: 1, time: new Date(m.clock.now()).toISOString(), source: 'mallory', correlationId: id, causationId: null, data: { action: 'on_confirm', body: {} } }, mallory);
    const res = await m.runtime.o.bus.request(subjects.command(m.runtime.site, 'grid-operator', 'callback'), Buffer.from(JSON.stringify(cmd)), { timeoutMs: 10_000 });
    const reply = JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
    assert.equal(!reply.ok && reply.error.code, 'forbidden', JSON.stringify(reply).slice(0, 400));
    await m.runtime.settle();
    assert.equal(await m.runtime.store.headPosition(), head);
  } finally {
    await m.close();
  }
});
