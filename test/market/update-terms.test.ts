// test-file-timeout: 60
/**
 * Found by a helper's review: `update` changed an order's kW on terms the site no longer offered.
 *  - More kW were sold at the order's old price after the site re-priced the item (a 100 kW
 *    minimum bought at £80 was updated to 1,000 kW while the catalogue said £250): buying the
 *    minimum early was a free option on the whole offer.
 *  - Fewer kW were taken after the cancellation gate, mid-window: a cancellation past the gate
 *    (1,000 kW cut to 100 kW at 14:40, paid for 0.7 of the 1 MWh the site shed).
 * And a non-search request with no `bpp_id` was taken by every BPP on the shared subject.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confirmRequest, updateRequest } from '../../beckn/index.ts';
import { dataOf, flexibility, HOUR, ofType, startMarket, T0 } from './harness.ts';
import { contextFor, send } from './client.ts';

const at = (h: number) => T0 + h * HOUR;
const PROVIDER = 'dc-london-01';
const ITEM = 'flex-20260115-sp29-30';

async function confirmed(m: Awaited<ReturnType<typeof startMarket>>, transactionId: string, kw: number): Promise<string> {
  const ack = await send(m, 'confirm', confirmRequest(contextFor(m, 'confirm', { transactionId }), { providerId: PROVIDER, itemId: ITEM, kw }));
  assert.equal(ack.body.message.ack.status, 'ACK', JSON.stringify(ack.body));
  await m.runtime.settle();
  const order = ofType(await m.events(), 'flex.order.confirmed').map((e) => dataOf<{ orderId: string; transactionId: string }>(e)).find((o) => o.transactionId === transactionId);
  assert.ok(order, 'the order is confirmed');
  return order.orderId;
}

test('more kW are not sold at the old price once the item is re-priced; at an unchanged price they are', async () => {
  const m = await startMarket({ gridOperator: false });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
    const tx = crypto.randomUUID();
    const orderId = await confirmed(m, tx, 100);
    assert.equal(m.coordination().orders.get(orderId)!.priceGbpPerMwh, 80);

    // Same terms: an increase is fine.
    assert.equal((await send(m, 'update', updateRequest(contextFor(m, 'update', { transactionId: tx }), { orderId, itemId: ITEM, kw: 200 }))).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    assert.equal(m.coordination().orders.get(orderId)!.kw, 200);

    await m.advanceTo(at(1));
    await m.emit('compute.flexibility.available', flexibility('plan-2', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 220, baselineKw: 9000 }]));
    await m.runtime.settle();
    assert.equal(m.coordination().offers.get(ITEM)!.priceGbpPerMwh, 250, 'the item is re-priced');

    const up = await send(m, 'update', updateRequest(contextFor(m, 'update', { transactionId: tx }), { orderId, itemId: ITEM, kw: 1000 }));
    assert.equal(up.body.error?.code, '50002');
    assert.match(up.body.error?.message ?? '', /£250\/MWh.*new transaction/);
    // Fewer kW before the gate are still fine: the order's terms do not get better for the buyer.
    assert.equal((await send(m, 'update', updateRequest(contextFor(m, 'update', { transactionId: tx }), { orderId, itemId: ITEM, kw: 150 }))).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const order = m.coordination().orders.get(orderId)!;
    assert.deepEqual([order.kw, order.priceGbpPerMwh], [150, 80]);
  } finally {
    await m.close();
  }
});

test('the kW of an order do not change after its gate, down as well as up', async () => {
  const m = await startMarket({ gridOperator: false });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
    const tx = crypto.randomUUID();
    const orderId = await confirmed(m, tx, 1000);
    await m.advanceTo(at(3.5) + 60_000); // 13:31, the gate was 13:30
    const down = await send(m, 'update', updateRequest(contextFor(m, 'update', { transactionId: tx }), { orderId, itemId: ITEM, kw: 100 }));
    assert.equal(down.body.error?.code, '50002');
    assert.match(down.body.error?.message ?? '', /before its gate/);
    await m.runtime.settle();
    assert.equal(m.coordination().orders.get(orderId)!.kw, 1000);
    assert.equal(ofType(await m.events(), 'flex.order.updated').length, 0);
  } finally {
    await m.close();
  }
});

test('a request after search that names no BPP is refused at context.bpp_id, and no order is made', async () => {
  const m = await startMarket({ gridOperator: false });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
    // Optional in the spec's schema, so a buyer may leave them out (JSON drops the undefined).
    const noBpp = { ...contextFor(m, 'confirm'), bpp_id: undefined, bpp_uri: undefined };
    const r = await send(m, 'confirm', confirmRequest(noBpp, { providerId: PROVIDER, itemId: ITEM, kw: 500 }));
    assert.equal(r.body.message.ack.status, 'NACK');
    assert.deepEqual(r.body.error?.paths, 'context.bpp_id');
    await m.runtime.settle();
    assert.equal(ofType(await m.events(), 'flex.order.confirmed').length, 0);
  } finally {
    await m.close();
  }
});

test('a request with a member name twice in one object is refused before anything is read from it (a helper\'s review)', async () => {
  // JSON.parse keeps the last: a confirm of "value":"100","value":"1000" made a 1,000 kW order,
  // while a reader of the buyer's signed bytes that keeps the first read 100 kW.
  const m = await startMarket({ gridOperator: false });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
    const text = JSON.stringify(confirmRequest(contextFor(m, 'confirm'), { providerId: PROVIDER, itemId: ITEM, kw: 100 }));
    const twice = text.replace(/("measure":\{[^}]*"value":"[^"]*")/, '$1,"value":"1000"');
    assert.notEqual(twice, text);
    const r = await send(m, 'confirm', twice);
    assert.equal(r.body.message.ack.status, 'NACK', JSON.stringify(r.body));
    assert.match(r.body.error?.message ?? '', /member name "value" appears twice/);
    await m.runtime.settle();
    assert.equal(ofType(await m.events(), 'flex.order.confirmed').length, 0);
  } finally {
    await m.close();
  }
});
