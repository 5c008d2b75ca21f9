import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { fold } from '../../../projections/index.ts';
import { orderStatement, settlementProjection } from '../../../projections/settlement/index.ts';
import { flexTotals, flexibilityProjection, orderMwh, flexOrders } from '../../../projections/flexibility/index.ts';
import { iso, registered, v1MeterRead, v1OrderConfirmed } from './helpers.ts';

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≠ ${b}`);

// The buyer cuts 200 kW to 50 kW at 17:10, ten minutes into the first half-hour of 17:00–18:00;
// the site (baseline 1,000 kW) meters 950 kW, a 50 kW reduction, throughout.
describe('a kW change inside a half-hour (time-weighted, the same in settlement and the flexibility projection)', { timeout: 10_000 }, () => {
  const start = Date.parse('2026-01-15T17:00:00Z');
  const end = start + 2 * HALF_HOUR_MS;
  const at = start + 10 * 60_000;
  const terms = v1OrderConfirmed({ orderId: 'u', offerId: 'x', startMs: start, endMs: end, kw: 200, price: 100, penalty: 200, baselineKw: 1000 });
  const update = registered('flex.order.updated', { orderId: 'u', kw: 50, previousKw: 200, at: iso(at) });
  const reads = [v1MeterRead(start, 475), v1MeterRead(start + HALF_HOUR_MS, 475)];

  test('settlement contracts 200 kW for 10 minutes and 50 kW for 20 in the half-hour of the change', () => {
    const st = orderStatement(fold(settlementProjection, [terms, update, ...reads]), 'u')!;
    // (200 × 10 + 50 × 20) / 30 = 100 kW mean in the first half-hour; 50 kW in the second.
    assert.deepEqual(st.lines.map((l) => l.contractedKw), [100, 50]);
    assert.deepEqual(st.lines.map((l) => l.contractedMwh), [0.05, 0.025]);
    assert.deepEqual(st.lines.map((l) => l.deliveredMwh), [0.025, 0.025]);
    close(st.totals.contractedMwh, 0.075);
    close(st.totals.deliveredMwh, 0.05);
    // £5 paid for 0.05 MWh; the first ten minutes short by 150 kW: 0.025 MWh × £200.
    assert.equal(st.totals.paymentGbp, 5);
    assert.equal(st.totals.penaltyGbp, 5);
    assert.equal(st.totals.netGbp, 0);
  });

  test('the flexibility projection sells the same MWh as settlement contracts (and the whole window at one kW when nothing changes inside it)', () => {
    const events = [terms, update];
    const st = orderStatement(fold(settlementProjection, [...events, ...reads]), 'u')!;
    const f = fold(flexibilityProjection, events as never);
    close(flexTotals(f).soldMwh, st.totals.contractedMwh);
    close(orderMwh(flexOrders(f)[0]!), 0.075);
    assert.equal(flexOrders(f)[0]!.kw, 50);
    // A change before the window, or none at all, leaves the whole window at one kW.
    const early = registered('flex.order.updated', { orderId: 'u', kw: 50, previousKw: 200, at: iso(start - 60_000) });
    const before = orderStatement(fold(settlementProjection, [terms, early, ...reads]), 'u')!;
    assert.deepEqual(before.lines.map((l) => l.contractedKw), [50, 50]);
    close(flexTotals(fold(flexibilityProjection, [terms, early] as never)).soldMwh, 0.05);
    close(flexTotals(fold(flexibilityProjection, [terms] as never)).soldMwh, 0.2);
  });

  test('a re-sent confirmation after a cut keeps the cut; a cancellation mid-window sells what settlement contracts up to it', () => {
    const again = fold(flexibilityProjection, [terms, update, terms] as never);
    close(flexTotals(again).soldMwh, 0.075);
    assert.equal(flexOrders(again)[0]!.kw, 50);
    // Cancelled by the buyer at 17:40: 200 kW for 10 minutes, 50 kW for 30.
    const cancel = registered('flex.order.cancelled', { orderId: 'u', at: iso(start + 40 * 60_000), reason: 'stress eased', by: 'buyer' });
    const settled = orderStatement(fold(settlementProjection, [terms, update, cancel, ...reads]), 'u')!;
    const f = fold(flexibilityProjection, [terms, update, cancel] as never);
    close(settled.totals.contractedMwh, (200 * 10 + 50 * 30) / 60 / 1000);
    close(flexTotals(f).soldMwh, settled.totals.contractedMwh);
    // Cancelled before the window: nothing sold, nothing contracted.
    const early = registered('flex.order.cancelled', { orderId: 'u', at: iso(start - 60_000), reason: 'stress eased', by: 'buyer' });
    close(flexTotals(fold(flexibilityProjection, [terms, early] as never)).soldMwh, 0);
    close(orderStatement(fold(settlementProjection, [terms, early, ...reads]), 'u')!.totals.contractedMwh, 0);
  });
});
