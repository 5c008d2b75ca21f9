import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { confirmRequest, selectRequest, signRequest, updateRequest, cancelRequest, searchRequest } from '../../beckn/index.ts';
import { seededSigningKey } from '../../agents/coordination/index.ts';
import { dataOf, flexibility, HOUR, ofType, startMarket, T0, type Market } from './harness.ts';
import { contextFor, postRaw, send, type Answer } from './client.ts';
import { expectOneRejection } from './rejection.ts';

/**
 * Every kind of bad input the BPP refuses: the answer (HTTP status, NACK code, path), exactly
 * one `beckn.request.rejected` on the ledger and nothing else, and no callback.
 */

const ITEM = 'flex-20260115-sp29-30'; // 14:00–15:00 UTC
const PROVIDER = 'dc-london-01';
const at = (h: number) => T0 + h * HOUR;

const choice = (kw: number, itemId = ITEM) => ({ providerId: PROVIDER, itemId, kw, fulfillmentId: `ful-${itemId}` });

describe('bad input: one beckn.request.rejected, nothing else changes', () => {
  let m: Market;
  before(async () => {
    m = await startMarket({ gridOperator: false });
    // 1500 kW sheddable → 750 kW on sale at £90/MWh; a second window at 15:00.
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }, { startMs: at(5), kw: 1000, costGbpPerMwh: 60, baselineKw: 9000 }]));
  });
  after(async () => m.close());

  const unauthorised = async (name: string, run: () => Promise<Answer>, reason: RegExp) => {
    const { answer, rejected } = await expectOneRejection(m, run);
    assert.equal(answer.status, 401, name);
    assert.match(answer.headers.get('www-authenticate') ?? '', /^Signature realm="bpp\.caco\.local",headers="\(created\) \(expires\) digest"$/);
    assert.equal(answer.body.message.ack.status, 'NACK');
    assert.equal(answer.body.error?.code, '401');
    assert.equal(rejected.httpStatus, 401);
    assert.equal(rejected.code, '401');
    assert.match(rejected.reason, reason);
  };

  test('missing signature → 401', () => unauthorised('missing', () => postRaw(m, 'search', JSON.stringify(searchRequest(contextFor(m, 'search'), {})), {}), /signature missing/));

  test('an unsigned request claiming ids no envelope may carry (NUL, CR/LF, 150 characters, "admin"): its record keeps what it claimed in its data, and its envelope has ids of its own', async () => {
    const claimed = `évil tx\u0000\r\nInjected: 1 ${'Z'.repeat(150)}`.slice(0, 190);
    const body = searchRequest(contextFor(m, 'search'), {}) as unknown as { context: Record<string, unknown> };
    body.context['transaction_id'] = claimed;
    body.context['bap_id'] = 'admin with spaces';
    const before = (await m.events()).length;
    await unauthorised('hostile ids', () => postRaw(m, 'search', JSON.stringify(body), {}), /signature missing/);
    const e = (await m.events()).slice(before)[0]!;
    assert.match(e.correlationId, /^[!-~]{1,128}$/);
    assert.notEqual(e.correlationId, claimed);
    assert.equal(dataOf<{ transactionId: string | null }>(e).transactionId, claimed);
  });

  test('malformed signature → 401', () =>
    unauthorised('malformed', () => postRaw(m, 'search', JSON.stringify(searchRequest(contextFor(m, 'search'), {})), { authorization: 'Signature keyId="test-bap.caco.local|k1|ed25519"' }), /signature malformed/));

  test('expired signature → 401', () => unauthorised('expired', () => send(m, 'search', searchRequest(contextFor(m, 'search'), {}), { signAtMs: m.clock.now() - 10 * 60_000 }), /signature expired/));

  test('future-dated signature → 401', () => unauthorised('future', () => send(m, 'search', searchRequest(contextFor(m, 'search'), {}), { signAtMs: m.clock.now() + 10 * 60_000 }), /signature future-dated/));

  test('a key not in the directory → 401', () => unauthorised('unknown key', () => send(m, 'search', searchRequest(contextFor(m, 'search'), {}), { key: seededSigningKey('elsewhere', 'test-bap.caco.local') }), /signature (unknown-key|bad-signature)/));

  test('a key of another subscriber → 401 unknown key', () => unauthorised('stranger', () => send(m, 'search', searchRequest(contextFor(m, 'search'), {}), { key: seededSigningKey('elsewhere', 'stranger.example.org') }), /signature unknown-key/));

  test('a body changed after signing → 401', async () => {
    const text = JSON.stringify(searchRequest(contextFor(m, 'search'), {}));
    const sig = signRequest(text, m.testBapKey, m.clock.now() / 1000, 30);
    await unauthorised('tampered', () => postRaw(m, 'search', text.replace('"search"', '"search" '), { authorization: sig.authorization }), /signature bad-signature/);
  });

  test('signed by one participant for another → 401', async () => {
    // The grid operator's valid key, but the context names the test BAP.
    await unauthorised('wrong signer', () => send(m, 'search', searchRequest(contextFor(m, 'search'), {}), { key: m.bapKey }), /wrong participant/);
  });

  test('a body that fails the schema → NACK 30000 with the path', async () => {
    const body = selectRequest(contextFor(m, 'select'), choice(100)) as unknown as { message: { order: { items: Array<Record<string, unknown>> } } };
    const item = body.message.order.items[0]!;
    item['quantty'] = item['quantity'];
    delete item['quantity'];
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'select', body));
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error?.code, '30000');
    assert.match(answer.body.error?.paths ?? '', /message\.order\.items\[0\]\.quantty/);
    assert.match(answer.body.error?.paths ?? '', /message\.order\.items\[0\]\.quantity/);
    assert.equal(rejected.code, '30000');
    assert.match(rejected.path ?? '', /quantty/);
  });

  test('a body that is not JSON → NACK 30000', async () => {
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'search', '{"context": '));
    assert.equal(answer.body.error?.code, '30000');
    assert.equal(rejected.path, '(root)');
  });

  test('an unknown item → NACK 30004', async () => {
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'select', selectRequest(contextFor(m, 'select'), choice(100, 'flex-20260115-sp01-02'))));
    assert.equal(answer.body.error?.code, '30004');
    assert.equal(answer.body.error?.paths, 'message.order.items[0].id');
    assert.equal(rejected.code, '30004');
  });

  test('more kW than available → NACK 40002', async () => {
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'select', selectRequest(contextFor(m, 'select'), choice(751))));
    assert.equal(answer.body.error?.code, '40002');
    assert.match(answer.body.error?.message ?? '', /751 kW asked, 750 kW available/);
    assert.equal(rejected.code, '40002');
  });

  test('an expired ttl → NACK 30000 at context.ttl', async () => {
    const ctx = contextFor(m, 'search', { nowMs: m.clock.now() - 60_000, ttl: 'PT30S' });
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'search', searchRequest(ctx, {})));
    assert.equal(answer.body.error?.code, '30000');
    assert.equal(answer.body.error?.paths, 'context.ttl');
    assert.equal(rejected.path, 'context.ttl');
  });

  test('a repeated message_id → the same answer, no second effect', async () => {
    // Accepted the first time: an order for 100 kW (short flow).
    const text = JSON.stringify(confirmRequest(contextFor(m, 'confirm'), choice(100, 'flex-20260115-sp31-32')));
    const first = await send(m, 'confirm', text);
    await m.runtime.settle();
    assert.equal(first.body.message.ack.status, 'ACK');
    const confirmedBefore = ofType(await m.events(), 'flex.order.confirmed').length;
    const callbacks = m.testBapInbox.length;
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'confirm', text));
    assert.deepEqual([answer.status, answer.body], [200, first.body]);
    assert.equal(rejected.code, 'duplicate-message-id');
    assert.equal(ofType(await m.events(), 'flex.order.confirmed').length, confirmedBefore);
    assert.equal(m.testBapInbox.length, callbacks);

    // Refused the first time: the same refusal again, and the one rejection already recorded.
    const bad = JSON.stringify(selectRequest(contextFor(m, 'select'), choice(100, 'flex-20260115-sp03-04')));
    const r1 = await expectOneRejection(m, () => send(m, 'select', bad));
    const before = (await m.events()).length;
    const r2 = await send(m, 'select', bad);
    await m.runtime.settle();
    assert.deepEqual([r2.status, r2.body], [r1.answer.status, r1.answer.body]);
    assert.equal((await m.events()).length, before);
  });

  test('a stale quote → NACK 40003', async () => {
    const transactionId = crypto.randomUUID();
    const sel = await send(m, 'select', selectRequest(contextFor(m, 'select', { transactionId }), choice(200)));
    assert.equal(sel.body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const onSelect = m.testBapInbox.at(-1)!.body as { message: { order: { quote: { price: { value: string } } } } };
    assert.equal(onSelect.message.order.quote.price.value, '18.00'); // 0.2 MW × 1 h × £90
    // The price has moved since: the site's cost went up by £40/MWh.
    await m.emit('compute.flexibility.available', flexibility('plan-2', [{ startMs: at(4), kw: 1500, costGbpPerMwh: 100, baselineKw: 9000 }, { startMs: at(5), kw: 1000, costGbpPerMwh: 60, baselineKw: 9000 }]));
    const quote = onSelect.message.order.quote as never;
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'confirm', confirmRequest(contextFor(m, 'confirm', { transactionId }), { ...choice(200), quote })));
    assert.equal(answer.body.error?.code, '40003');
    assert.match(answer.body.error?.message ?? '', /quoted 18\.00 GBP, the price is now 26\.00 GBP/);
    assert.equal(rejected.code, '40003');
  });

  test('an update changing what update_target does not name → NACK 30013', async () => {
    const orderId = ofType(await m.events(), 'flex.order.confirmed').map((e) => dataOf<{ orderId: string }>(e).orderId)[0]!;
    const body = updateRequest(contextFor(m, 'update'), { orderId, itemId: 'flex-20260115-sp31-32', kw: 150 }) as unknown as { message: { order: Record<string, unknown> } };
    body.message.order['billing'] = { name: 'Someone Else Ltd' };
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'update', body));
    assert.equal(answer.body.error?.code, '30013');
    assert.equal(answer.body.error?.paths, 'message.order.billing');
    assert.equal(rejected.code, '30013');
  });

  test('a cancel after the gate → NACK 50001', async () => {
    const orderId = ofType(await m.events(), 'flex.order.confirmed').map((e) => dataOf<{ orderId: string }>(e).orderId)[0]!;
    // The order's window starts at 15:00 with 30 min notice: the gate is 14:30.
    await m.advanceTo(at(4.5));
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'cancel', cancelRequest(contextFor(m, 'cancel'), { orderId, reason: 'too late' })));
    assert.equal(answer.body.error?.code, '50001');
    assert.match(answer.body.error?.message ?? '', /gate closed at 2026-01-15T14:30:00.000Z/);
    assert.equal(rejected.code, '50001');
    assert.equal(m.coordination().orders.get(orderId)!.phase, 'confirmed');
  });
});
