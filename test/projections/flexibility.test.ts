import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evolveFlexibility, flexOffers, flexOrders, flexTotals, initialFlexibility, orderMwh, flexibilityProjection } from '../../projections/flexibility/index.ts';
import { registered, v1OfferPublished, v1OrderConfirmed } from './settlement/helpers.ts';
import { fold } from '../../projections/index.ts';

const S = Date.parse('2023-07-03T16:00:00Z');
const H = 3_600_000;
const offer = (id: string) => v1OfferPublished({ offerId: id, startMs: S, endMs: S + H, kw: 1000, price: 120, penalty: 40, baselineKw: 5000 });
const conf = (orderId: string, offerId: string, kw = 800) => v1OrderConfirmed({ orderId, offerId, startMs: S, endMs: S + H, kw, price: 120, penalty: 40, baselineKw: 5000 });
const as = (type: string, e: { data: unknown }, id: string) => ({ type, data: e.data, id, time: '2023-07-03T12:00:00Z' });

describe('flexibility projection', () => {
  test('an order goes selected → initialized → confirmed → active → fulfilled, each step with its event id', () => {
    const c = conf('o1', 'f1');
    const s = fold(flexibilityProjection, [
      as('flex.offer.published', offer('f1'), 'e0'),
      as('flex.order.selected', c, 'e1'),
      as('flex.order.initialized', c, 'e2'),
      as('flex.order.confirmed', c, 'e3'),
      { ...registered('flex.order.activated', { orderId: 'o1', at: '2023-07-03T16:00:00Z', capKw: 4200 }), id: 'e4' },
      { ...registered('flex.order.fulfilled', { orderId: 'o1', deliveredMwh: 0.7, contractedMwh: 0.8, paymentGbp: 84, penaltyGbp: 4, netGbp: 80, periods: [] }), id: 'e5' },
      { ...registered('flex.order.rated', { orderId: 'o1', value: 4 }), id: 'e6' },
    ]);
    const [o] = flexOrders(s);
    assert.equal(o!.status, 'fulfilled');
    assert.equal(o!.capKw, 4200);
    assert.equal(o!.rating, 4);
    assert.deepEqual(o!.history.map((h) => [h.status, h.eventId]), [['selected', 'e1'], ['initialized', 'e2'], ['confirmed', 'e3'], ['active', 'e4'], ['fulfilled', 'e5'], ['rated', 'e6']]);
    assert.deepEqual(flexOffers(s)[0]!.orderIds, ['o1']);
    const t = flexTotals(s);
    assert.equal(t.byStatus.fulfilled, 1);
    assert.equal(t.soldMwh, 0.8);
    assert.equal(t.deliveredMwh, 0.7);
    assert.equal(t.netGbp, 80);
  });

  test('a late earlier step does not move an order back; a cancelled order stays cancelled and is not sold', () => {
    const c = conf('o2', 'f1');
    let s = fold(flexibilityProjection, [as('flex.order.confirmed', c, 'a'), as('flex.order.selected', c, 'b')]);
    assert.equal(flexOrders(s)[0]!.status, 'confirmed');
    s = evolveFlexibility(s, registered('flex.order.cancelled', { orderId: 'o2', at: '2023-07-03T15:00:00Z', reason: 'grid no longer stressed', by: 'buyer' }));
    s = evolveFlexibility(s, registered('flex.order.activated', { orderId: 'o2', at: '2023-07-03T16:00:00Z', capKw: 1 }));
    const o = flexOrders(s)[0]!;
    assert.equal(o.status, 'cancelled');
    assert.deepEqual(o.cancelled, { reason: 'grid no longer stressed', by: 'buyer', at: '2023-07-03T15:00:00Z', afterConfirm: true });
    assert.equal(flexTotals(s).soldMwh, 0);
  });

  test('an update changes the contracted kW; events for unknown orders are counted, not invented', () => {
    let s = fold(flexibilityProjection, [as('flex.order.confirmed', conf('o3', 'f1', 1000), 'a')]);
    s = evolveFlexibility(s, registered('flex.order.updated', { orderId: 'o3', kw: 500, previousKw: 1000, at: '2023-07-03T15:00:00Z' }));
    assert.equal(flexOrders(s)[0]!.kw, 500);
    assert.equal(flexTotals(s).soldMwh, 0.5);
    const s2 = evolveFlexibility(s, registered('flex.order.fulfilled', { orderId: 'nope', deliveredMwh: 1, contractedMwh: 1, paymentGbp: 1, penaltyGbp: 0, netGbp: 1, periods: [] }));
    assert.equal(s2.orphanEvents, 1);
    assert.equal(s2.orders.size, 1);
  });

  test('stress windows, available windows and Beckn rejections are kept', () => {
    const s = fold(flexibilityProjection, [
      registered('grid.stress.expected', { stressId: 's1', forecastId: 'f', windowStart: '2023-07-03T16:00:00Z', windowEnd: '2023-07-03T18:00:00Z', kind: 'price-peak', peakCarbonGPerKwh: 200, peakPriceGbpPerMwh: 180, severity: 0.5 }),
      registered('compute.flexibility.available', { planId: 'p', windows: [{ windowStart: '2023-07-03T16:00:00Z', windowEnd: '2023-07-03T17:00:00Z', kw: 2000, marginalCostGbpPerMwh: 30, baselineKw: 6000 }] }),
      registered('beckn.request.rejected', { action: 'confirm', messageId: null, transactionId: null, bapId: null, httpStatus: 401, code: 'SIGNATURE', reason: 'bad signature', path: null }),
    ]);
    assert.equal(flexTotals(s).stressWindows, 1);
    assert.equal(s.available!.windows[0]!.kw, 2000);
    assert.equal(flexTotals(s).becknRejections, 1);
    assert.equal(s.recentRejections[0]!.code, 'SIGNATURE');
  });

  test('an empty ledger has empty totals', () => {
    const t = flexTotals(initialFlexibility);
    assert.equal(t.orders, 0);
    assert.equal(t.deliveredMwh, 0);
    assert.equal(orderMwh({ kw: 1000, windowStart: '2023-07-03T16:00:00Z', windowEnd: '2023-07-03T16:30:00Z' }), 0.5);
  });
});
