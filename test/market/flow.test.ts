import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { dataOf, flexibility, HOUR, meterRead, ofType, startMarket, stress, T0 } from './harness.ts';

const HALF = HOUR / 2;
const at = (h: number) => T0 + h * HOUR;

test('full flow over signed HTTP: stress → search → select → init → confirm → activation → telemetry → fulfilled with settlement → rating', async () => {
  // The whole sheddable load is for sale here, so the numbers are easy to follow.
  const m = await startMarket({ coordination: { sellShare: 1 } });
  try {
    // 14:00–15:00 at cost £60 (+£30 margin = £90/MWh), 15:00–16:00 at £80 (→ £110); the
    // 14:30–15:30 window is not on the hour grid and is not offered.
    await m.emit(
      'compute.flexibility.available',
      flexibility('plan-1', [
        { startMs: at(4), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 },
        { startMs: at(4.5), kw: 1500, costGbpPerMwh: 70, baselineKw: 9000 },
        { startMs: at(5), kw: 1200, costGbpPerMwh: 80, baselineKw: 9500 },
      ]),
    );
    let ev = await m.events();
    const offers = ofType(ev, 'flex.offer.published').map((e) => dataOf<{ offerId: string; priceGbpPerMwh: number; availableKw: number; penaltyGbpPerMwh: number }>(e));
    assert.deepEqual(offers.map((o) => [o.offerId, o.priceGbpPerMwh, o.availableKw]), [
      ['flex-20260115-sp29-30', 90, 1500],
      ['flex-20260115-sp31-32', 110, 1200],
    ]);
    assert.equal(offers[0]!.penaltyGbpPerMwh, 108);

    // The same plan again changes nothing material: no new offer events.
    await m.emit('compute.flexibility.available', flexibility('plan-2', [{ startMs: at(4), kw: 1490, costGbpPerMwh: 60.5, baselineKw: 9010 }, { startMs: at(5), kw: 1200, costGbpPerMwh: 80, baselineKw: 9500 }]));
    assert.equal(ofType(await m.events(), 'flex.offer.published').length, 2);

    await m.emit('grid.stress.expected', stress(at(4), at(6)));
    ev = await m.events();
    for (const [type, n] of [
      ['market.purchase.searched', 1],
      ['market.purchase.selected', 1],
      ['flex.order.selected', 2],
      ['market.purchase.quoted', 2],
      ['flex.order.initialized', 2],
      ['flex.order.confirmed', 2],
      ['market.purchase.ordered', 2],
    ] as const) assert.equal(ofType(ev, type).length, n, type);
    const confirmed = ofType(ev, 'flex.order.confirmed').map((e) => dataOf<{ orderId: string; offerId: string; kw: number; priceGbpPerMwh: number; baselineKw: number; bapUri: string }>(e));
    assert.deepEqual(confirmed.map((c) => [c.offerId, c.kw, c.priceGbpPerMwh, c.baselineKw]).sort(), [
      ['flex-20260115-sp29-30', 1000, 90, 9000],
      ['flex-20260115-sp31-32', 1000, 110, 9500],
    ]);
    // The ledger names the logical URI, never the loopback port.
    assert.equal(confirmed[0]!.bapUri, 'http://grid-operator.caco.local/beckn');
    const ordered = ofType(ev, 'market.purchase.ordered').map((e) => dataOf<{ orderId: string; committedGbp: number }>(e));
    assert.deepEqual(ordered.map((o) => o.committedGbp).sort((a, b) => a - b), [90, 110]);
    // The BPP's order ids are the ones the BAP recorded.
    assert.deepEqual(ordered.map((o) => o.orderId).sort(), confirmed.map((c) => c.orderId).sort());
    // Sold capacity is gone from the catalogue: 1500 − 1000 = 500 kW left of the first item.
    const st = m.coordination();
    const first = confirmed.find((c) => c.offerId === 'flex-20260115-sp29-30')!;
    assert.equal(st.orders.get(first.orderId)!.phase, 'confirmed');

    // The window starts: activation and a status push.
    await m.advanceTo(at(4));
    ev = await m.events();
    const activated = ofType(ev, 'flex.order.activated').map((e) => dataOf<{ orderId: string; capKw: number }>(e));
    assert.deepEqual(activated, [{ orderId: first.orderId, at: new Date(at(4)).toISOString(), capKw: 8000 }]);
    assert.equal(ofType(ev, 'market.delivery.reported').map((e) => dataOf<{ state: string }>(e).state).join(), 'IN_PROGRESS');

    // Metered: 8000 kW (1000 delivered) then 8300 kW (700 delivered) against a 9000 kW baseline.
    await m.advanceTo(at(4) + HALF);
    await m.emit('site.meter.read', meterRead(at(4), 8000));
    await m.advanceTo(at(5));
    await m.emit('site.meter.read', meterRead(at(4) + HALF, 8300));
    await m.advanceTo(at(5) + HALF);
    await m.emit('site.meter.read', meterRead(at(5), 8500));
    await m.advanceTo(at(6));
    await m.emit('site.meter.read', meterRead(at(5) + HALF, 8400));

    ev = await m.events();
    const fulfilled = ofType(ev, 'flex.order.fulfilled').map((e) => dataOf<{ orderId: string; deliveredMwh: number; contractedMwh: number; paymentGbp: number; penaltyGbp: number; netGbp: number; periods: unknown[] }>(e));
    assert.equal(fulfilled.length, 2);
    const f1 = fulfilled.find((f) => f.orderId === first.orderId)!;
    // 0.5 + 0.35 MWh delivered of 1.0; £90 × 0.85 = £76.50; 0.15 MWh short × £108 = £16.20.
    assert.deepEqual([f1.deliveredMwh, f1.contractedMwh, f1.paymentGbp, f1.penaltyGbp, f1.netGbp], [0.85, 1, 76.5, 16.2, 60.3]);
    assert.deepEqual(f1.periods, [
      { settlementDate: '2026-01-15', settlementPeriod: 29, baselineKwh: 4500, meteredKwh: 4000, deliveredKwh: 500 },
      { settlementDate: '2026-01-15', settlementPeriod: 30, baselineKwh: 4500, meteredKwh: 4150, deliveredKwh: 350 },
    ]);
    const f2 = fulfilled.find((f) => f.orderId !== first.orderId)!;
    assert.deepEqual([f2.deliveredMwh, f2.paymentGbp, f2.penaltyGbp], [1, 110, 0]);

    // Telemetry reached the BAP each half-hour; the completion carried the settlement.
    const reports = ofType(ev, 'market.delivery.reported').map((e) => dataOf<{ orderId: string; state: string; deliveredKw: number | null; settledGbp: number | null }>(e));
    const r1 = reports.filter((r) => r.orderId === first.orderId);
    assert.deepEqual(r1.map((r) => r.state), ['IN_PROGRESS', 'IN_PROGRESS', 'COMPLETED']);
    assert.equal(r1[1]!.deliveredKw, 1000);
    assert.equal(r1[2]!.settledGbp, 60.3);

    // The buyer rated both: 85 % delivered → 4 stars, 100 % → 5.
    const rated = ofType(ev, 'flex.order.rated').map((e) => dataOf<{ orderId: string; value: number }>(e));
    assert.deepEqual(rated.map((r) => [r.orderId === first.orderId, r.value]).sort(), [[false, 5], [true, 4]]);
    assert.equal(ofType(ev, 'market.delivery.rated').length, 2);
    assert.equal(ofType(ev, 'beckn.request.rejected').length, 0);

    const audit = await verifyLedger(m.store, m.keyring);
    assert.ok(audit.ok, JSON.stringify(audit.firstBroken));
  } finally {
    await m.close();
  }
});
