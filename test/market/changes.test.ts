import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataOf, flatForecast, flexibility, HOUR, ofType, startMarket, stress, T0 } from './harness.ts';

const at = (h: number) => T0 + h * HOUR;

test('the grid operator reduces its orders when the stress eases and cancels them when it passes; budget and price cap hold', async () => {
  const m = await startMarket({ coordination: { sellShare: 1 }, gridOperatorConfig: { budgetGbpPerDay: 150, maxPriceGbpPerMwh: 120 } });
  try {
    // Three hours on offer at £90, £110 and £150/MWh; the last is above the price cap.
    await m.emit(
      'compute.flexibility.available',
      flexibility('plan-1', [
        { startMs: at(4), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 },
        { startMs: at(5), kw: 1500, costGbpPerMwh: 80, baselineKw: 9000 },
        { startMs: at(6), kw: 1500, costGbpPerMwh: 120, baselineKw: 9000 },
      ]),
    );
    await m.emit('grid.stress.expected', stress(at(4), at(7), 'price-peak', 180));
    let ev = await m.events();
    // £150 a day: 1000 kW at £90 (£90), then what is left (£60) buys 545 kW at £110.
    const ordered = ofType(ev, 'market.purchase.ordered').map((e) => dataOf<{ orderId: string; itemId: string; kw: number; committedGbp: number }>(e));
    assert.deepEqual(ordered.map((o) => [o.itemId, o.kw, o.committedGbp]), [
      ['flex-20260115-sp29-30', 1000, 90],
      ['flex-20260115-sp31-32', 545, 59.95],
    ]);

    // A forecast still near the announced peak (170 of 180): keep.
    await m.emit('grid.forecast.published', flatForecast(at(0), 170));
    assert.equal(ofType(await m.events(), 'market.purchase.changed').length, 0);

    // Eased to 150 (83 %): each order halved once.
    await m.emit('grid.forecast.published', flatForecast(at(0), 150));
    ev = await m.events();
    assert.deepEqual(ofType(ev, 'flex.order.updated').map((e) => dataOf<{ kw: number; previousKw: number }>(e)).map((u) => [u.previousKw, u.kw]), [
      [1000, 500],
      [545, 272],
    ]);
    assert.deepEqual(ofType(ev, 'market.purchase.changed').map((e) => dataOf<{ change: string }>(e).change), ['updated', 'updated']);
    await m.emit('grid.forecast.published', flatForecast(at(0), 150));
    assert.equal(ofType(await m.events(), 'flex.order.updated').length, 2, 'not halved again');

    // Passed (100 of 180): cancelled, before their gates.
    await m.emit('grid.forecast.published', flatForecast(at(0), 100));
    ev = await m.events();
    const cancelled = ofType(ev, 'flex.order.cancelled').map((e) => dataOf<{ orderId: string; by: string; reason: string }>(e));
    assert.deepEqual(cancelled.map((c) => c.orderId).sort(), ordered.map((o) => o.orderId).sort());
    assert.ok(cancelled.every((c) => c.by === 'buyer' && /stress passed/.test(c.reason)));
    const state = m.coordination();
    assert.ok(ordered.every((o) => state.orders.get(o.orderId)!.phase === 'cancelled'));

    // Nothing is activated or settled for cancelled orders, and nothing more is bought.
    await m.advanceTo(at(8));
    ev = await m.events();
    assert.equal(ofType(ev, 'flex.order.activated').length, 0);
    assert.equal(ofType(ev, 'flex.order.confirmed').length, 2);
    assert.equal(ofType(ev, 'beckn.request.rejected').length, 0);
  } finally {
    await m.close();
  }
});
