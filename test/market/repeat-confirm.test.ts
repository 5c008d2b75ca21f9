import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { confirmRequest, selectRequest } from '../../beckn/index.ts';
import { dataOf, flexibility, HOUR, ofType, startMarket, T0, type Market } from './harness.ts';
import { contextFor, send } from './client.ts';

/**
 * One transaction buys an item once. A second confirm with a new message_id is not a replay
 * (the replay memory lets it through), so the order checks refuse it: before, it created a
 * second order and sold the kW again.
 */

const at = (h: number) => T0 + h * HOUR;
const choice = (kw: number) => ({ providerId: 'dc-london-01', itemId: 'flex-20260115-sp29-30', kw });

describe('a repeated confirm', { timeout: 60_000 }, () => {
  let m: Market;
  before(async () => {
    m = await startMarket({ gridOperator: false });
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
  });
  after(async () => m.close());

  const confirmedIn = async (tx: string) => ofType(await m.events(), 'flex.order.confirmed').filter((e) => dataOf<{ transactionId: string }>(e).transactionId === tx);

  test('after select → confirm, a second confirm (new message_id) is refused with 40001 naming the order; one order is sold', async () => {
    const transactionId = randomUUID();
    await send(m, 'select', selectRequest(contextFor(m, 'select', { transactionId }), choice(200)));
    await m.runtime.settle();
    const first = await send(m, 'confirm', confirmRequest(contextFor(m, 'confirm', { transactionId }), choice(200)));
    assert.equal(first.body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const [order] = await confirmedIn(transactionId);
    const orderId = dataOf<{ orderId: string }>(order!).orderId;
    const again = await send(m, 'confirm', confirmRequest(contextFor(m, 'confirm', { transactionId }), choice(200)));
    await m.runtime.settle();
    assert.equal(again.body.message.ack.status, 'NACK');
    assert.equal(again.body.error?.code, '40001');
    assert.equal(again.body.error?.paths, 'context.transaction_id');
    assert.match(again.body.error?.message ?? '', new RegExp(`already has order "${orderId}" \\(confirmed\\)`));
    assert.equal((await confirmedIn(transactionId)).length, 1);
    // Nor does a select turn the confirmed order back into a draft.
    const reselect = await send(m, 'select', selectRequest(contextFor(m, 'select', { transactionId }), choice(200)));
    await m.runtime.settle();
    assert.equal(reselect.body.error?.code, '40001');
    assert.equal(m.coordination().orders.get(orderId)?.phase, 'confirmed');
  });

  test('short flow: two confirms of one transaction sent before either is handled sell once (the agent checks again)', async () => {
    const transactionId = randomUUID();
    const answers = await Promise.all([0, 1].map(() => send(m, 'confirm', confirmRequest(contextFor(m, 'confirm', { transactionId }), choice(300)))));
    await m.runtime.settle();
    assert.ok(answers.some((a) => a.body.message.ack.status === 'ACK'));
    assert.equal((await confirmedIn(transactionId)).length, 1);
  });
});
