// test-file-timeout: 240
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { natsBapUri, natsBppUri, natsMarketUri, DEFAULT_DOMAIN } from '../../beckn/index.ts';
import { natsServerInstalled, NatsServerProcess } from '../../deploy/local/nats-server.ts';
import { BAP_ID, BPP_ID, dataOf, flatForecast, flexibility, HOUR, meterRead, ofType, startMarket, stress, T0, type MarketOptions } from './harness.ts';

/**
 * The grid operator buys over the NATS binding (a real nats-server of our own): the whole
 * negotiation — search, select, init, confirm, activation, status pushes, settlement,
 * rating — and the ledger is the HTTP run's with the same seed, event for event, once the
 * addresses (`http://…` ↔ `nats:…`) are read as the same.
 */

const HALF = HOUR / 2;
const at = (h: number) => T0 + h * HOUR;

async function negotiate(opts: MarketOptions) {
  const m = await startMarket({ seed: 'nats-vs-http', coordination: { sellShare: 1 }, ...opts });
  try {
    await m.emit(
      'compute.flexibility.available',
      flexibility('plan-1', [
        { startMs: at(4), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 },
        { startMs: at(5), kw: 1200, costGbpPerMwh: 80, baselineKw: 9500 },
      ]),
    );
    await m.emit('grid.stress.expected', stress(at(4), at(6)));
    await m.advanceTo(at(4));
    await m.advanceTo(at(4) + HALF);
    await m.emit('site.meter.read', meterRead(at(4), 8000));
    await m.advanceTo(at(5));
    await m.emit('site.meter.read', meterRead(at(4) + HALF, 8300));
    await m.advanceTo(at(5) + HALF);
    await m.emit('site.meter.read', meterRead(at(5), 8500));
    await m.advanceTo(at(6));
    await m.emit('site.meter.read', meterRead(at(5) + HALF, 8400));
    const events = await m.events();
    const audit = await verifyLedger(m.store, m.keyring);
    assert.ok(audit.ok, JSON.stringify(audit.firstBroken));
    return { events, recorded: m.recorded };
  } finally {
    await m.close();
  }
}

const NATS_BAP = natsBapUri(DEFAULT_DOMAIN, BAP_ID);
const NATS_BPP = natsBppUri(DEFAULT_DOMAIN, BPP_ID);
const NATS_MARKET = natsMarketUri(DEFAULT_DOMAIN);

test('a full negotiation over NATS ends in the same orders, settlement and ratings as over HTTP, and the same ledger but for the addresses', { skip: !natsServerInstalled() && process.env['CI'] !== 'true' ? 'nats-server not installed' : false }, async () => {
  const server = await NatsServerProcess.start();
  try {
    const overHttp = await negotiate({ transport: 'http' });
    const overNats = await negotiate({ transport: 'nats', natsUrl: server.url });

    // Over NATS, the addresses on the ledger are subjects: the BAP's callback subject, the BPP's market.
    const confirmed = ofType(overNats.events, 'flex.order.confirmed').map((e) => dataOf<{ orderId: string; offerId: string; kw: number; priceGbpPerMwh: number; bapUri: string }>(e));
    assert.equal(confirmed.length, 2);
    assert.deepEqual([...new Set(confirmed.map((c) => c.bapUri))], [NATS_BAP]);
    const targets = new Set(ofType(overNats.events, 'beckn.callback.scheduled').map((e) => dataOf<{ target: string }>(e).target));
    assert.deepEqual([...targets], [NATS_BAP]);
    // The search goes to the market's subject, the rest to the BPP that answered it (its bpp_uri).
    const sent = ofType(overNats.events, 'beckn.request.scheduled').map((e) => dataOf<{ target: string; action: string }>(e));
    assert.deepEqual([...new Set(sent.filter((r) => r.action === 'search').map((r) => r.target))], [NATS_MARKET]);
    assert.deepEqual([...new Set(sent.filter((r) => r.action !== 'search').map((r) => r.target))], [NATS_BPP]);
    // Every callback was taken (ACK over NATS request/reply), none failed.
    assert.equal(ofType(overNats.events, 'outbox.effect.failed').length, 0);
    assert.ok(ofType(overNats.events, 'outbox.effect.sent').every((e) => dataOf<{ ack: string }>(e).ack === 'ACK'));
    assert.equal(ofType(overNats.events, 'beckn.request.rejected').length, 0);
    // What was said: the whole vocabulary of the flow went over NATS.
    assert.deepEqual([...new Set(overNats.recorded.filter((r) => r.direction === 'sent').map((r) => r.action))].sort(), ['confirm', 'init', 'rating', 'search', 'select']);
    assert.deepEqual([...new Set(overNats.recorded.filter((r) => r.direction === 'received').map((r) => r.action))].sort(), ['on_confirm', 'on_init', 'on_rating', 'on_search', 'on_select', 'on_status']);

    // Orders and totals, transport by transport.
    const outcome = (events: typeof overNats.events) => ({
      confirmed: ofType(events, 'flex.order.confirmed').map((e) => { const d = dataOf<{ orderId: string; offerId: string; kw: number; priceGbpPerMwh: number }>(e); return [d.orderId, d.offerId, d.kw, d.priceGbpPerMwh]; }),
      fulfilled: ofType(events, 'flex.order.fulfilled').map((e) => { const d = dataOf<{ orderId: string; deliveredMwh: number; paymentGbp: number; penaltyGbp: number; netGbp: number }>(e); return [d.orderId, d.deliveredMwh, d.paymentGbp, d.penaltyGbp, d.netGbp]; }),
      rated: ofType(events, 'flex.order.rated').map((e) => dataOf<{ orderId: string; value: number }>(e)),
      ordered: ofType(events, 'market.purchase.ordered').map((e) => dataOf<{ orderId: string; committedGbp: number }>(e)),
    });
    const h = outcome(overHttp.events);
    const n = outcome(overNats.events);
    assert.equal(h.fulfilled.length, 2);
    assert.deepEqual(n, h);
    // 0.85 MWh of 1 at £90 less 0.15 MWh × £108, and 1 MWh at £110.
    assert.deepEqual(n.fulfilled.map((f) => f[4]).sort(), [110, 60.3].sort());

    // The whole ledger: the same events in the same order with the same data, once the addresses are read as the same.
    assertSameLedger(overHttp.events, overNats.events);
  } finally {
    await server.dispose();
  }
});

