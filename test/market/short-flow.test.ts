import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confirmRequest, offersFromCatalog, searchRequest, statusRequest, supportRequest, cancelRequest, updateRequest } from '../../beckn/index.ts';
import type { Catalog } from '../../schemas/beckn/index.ts';
import { dataOf, flexibility, HOUR, ofType, startMarket, T0 } from './harness.ts';
import { contextFor, send } from './client.ts';

const at = (h: number) => T0 + h * HOUR;
const PROVIDER = 'dc-london-01';

type OrderCallback = { context: { message_id: string; action: string }; message: { order: { id?: string; status?: string; quote?: { price: { value: string } } } }; error?: { code: string; message?: string } };

test('DEG short flow: search then confirm, no select or init', async () => {
  const m = await startMarket({ gridOperator: false });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }, { startMs: at(8), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
    const transactionId = crypto.randomUUID();
    // Ask for 13:30–14:30 in London: only the 14:00 item overlaps.
    const search = searchRequest(contextFor(m, 'search', { transactionId }), { windowStartMs: at(3.5), windowEndMs: at(4.5), minKw: 500, location: { cityCode: 'std:020', gspGroup: '_C', dno: 'UKPN' } });
    assert.equal((await send(m, 'search', search)).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const onSearch = m.testBapInbox.at(-1)!.body as { context: { message_id: string }; message: { catalog: Catalog } };
    assert.equal(onSearch.context.message_id, search.context.message_id, 'the callback pairs with the request');
    const offers = offersFromCatalog(onSearch.message.catalog);
    assert.deepEqual(offers.map((o) => [o.itemId, o.availableKw, o.priceGbpPerMwh, o.noticeMin, o.location.dno]), [['flex-20260115-sp29-30', 1000, 80, 30, 'UKPN']]);

    // A search for another place finds nothing.
    await send(m, 'search', searchRequest(contextFor(m, 'search'), { location: { gspGroup: '_A' } }));
    await m.runtime.settle();
    assert.equal((m.testBapInbox.at(-1)!.body as { message: { catalog: Catalog } }).message.catalog.providers[0]!.items.length, 0);

    const confirm = confirmRequest(contextFor(m, 'confirm', { transactionId }), { providerId: PROVIDER, itemId: offers[0]!.itemId, kw: 600 });
    assert.equal((await send(m, 'confirm', confirm)).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const onConfirm = m.testBapInbox.at(-1)!.body as OrderCallback;
    assert.equal(onConfirm.context.action, 'on_confirm');
    assert.equal(onConfirm.message.order.status, 'ACTIVE');
    assert.equal(onConfirm.message.order.quote?.price.value, '48.00'); // 0.6 MW × 1 h × £80
    const ev = await m.events();
    assert.equal(ofType(ev, 'flex.order.selected').length + ofType(ev, 'flex.order.initialized').length, 0);
    const confirmed = ofType(ev, 'flex.order.confirmed').map((e) => dataOf<{ orderId: string; kw: number; bapId: string; cancelGate: string }>(e));
    assert.deepEqual(confirmed.map((c) => [c.orderId, c.kw, c.bapId, c.cancelGate]), [[onConfirm.message.order.id, 600, 'test-bap.caco.local', '2026-01-15T13:30:00.000Z']]);

    // The same kW cannot be sold twice: 400 kW are left.
    const again = await send(m, 'confirm', confirmRequest(contextFor(m, 'confirm'), { providerId: PROVIDER, itemId: offers[0]!.itemId, kw: 401 }));
    assert.equal(again.body.error?.code, '40002');
    await m.runtime.settle();

    // status, update (down to 500 kW), support answer with callbacks.
    const orderId = onConfirm.message.order.id!;
    await send(m, 'status', statusRequest(contextFor(m, 'status', { transactionId }), orderId));
    await send(m, 'update', updateRequest(contextFor(m, 'update', { transactionId }), { orderId, itemId: offers[0]!.itemId, kw: 500 }));
    await send(m, 'support', supportRequest(contextFor(m, 'support', { transactionId }), orderId));
    await m.runtime.settle();
    assert.deepEqual(m.testBapInbox.slice(-3).map((r) => r.action), ['on_status', 'on_update', 'on_support']);
    const updated = ofType(await m.events(), 'flex.order.updated').map((e) => dataOf<{ kw: number; previousKw: number }>(e));
    assert.deepEqual(updated.map((u) => [u.previousKw, u.kw]), [[600, 500]]);
    // Another buyer cannot see or cancel this order.
    assert.equal(m.coordination().orders.get(orderId)!.kw, 500);

    // Cancel before the gate: the capacity is free again.
    await send(m, 'cancel', cancelRequest(contextFor(m, 'cancel', { transactionId }), { orderId, reasonId: 'grid-need-withdrawn' }));
    await m.runtime.settle();
    assert.equal(m.coordination().orders.get(orderId)!.phase, 'cancelled');
    const back = await send(m, 'confirm', confirmRequest(contextFor(m, 'confirm'), { providerId: PROVIDER, itemId: offers[0]!.itemId, kw: 1000 }));
    assert.equal(back.body.message.ack.status, 'ACK');
    await m.runtime.settle();
  } finally {
    await m.close();
  }
});

test('two buyers racing for the same kW: both accepted, the second refused in its on_confirm (40002)', async () => {
  const m = await startMarket({ gridOperator: false });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
    const item = 'flex-20260115-sp29-30';
    // Both passed the server's checks and sit in the agent's queue, as when two ACKs go out
    // before the agent has handled either (queued here directly, so the race is certain).
    for (const kw of [700, 700]) {
      const body = confirmRequest(contextFor(m, 'confirm'), { providerId: PROVIDER, itemId: item, kw });
      assert.equal(m.runtime.enqueue('coordination', 'handle', { action: 'confirm', body }, { id: `beckn:${body.context.message_id}`, sign: false }).accepted, true);
    }
    await m.runtime.settle();
    const callbacks = m.testBapInbox.filter((r) => r.action === 'on_confirm').map((r) => r.body as OrderCallback);
    assert.equal(callbacks.length, 2);
    assert.equal(callbacks[0]!.error, undefined);
    assert.equal(callbacks[1]!.error?.code, '40002');
    const ev = await m.events();
    assert.equal(ofType(ev, 'flex.order.confirmed').length, 1);
    const rejected = ofType(ev, 'beckn.request.rejected').map((e) => dataOf<{ code: string; httpStatus: number }>(e));
    assert.deepEqual(rejected.map((r) => [r.code, r.httpStatus]), [['40002', 200]]);
  } finally {
    await m.close();
  }
});
