// test-file-timeout: 60
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { confirmRequest, statusRequest, updateRequest } from '../../../beckn/index.ts';
import { availableKwOf, coordinationConfig, evolveCoordination, INITIAL_COORDINATION_STATE, offersToPublish, type CoordinationState } from '../../../agents/coordination/index.ts';
import type { Envelope } from '../../../core/envelope/index.ts';
import { dataOf, flexibility, HOUR, ofType, startMarket, T0, type Market } from '../../market/harness.ts';
import { contextFor, send } from '../../market/client.ts';

/**
 * An offer sold in part stays judged by the plan for its unsold part: once the site re-plans
 * and can no longer shed the rest, the rest is off sale (a confirm or an update for more is
 * refused), and a new price applies to the kW not yet sold. Found by review: a sold offer was
 * frozen whole, so after a 100 kW sale of a 1,000 kW offer a re-plan with no flexibility left
 * still sold the other 900 kW (two flex.order.confirmed, 1,000 kW the plan could not shed).
 */

const at = (h: number) => T0 + h * HOUR;
// The 14:00–15:00 window (T0 is 10:00): its notice gate is at 13:30.
const ITEM = 'flex-20260115-sp29-30';
const choice = (kw: number) => ({ providerId: 'dc-london-01', itemId: ITEM, kw });
// 2,000 kW sheddable at £50/MWh: 1,000 kW on sale (sell share ½) at £80/MWh, baseline 9,000 kW.
const plan1 = flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]);
// A re-plan (new jobs arrived) with nothing left to shed in that window, nor the next.
const nothingLeft = flexibility('plan-2', [
  { startMs: at(4), kw: 0, costGbpPerMwh: 50, baselineKw: 9000 },
  { startMs: at(5), kw: 0, costGbpPerMwh: 50, baselineKw: 9000 },
]);

const confirmedKw = async (m: Market) => ofType(await m.events(), 'flex.order.confirmed').map((e) => dataOf<{ kw: number; priceGbpPerMwh: number }>(e));
const publishedKw = async (m: Market) => ofType(await m.events(), 'flex.offer.published').filter((e) => dataOf<{ offerId: string }>(e).offerId === ITEM).map((e) => dataOf<{ availableKw: number }>(e).availableKw);

async function confirm(m: Market, kw: number) {
  const a = await send(m, 'confirm', confirmRequest(contextFor(m, 'confirm', { transactionId: randomUUID() }), choice(kw)));
  await m.runtime.settle();
  return a;
}

let m: Market;
before(async () => {
  m = await startMarket({ gridOperator: false });
});
after(async () => m.close());

test('after a part is sold, a re-plan with no flexibility left takes the rest off sale: a confirm or an update for more is refused', async () => {
  await m.emit('compute.flexibility.available', plan1);
  const first = await confirm(m, 100);
  assert.equal(first.body.message.ack.status, 'ACK');
  const orderId = [...m.coordination().orders.values()].find((o) => o.offerId === ITEM && o.phase === 'confirmed')!.orderId;

  await m.emit('compute.flexibility.available', nothingLeft);
  // Republished with only the kW sold: nothing more on sale.
  assert.deepEqual(await publishedKw(m), [1000, 100]);
  assert.equal(availableKwOf(m.coordination(), ITEM), 0);

  const rest = await confirm(m, 900);
  assert.equal(rest.body.message.ack.status, 'NACK');
  assert.equal(rest.body.error?.code, '40002');
  const some = await confirm(m, 100);
  assert.equal(some.body.error?.code, '40002');
  // The order sold may not grow into the withdrawn rest either (its gate is still open).
  const grow = await send(m, 'update', updateRequest(contextFor(m, 'update', { transactionId: m.coordination().orders.get(orderId)!.transactionId }), { orderId, itemId: ITEM, kw: 500 }));
  assert.equal(grow.body.error?.code, '40002');
  await m.runtime.settle();

  // Only the 100 kW sold before the re-plan are promised, and they still are.
  assert.deepEqual((await confirmedKw(m)).map((o) => o.kw), [100]);
  assert.equal(ofType(await m.events(), 'flex.order.updated').length, 0);
  const o = m.coordination().orders.get(orderId)!;
  assert.deepEqual([o.phase, o.kw, o.priceGbpPerMwh], ['confirmed', 100, 80]);
});

test('control: the same re-plan withdraws an offer with no sale (available 0; a confirm is refused as withdrawn)', async () => {
  const c = await startMarket({ gridOperator: false });
  try {
    await c.emit('compute.flexibility.available', plan1);
    await c.emit('compute.flexibility.available', nothingLeft);
    assert.deepEqual(await publishedKw(c), [1000, 0]);
    const a = await confirm(c, 900);
    assert.equal(a.body.error?.code, '30004');
    assert.deepEqual(await confirmedKw(c), []);
  } finally {
    await c.close();
  }
});

