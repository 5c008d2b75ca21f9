import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { dayStatement, evolveSettlement, initialSettlementState, METER_MISSING_AFTER_MS, orderStatement, settlementProjection, toCsv } from '../../../projections/settlement/index.ts';
import { baselineFor, confirmed, dayBounds, halfHourReads, iso, registered, v1MeterRead, v1OfferPublished, v1OrderConfirmed } from './helpers.ts';
import { fold } from '../../../projections/index.ts';

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≠ ${b}`);

describe('settlement on a normal day (2026-01-15, 48 periods)', () => {
  const start = Date.parse('2026-01-15T17:00:00Z'); // settlement period 35
  const end = Date.parse('2026-01-15T19:00:00Z');
  const day = dayBounds('2026-01-15');
  const metered = [10_000, 10_500, 9_000, 12_000]; // periods 35..38
  const events = [
    { type: 'flex.offer.published', data: { itemId: 'flex-20260115-sp35-38', windowStart: iso(start), windowEnd: iso(end), kw: 2000, priceGbpPerMwh: 95, penaltyGbpPerMwh: 120, baselineMethod: 'scheduled-load-profile', baselineKw: baselineFor(start, end, () => 11_500) } },
    { type: 'flex.order.confirmed', data: { orderId: 'ord-1', itemId: 'flex-20260115-sp35-38', kw: 1500, windowStart: iso(start), windowEnd: iso(end), priceGbpPerMwh: 95, penaltyGbpPerMwh: 120 } },
    { type: 'flex.order.activated', data: { orderId: 'ord-1' } },
    ...halfHourReads(day.startMs, day.endMs, (p) => (p >= start && p < end ? metered[(p - start) / HALF_HOUR_MS]! : 11_000)),
  ];
  const s = fold(settlementProjection, events);

  test('per period: delivered = baseline − metered, capped at the contract and at 0', () => {
    const st = orderStatement(s, 'ord-1')!;
    assert.equal(st.phase, 'active');
    assert.equal(st.baselineMethod, 'scheduled-load-profile');
    assert.deepEqual(st.lines.map((l) => l.settlementPeriod), [35, 36, 37, 38]);
    assert.deepEqual(st.lines.map((l) => l.deliveredKw), [1500, 1000, 1500, 0]);
    assert.deepEqual(st.lines.map((l) => l.deliveredMwh), [0.75, 0.5, 0.75, 0]);
    assert.deepEqual(st.lines.map((l) => l.shortfallMwh), [0, 0.25, 0, 0.75]);
    assert.deepEqual(st.lines.map((l) => l.paymentGbp), [71.25, 47.5, 71.25, 0]);
    assert.deepEqual(st.lines.map((l) => l.penaltyGbp), [0, 30, 0, 90]);
    assert.deepEqual(st.lines.map((l) => l.netGbp), [71.25, 17.5, 71.25, -90]);
    assert.deepEqual(st.totals, { contractedMwh: 3, deliveredMwh: 2, shortfallMwh: 1, paymentGbp: 190, penaltyGbp: 120, netGbp: 70, periodsSettled: 4, periodsPending: 0, periodsMeterMissing: 0, periodsNoBaseline: 0 });
  });

  test('the day statement lists all 48 periods and agrees with the order', () => {
    const d = dayStatement(s, '2026-01-15');
    assert.equal(d.periods, 48);
    assert.equal(d.lines.length, 48);
    assert.deepEqual(d.lines.filter((l) => l.orders > 0).map((l) => l.settlementPeriod), [35, 36, 37, 38]);
    assert.equal(d.lines[0]!.status, 'no-orders');
    assert.equal(d.lines[0]!.siteImportKwh, 5500);
    assert.equal(d.lines[34]!.meteredKw, 10_000);
    assert.deepEqual(d.totals, orderStatement(s, 'ord-1')!.totals);
    assert.deepEqual(d.orders, [{ orderId: 'ord-1', totals: d.totals }]);
  });

  test('periods without meter data are pending, not paid and not penalised', () => {
    const partial = fold(settlementProjection, events.filter((e) => !(e.type === 'site.meter.read' && (e.data as { intervalStart: string }).intervalStart >= iso(end - HALF_HOUR_MS))));
    const st = orderStatement(partial, 'ord-1')!;
    assert.deepEqual(st.lines.map((l) => l.status), ['settled', 'settled', 'settled', 'pending-meter']);
    assert.equal(st.totals.penaltyGbp, 30);
    assert.equal(st.totals.periodsPending, 1);
    assert.equal(dayStatement(partial, '2026-01-15').lines[37]!.status, 'pending-meter');
  });

  test('a half-hour never read settles as not delivered once the meters have read 24 h past it, and a late read still settles it', () => {
    const gap = start; // period 35, 1.5 MW delivered when read: the site was down and no read of it came
    const withoutGap = events.filter((e) => !(e.type === 'site.meter.read' && (e.data as { intervalStart: string }).intervalStart === iso(gap)));
    const after = (lastEndMs: number) => halfHourReads(day.endMs, lastEndMs, () => 11_000);
    // Up to 23.5 h past the gap's end: still waiting for the read.
    const waiting = orderStatement(fold(settlementProjection, [...withoutGap, ...after(gap + METER_MISSING_AFTER_MS)]), 'ord-1')!;
    assert.deepEqual(waiting.lines.map((l) => l.status), ['pending-meter', 'settled', 'settled', 'settled']);
    assert.equal(waiting.totals.periodsPending, 1);
    // 24 h past it: given up, a shortfall of the whole contracted half-hour at the penalty rate.
    const s2 = fold(settlementProjection, [...withoutGap, ...after(gap + HALF_HOUR_MS + METER_MISSING_AFTER_MS)]);
    const given = orderStatement(s2, 'ord-1')!;
    assert.deepEqual(given.lines.map((l) => l.status), ['meter-missing', 'settled', 'settled', 'settled']);
    assert.deepEqual(given.lines[0], { ...given.lines[0]!, deliveredKw: 0, deliveredMwh: 0, shortfallMwh: 0.75, paymentGbp: 0, penaltyGbp: 90, netGbp: -90, meteredKw: null });
    assert.deepEqual(given.totals, { contractedMwh: 3, deliveredMwh: 1.25, shortfallMwh: 1.75, paymentGbp: 118.75, penaltyGbp: 210, netGbp: -91.25, periodsSettled: 3, periodsPending: 0, periodsMeterMissing: 1, periodsNoBaseline: 0 });
    assert.equal(dayStatement(s2, '2026-01-15').lines[34]!.status, 'meter-missing');
    // One read dated far ahead is one half-hour read, not a day of them: still waiting.
    const farAhead = { type: 'site.meter.read', data: { meterId: 'site-lon-01/import', intervalStart: '9999-01-01T00:00:00.000Z', intervalEnd: '9999-01-01T00:30:00.000Z', importKwh: 1 } };
    assert.deepEqual(orderStatement(fold(settlementProjection, [...withoutGap, farAhead]), 'ord-1')!.lines.map((l) => l.status), ['pending-meter', 'settled', 'settled', 'settled']);
    // The read arrives at last: settled from it, as if it had come in time.
    const late = fold(settlementProjection, [...withoutGap, ...after(gap + HALF_HOUR_MS + METER_MISSING_AFTER_MS), ...events.filter((e) => e.type === 'site.meter.read' && (e.data as { intervalStart: string }).intervalStart === iso(gap))]);
    assert.deepEqual(orderStatement(late, 'ord-1')!.totals, { ...orderStatement(s, 'ord-1')!.totals });
  });

  test('CSV: a header and one row per period, numbers at fixed precision', () => {
    const csv = toCsv(orderStatement(s, 'ord-1')!);
    const rows = csv.trimEnd().split('\r\n');
    assert.equal(rows.length, 5);
    assert.equal(rows[0], 'order_id,settlement_date,settlement_period,start_utc,end_utc,active_fraction,contracted_kw,baseline_kw,metered_kw,delivered_kw,contracted_mwh,delivered_mwh,shortfall_mwh,price_gbp_per_mwh,payment_gbp,penalty_gbp_per_mwh,penalty_gbp,net_gbp,status');
    assert.equal(rows[2], 'ord-1,2026-01-15,36,2026-01-15T17:30:00Z,2026-01-15T18:00:00Z,1.000000,1500.000,11500.000,10500.000,1000.000,0.750000,0.500000,0.250000,95.00,47.50,120.00,30.00,17.50,settled');
    const dayCsv = toCsv(dayStatement(s, '2026-01-15')).trimEnd().split('\r\n');
    assert.equal(dayCsv.length, 49);
    assert.ok(dayCsv[35]!.startsWith('2026-01-15,35,2026-01-15T17:00:00Z,2026-01-15T17:30:00Z,5000.000000,10000.000,complete,1,'), dayCsv[35]);
  });

  test('CSV quotes fields that need it', () => {
    const odd = fold(settlementProjection, [confirmed({ orderId: 'ord,"x"', kw: 100, startMs: start, endMs: start + HALF_HOUR_MS, price: 1, penalty: 0, baselineKw: baselineFor(start, end, () => 1) })]);
    assert.ok(toCsv(orderStatement(odd, 'ord,"x"')!).split('\r\n')[1]!.startsWith('"ord,""x""",'));
  });
});

describe('settlement on clock-change days', () => {
  for (const [date, periods] of [['2023-03-26', 46], ['2023-10-29', 50], ['2023-06-01', 48]] as const) {
    test(`${date}: ${periods} periods, each settled`, () => {
      const d = dayBounds(date);
      assert.equal(d.periods, periods);
      const s = fold(settlementProjection, [
        confirmed({ orderId: 'all-day', kw: 1000, startMs: d.startMs, endMs: d.endMs, price: 100, penalty: 50, baselineKw: baselineFor(d.startMs, d.endMs, () => 5000) }),
        ...halfHourReads(d.startMs - 4 * HALF_HOUR_MS, d.endMs + 4 * HALF_HOUR_MS, () => 4200),
      ]);
      const day = dayStatement(s, date);
      assert.equal(day.lines.length, periods);
      assert.deepEqual(day.lines.map((l) => l.settlementPeriod), Array.from({ length: periods }, (_, i) => i + 1));
      assert.ok(day.lines.every((l) => l.status === 'settled' && l.deliveredMwh === 0.4));
      close(day.totals.contractedMwh, periods * 0.5);
      close(day.totals.deliveredMwh, periods * 0.4);
      close(day.totals.shortfallMwh, periods * 0.1);
      close(day.totals.paymentGbp, periods * 40);
      close(day.totals.penaltyGbp, periods * 5);
      assert.deepEqual(orderStatement(s, 'all-day')!.totals, day.totals);
    });
  }

  test('2023-03-26: period 3 starts at 02:00 BST, which is 01:00 UTC', () => {
    const d = dayBounds('2023-03-26');
    const s = fold(settlementProjection, [confirmed({ orderId: 'o', kw: 1, startMs: d.startMs, endMs: d.endMs, price: 1, penalty: 1 })]);
    const line = dayStatement(s, '2023-03-26').lines[2]!;
    assert.equal(line.startUtc, '2023-03-26T01:00:00Z');
  });

  test('2023-10-29 local 00:00-03:00 is four hours: eight periods, 4 MWh contracted', () => {
    const startMs = Date.parse('2023-10-28T23:00:00Z'); // 00:00 BST
    const endMs = Date.parse('2023-10-29T03:00:00Z'); // 03:00 GMT
    const s = fold(settlementProjection, [
      confirmed({ orderId: 'night', kw: 1000, startMs, endMs, price: 80, penalty: 0, baselineKw: baselineFor(startMs, endMs, () => 3000) }),
      ...halfHourReads(startMs, endMs, () => 2000),
    ]);
    const st = orderStatement(s, 'night')!;
    assert.deepEqual(st.lines.map((l) => `${l.settlementDate}/${l.settlementPeriod}`), [1, 2, 3, 4, 5, 6, 7, 8].map((p) => `2023-10-29/${p}`));
    assert.equal(st.totals.contractedMwh, 4);
    assert.equal(st.totals.paymentGbp, 320);
  });
});

describe('baseline, updates, cancellation and shared periods', () => {
  const start = Date.parse('2026-02-02T10:00:00Z');
  const end = start + 2 * HALF_HOUR_MS;
  const reads = halfHourReads(start, end, () => 9000);

  test('the default baseline is the offer plan at confirmation; a later re-plan does not move it', () => {
    const publish = (kw: number) => ({ type: 'flex.offer.published', data: { itemId: 'item-a', windowStart: iso(start), windowEnd: iso(end), kw: 1000, priceGbpPerMwh: 100, penaltyGbpPerMwh: 0, baselineMethod: 'scheduled-load-profile', baselineKw: baselineFor(start, end, () => kw) } });
    const s = fold(settlementProjection, [publish(10_000), confirmed({ orderId: 'a', itemId: 'item-a', kw: 1000, startMs: start, endMs: end, price: 100, penalty: 0 }), publish(9_000), ...reads]);
    assert.deepEqual(orderStatement(s, 'a')!.lines.map((l) => l.baselineKw), [10_000, 10_000]);
    assert.equal(orderStatement(s, 'a')!.totals.deliveredMwh, 1);
  });

  test('a baseline named in the order wins; no baseline at all means no settlement for that period', () => {
    const s = fold(settlementProjection, [
      confirmed({ orderId: 'declared', kw: 1000, startMs: start, endMs: end, price: 100, penalty: 10, baselineKw: baselineFor(start, start + HALF_HOUR_MS, () => 9500) }),
      ...reads,
    ]);
    const st = orderStatement(s, 'declared')!;
    assert.equal(st.baselineMethod, 'declared');
    assert.deepEqual(st.lines.map((l) => [l.status, l.deliveredKw]), [['settled', 500], ['no-baseline', 0]]);
  });

  test('an update changes the contracted kW from its effective time', () => {
    const s = fold(settlementProjection, [
      confirmed({ orderId: 'u', kw: 2000, startMs: start, endMs: end, price: 100, penalty: 100, baselineKw: baselineFor(start, end, () => 10_500) }),
      { type: 'flex.order.updated', data: { orderId: 'u', kw: 1000, effectiveFrom: iso(start + HALF_HOUR_MS) } },
      ...reads,
    ]);
    const st = orderStatement(s, 'u')!;
    assert.deepEqual(st.lines.map((l) => l.contractedKw), [2000, 1000]);
    assert.deepEqual(st.lines.map((l) => l.deliveredKw), [1500, 1000]);
    assert.deepEqual(st.lines.map((l) => l.penaltyGbp), [25, 0]);
  });

  test('cancelled before the window: nothing settled; during it: only the half-hours already started', () => {
    const base = confirmed({ orderId: 'c', kw: 1000, startMs: start, endMs: end, price: 100, penalty: 100, baselineKw: baselineFor(start, end, () => 10_000) });
    const before = fold(settlementProjection, [base, { type: 'flex.order.cancelled', data: { orderId: 'c', at: iso(start - 3_600_000) } }, ...reads]);
    assert.equal(orderStatement(before, 'c')!.lines.length, 0);
    assert.equal(orderStatement(before, 'c')!.phase, 'cancelled');
    const during = fold(settlementProjection, [base, { type: 'flex.order.cancelled', data: { orderId: 'c', at: iso(start + 10 * 60_000) } }, ...reads]);
    const st = orderStatement(during, 'c')!;
    assert.equal(st.lines.length, 1);
    assert.ok(Math.abs(st.lines[0]!.activeFraction - 1 / 3) < 1e-6);
  });

  test('two orders in one half-hour share the reduction in proportion; it is not paid twice', () => {
    const s = fold(settlementProjection, [
      confirmed({ orderId: 'x', kw: 1000, startMs: start, endMs: start + HALF_HOUR_MS, price: 100, penalty: 0, baselineKw: baselineFor(start, end, () => 10_500) }),
      confirmed({ orderId: 'y', kw: 500, startMs: start, endMs: start + HALF_HOUR_MS, price: 200, penalty: 0, baselineKw: baselineFor(start, end, () => 10_500) }),
      ...reads,
    ]);
    assert.equal(orderStatement(s, 'x')!.lines[0]!.deliveredKw, 1000);
    assert.equal(orderStatement(s, 'y')!.lines[0]!.deliveredKw, 500);
    const tight = fold(settlementProjection, [
      confirmed({ orderId: 'x', kw: 1000, startMs: start, endMs: start + HALF_HOUR_MS, price: 100, penalty: 0, baselineKw: baselineFor(start, end, () => 9600) }),
      confirmed({ orderId: 'y', kw: 500, startMs: start, endMs: start + HALF_HOUR_MS, price: 200, penalty: 0, baselineKw: baselineFor(start, end, () => 9600) }),
      ...reads,
    ]);
    const dx = orderStatement(tight, 'x')!.lines[0]!.deliveredKw;
    const dy = orderStatement(tight, 'y')!.lines[0]!.deliveredKw;
    close(dx + dy, 600);
    close(dx / dy, 2);
  });

  test('orders with impossible terms are reported, not settled; unknown references are ignored', () => {
    const s = fold(settlementProjection, [
      confirmed({ orderId: 'neg', kw: 1000, startMs: start, endMs: end, price: -5, penalty: 0 }),
      { type: 'flex.order.updated', data: { orderId: 'ghost', kw: 1, effectiveFrom: iso(start) } },
      ...reads,
    ]);
    const st = orderStatement(s, 'neg')!;
    assert.deepEqual(st.lines, []);
    assert.match(st.problems.join(), /priceGbpPerMwh/);
    assert.equal(s.ignored.length, 1);
    assert.equal(orderStatement(s, 'ghost'), undefined);
  });
});

describe('the registered v1 events (schemas/flex.ts, schemas/compute.ts)', () => {
  const start = Date.parse('2026-01-15T17:00:00Z');
  const end = Date.parse('2026-01-15T19:00:00Z');
  const metered = [10_000, 10_500, 9_000, 12_000];

  test('settle the same as the worked example: one baseline number for the whole window', () => {
    const s = fold(settlementProjection, [
      v1OfferPublished({ offerId: 'flex-20260115-sp35-38', startMs: start, endMs: end, kw: 2000, price: 95, penalty: 120, baselineKw: 11_500 }),
      v1OrderConfirmed({ orderId: 'ord-1', offerId: 'flex-20260115-sp35-38', startMs: start, endMs: end, kw: 1500, price: 95, penalty: 120, baselineKw: 11_500 }),
      registered('flex.order.activated', { orderId: 'ord-1', at: iso(start), capKw: 10_000 }),
      ...metered.map((kw, i) => v1MeterRead(start + i * HALF_HOUR_MS, kw / 2)),
    ]);
    const st = orderStatement(s, 'ord-1')!;
    assert.equal(st.phase, 'active');
    assert.deepEqual(st.lines.map((l) => l.deliveredKw), [1500, 1000, 1500, 0]);
    assert.deepEqual(st.totals, { contractedMwh: 3, deliveredMwh: 2, shortfallMwh: 1, paymentGbp: 190, penaltyGbp: 120, netGbp: 70, periodsSettled: 4, periodsPending: 0, periodsMeterMissing: 0, periodsNoBaseline: 0 });
  });

  test('an update applies from its time; a cancellation from its time', () => {
    const s = fold(settlementProjection, [
      v1OrderConfirmed({ orderId: 'o', offerId: 'x', startMs: start, endMs: end, kw: 1500, price: 100, penalty: 0, baselineKw: 12_000 }),
      registered('flex.order.updated', { orderId: 'o', kw: 1000, previousKw: 1500, at: iso(start + HALF_HOUR_MS) }),
      registered('flex.order.cancelled', { orderId: 'o', at: iso(start + 3 * HALF_HOUR_MS), reason: 'grid-need-withdrawn', by: 'buyer' }),
      ...metered.map((_, i) => v1MeterRead(start + i * HALF_HOUR_MS, 5000)),
    ]);
    const st = orderStatement(s, 'o')!;
    assert.deepEqual(st.lines.map((l) => l.contractedKw), [1500, 1000, 1000]);
    assert.equal(st.phase, 'cancelled');
  });
});

describe('the fold', () => {
  const start = Date.parse('2026-03-02T12:00:00Z');
  const end = start + 2 * HALF_HOUR_MS;

  test('evolve never changes a state it was given', () => {
    const events = [
      confirmed({ orderId: 'p', kw: 1000, startMs: start, endMs: end, price: 50, penalty: 50, baselineKw: baselineFor(start, end, () => 8000) }),
      ...halfHourReads(start, start + HALF_HOUR_MS, () => 7000),
    ];
    const mid = fold(settlementProjection, events);
    const before = JSON.stringify(orderStatement(mid, 'p'));
    let later = mid;
    for (const e of [...halfHourReads(start, end, () => 7500), { type: 'flex.order.cancelled', data: { orderId: 'p', at: iso(start) } }]) later = evolveSettlement(later, e);
    assert.equal(JSON.stringify(orderStatement(mid, 'p')), before);
    assert.notEqual(JSON.stringify(orderStatement(later, 'p')), before);
    assert.equal(evolveSettlement(initialSettlementState, { type: 'compute.job.submitted', data: {} }), initialSettlementState);
  });

  test('plans of offers long past are dropped, so an order on one has no baseline', () => {
    const publish = (itemId: string, s: number) => ({ type: 'flex.offer.published', data: { itemId, windowStart: iso(s), windowEnd: iso(s + HALF_HOUR_MS), kw: 1000, priceGbpPerMwh: 1, penaltyGbpPerMwh: 0, baselineMethod: 'scheduled-load-profile', baselineKw: baselineFor(s, s + HALF_HOUR_MS, () => 5000) } });
    const s = fold(settlementProjection, [publish('old', start), publish('new', start + 8 * 86_400_000), confirmed({ orderId: 'late', itemId: 'old', kw: 100, startMs: start, endMs: start + HALF_HOUR_MS, price: 1, penalty: 0 })]);
    assert.deepEqual([...s.offers.keys()], ['new']);
    assert.equal(orderStatement(s, 'late')!.lines[0]!.status, 'no-baseline');
  });
});

describe('settlement properties', () => {
  const dates = ['2023-03-26', '2023-10-29', '2023-06-01', '2024-01-10'] as const;
  const orderArb = fc.record({
    startP: fc.integer({ min: 0, max: 49 }),
    lenP: fc.integer({ min: 1, max: 12 }),
    offsetMin: fc.constantFrom(0, 0, 0, 10, 20),
    kw: fc.integer({ min: 0, max: 5000 }),
    price: fc.integer({ min: 0, max: 50_000 }).map((p) => p / 100),
    penalty: fc.integer({ min: 0, max: 50_000 }).map((p) => p / 100),
    baseline: fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 52, maxLength: 52 }),
  });
  const scenario = fc.record({
    date: fc.constantFrom(...dates),
    orders: fc.array(orderArb, { minLength: 1, maxLength: 4 }),
    metered: fc.array(fc.option(fc.integer({ min: 0, max: 20_000 }), { freq: 8 }), { minLength: 60, maxLength: 60 }),
  });

  type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

  function build(sc: Scenario) {
    const d = dayBounds(sc.date);
    const events: Array<{ type: string; data: unknown }> = [];
    sc.orders.forEach((o, i) => {
      const s = d.startMs + o.startP * HALF_HOUR_MS + o.offsetMin * 60_000;
      const e = Math.min(d.endMs + 2 * HALF_HOUR_MS, s + o.lenP * HALF_HOUR_MS);
      const from = d.startMs - HALF_HOUR_MS;
      events.push(confirmed({ orderId: `o${i}`, kw: o.kw, startMs: s, endMs: e, price: o.price, penalty: o.penalty, baselineKw: baselineFor(from, d.endMs + 3 * HALF_HOUR_MS, (p) => o.baseline[(p - from) / HALF_HOUR_MS] ?? 0) }));
    });
    sc.metered.forEach((kw, i) => {
      const p = d.startMs - HALF_HOUR_MS + i * HALF_HOUR_MS;
      if (kw !== null) events.push(...halfHourReads(p, p + HALF_HOUR_MS, () => kw));
    });
    return { state: fold(settlementProjection, events), orderIds: sc.orders.map((_, i) => `o${i}`) };
  }

  test('delivered ≤ contracted, payment ≥ 0 before penalty, and the periods add up to the day', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { state, orderIds } = build(sc);
        const day = dayStatement(state, sc.date);
        assert.equal(day.lines.length, dayBounds(sc.date).periods);
        const orderLinesToday = orderIds.flatMap((id) => orderStatement(state, id)!.lines.filter((l) => l.settlementDate === sc.date));
        for (const l of orderLinesToday) {
          assert.ok(l.deliveredKw >= 0 && l.deliveredKw <= l.contractedKw * l.activeFraction + 1e-9, `delivered ${l.deliveredKw} > contracted ${l.contractedKw} × ${l.activeFraction}`);
          assert.ok(l.deliveredMwh >= 0 && l.deliveredMwh <= l.contractedMwh);
          assert.ok(l.paymentGbp >= 0);
          assert.ok(l.shortfallMwh >= 0);
        }
        for (const key of ['contractedMwh', 'deliveredMwh', 'shortfallMwh', 'paymentGbp', 'penaltyGbp', 'netGbp'] as const) {
          const byPeriods = day.lines.reduce((s, l) => s + l[key], 0);
          const byOrders = orderLinesToday.reduce((s, l) => s + l[key], 0);
          close(day.totals[key], byPeriods, 1e-6);
          close(day.totals[key], byOrders, 1e-6);
        }
        // One half-hour's reduction is never credited twice across orders.
        for (const line of day.lines) {
          const ls = orderLinesToday.filter((l) => l.settlementPeriod === line.settlementPeriod && l.status === 'settled');
          if (ls.length === 0) continue;
          const maxReduction = Math.max(...ls.map((l) => Math.max(0, l.baselineKw! - l.meteredKw!)));
          assert.ok(ls.reduce((s, l) => s + l.deliveredKw, 0) <= maxReduction + 1e-6);
        }
      }),
      { numRuns: 100 },
    );
  });
});