/** The same events in the same order with the same data, once the addresses are read as the same. */
function assertSameLedger(http: ReadonlyArray<{ stream: string; type: string; data: unknown }>, nats: typeof http): void {
  const same = (events: typeof http) =>
    events.map((e) => `${e.stream} ${e.type} ${JSON.stringify(e.data).replaceAll(NATS_BAP, 'http://grid-operator.caco.local/beckn').replaceAll(NATS_BPP, 'http://bpp.caco.local/beckn').replaceAll(NATS_MARKET, 'http://bpp.caco.local/beckn')}`);
  const a = same(http);
  const b = same(nats);
  assert.equal(b.length, a.length);
  for (let i = 0; i < a.length; i++) assert.equal(b[i], a[i], `event ${i}`);
}

async function changes(opts: MarketOptions) {
  const m = await startMarket({ seed: 'nats-vs-http-changes', coordination: { sellShare: 1 }, gridOperatorConfig: { budgetGbpPerDay: 150, maxPriceGbpPerMwh: 120 }, ...opts });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }, { startMs: at(5), kw: 1500, costGbpPerMwh: 80, baselineKw: 9000 }]));
    await m.emit('grid.stress.expected', stress(at(4), at(6), 'price-peak', 180));
    await m.emit('grid.forecast.published', flatForecast(at(0), 150));
    await m.emit('grid.forecast.published', flatForecast(at(0), 100));
    return await m.events();
  } finally {
    await m.close();
  }
}

test('update and cancel over NATS: the grid operator halves then cancels its orders, as over HTTP', { skip: !natsServerInstalled() && process.env['CI'] !== 'true' ? 'nats-server not installed' : false }, async () => {
  const server = await NatsServerProcess.start();
  try {
    const overHttp = await changes({ transport: 'http' });
    const overNats = await changes({ transport: 'nats', natsUrl: server.url });
    assert.deepEqual(ofType(overNats, 'beckn.request.scheduled').map((e) => dataOf<{ action: string }>(e).action).filter((a) => a === 'update' || a === 'cancel').sort(), ['cancel', 'cancel', 'update', 'update']);
    assert.equal(ofType(overNats, 'flex.order.updated').length, 2);
    assert.equal(ofType(overNats, 'flex.order.cancelled').length, 2);
    assert.deepEqual(ofType(overNats, 'market.purchase.changed').map((e) => dataOf<{ change: string }>(e).change), ['updated', 'updated', 'cancelled', 'cancelled']);
    assert.equal(ofType(overNats, 'outbox.effect.failed').length, 0);
    assertSameLedger(overHttp, overNats);
  } finally {
    await server.dispose();
  }
});