test('a dearer re-plan prices the unsold kW anew; the order sold keeps its price, in its status too', async () => {
  const c = await startMarket({ gridOperator: false });
  try {
    await c.emit('compute.flexibility.available', plan1);
    const transactionId = randomUUID();
    await send(c, 'confirm', confirmRequest(contextFor(c, 'confirm', { transactionId }), choice(100)));
    await c.runtime.settle();
    // The re-plan under the 100 kW cap: 1,800 kW more to shed, now at £90/MWh (→ £120 on sale).
    await c.emit('compute.flexibility.available', flexibility('plan-2', [{ startMs: at(4), kw: 1800, costGbpPerMwh: 90, baselineKw: 8900 }]));
    const offer = c.coordination().offers.get(ITEM)!;
    assert.deepEqual([offer.availableKw, offer.priceGbpPerMwh, offer.baselineKw], [1000, 120, 9000]);

    assert.equal((await confirm(c, 900)).body.message.ack.status, 'ACK');
    assert.deepEqual((await confirmedKw(c)).map((o) => [o.kw, o.priceGbpPerMwh]), [[100, 80], [900, 120]]);

    // The first order's status quotes what it was sold at: 0.1 MW × 1 h × £80.
    const first = [...c.coordination().orders.values()].find((o) => o.transactionId === transactionId)!;
    await send(c, 'status', statusRequest(contextFor(c, 'status', { transactionId }), first.orderId));
    await c.runtime.settle();
    const onStatus = c.testBapInbox.filter((r) => r.action === 'on_status').at(-1)!.body as { message: { order: { quote: { price: { value: string } } } } };
    assert.equal(onStatus.message.order.quote.price.value, '8.00');
  } finally {
    await c.close();
  }
});

// The same, on the pure function: what is republished of a partly sold offer, plan by plan.
const cfg = coordinationConfig();
let pos = 0;
const ev = (type: string, data: unknown): Envelope =>
  ({ id: `e${++pos}`, type, version: 1, stream: 'x', revision: pos, position: pos, time: new Date(T0).toISOString(), source: 't', correlationId: 'c', causationId: null, data, prevHash: '', hash: '', sig: '' }) as unknown as Envelope;
const withFlex = (s: CoordinationState, data: ReturnType<typeof flexibility>) => evolveCoordination(s, ev('compute.flexibility.available', data));
const publish = (s: CoordinationState): CoordinationState => offersToPublish(s, T0, cfg).reduce((x, o) => evolveCoordination(x, ev('flex.offer.published', o)), s);
const terms = (s: CoordinationState) => offersToPublish(s, T0, cfg).map((o) => [o.availableKw, o.minKw, o.priceGbpPerMwh, o.baselineKw]);
const window = (kw: number, costGbpPerMwh = 50, baselineKw = 8900) => flexibility('p', [{ startMs: at(4), kw, costGbpPerMwh, baselineKw }, { startMs: at(5), kw: 0, costGbpPerMwh: 50, baselineKw: 9000 }]);

test('a partly sold offer is the kW sold plus what the plan supports beyond them, never less than what is sold, against the agreed baseline', () => {
  let s = publish(withFlex(INITIAL_COORDINATION_STATE, plan1));
  const o = s.offers.get(ITEM)!;
  s = evolveCoordination(s, ev('flex.order.confirmed', {
    orderId: 'ord-1', offerId: ITEM, transactionId: 't', bapId: 'b', bapUri: 'http://b', windowStart: new Date(o.windowStartMs).toISOString(), windowEnd: new Date(o.windowEndMs).toISOString(),
    settlementDate: '2026-01-15', firstSettlementPeriod: 29, lastSettlementPeriod: 30, kw: 300, priceGbpPerMwh: 80, penaltyGbpPerMwh: 96, baselineMethod: o.baselineMethod, baselineKw: 9000, cancelGate: new Date(o.validUntilMs).toISOString(),
  }));
  // The compute agent's window kW leave out the 300 kW sold (its plan already cuts them and holds
  // them in the battery): 1,400 kW more is 300 + 700, the 1,000 on sale, so nothing to say (had
  // the sold kW been taken off again, 300 + 400 would have been republished).
  s = withFlex(s, window(1400));
  assert.deepEqual(terms(s), []);
  // 400 kW more: 300 + 200, against the agreed 9,000 kW, not the plan's 8,900 (its import after the cut).
  s = withFlex(s, window(400));
  assert.deepEqual(terms(s), [[500, 100, 80, 9000]]);
  s = publish(s);
  // Nothing more: the rest withdrawn, the 300 kW sold kept (with the offer's minimum, which an update is checked against).
  s = withFlex(s, window(0));
  assert.deepEqual(terms(s), [[300, 100, 80, 9000]]);
  s = publish(s);
  assert.equal(availableKwOf(s, ITEM), 0);
  assert.deepEqual(terms(s), [], 'withdrawn once, not on every plan');
  // More again, dearer: on sale again at the new price, for the unsold kW only.
  s = withFlex(s, window(600, 90));
  assert.deepEqual(terms(s), [[600, 100, 120, 9000]]);
});
