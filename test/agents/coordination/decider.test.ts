// test-file-timeout: 60
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContext, confirmRequest, initRequest, searchRequest, selectRequest, StaticKeyDirectory } from '../../../beckn/index.ts';
import { DeciderSpec } from '../../../core/testing/index.ts';
import { coordinationConfig, createCoordinationAgent, seededSigningKey, SIM_BPP, type CoordinationCmd, type CoordinationIn, type RequestBody } from '../../../agents/coordination/index.ts';
import type { BecknRequestAction } from '../../../schemas/beckn/index.ts';
import type { GivenEvent } from '../../../core/testing/index.ts';
import { flexibility, HOUR, meterRead, T0, TEST_BAP } from '../../market/harness.ts';
import { METER_MISSING_AFTER_MS } from '../../../projections/settlement/index.ts';
const HALF_HOUR = HOUR / 2;

/**
 * The coordination agent's deciders, given-when-then: no runtime, no HTTP, no clock but the
 * spec's. Each input kind: the compute agent's flexibility, a Beckn request (search, select,
 * init, confirm, and one for an offer that does not exist), a refusal to record, the
 * activation timer, a meter read.
 */

const agent = () =>
  createCoordinationAgent({
    // decide never reaches the runtime, the keys or the doors: those are the wiring's.
    runtime: {
      host: () => undefined,
      enqueue: () => {
        throw new Error('a decider never enqueues');
      },
      effectBacklog: () => 0,
    },
    signingKey: seededSigningKey('spec', SIM_BPP.id),
    keyDirectory: new StaticKeyDirectory([]),
    listen: false,
  });

const iso = (ms: number) => new Date(ms).toISOString();
const TXN = '0190f1a0-0000-7000-8000-000000000001';
const msg = (n: number) => `0190f1a0-0000-7000-8000-0000000001${String(n).padStart(2, '0')}`;
const ctx = <A extends BecknRequestAction>(action: A, n: number) =>
  buildContext({ action, bap: TEST_BAP, ...(action === 'search' ? {} : { bpp: SIM_BPP }), transactionId: TXN, messageId: msg(n), nowMs: T0 });
const handle = (body: RequestBody) => DeciderSpec.command<CoordinationCmd>({ type: 'flex.request.handle', data: { action: body.context.action, body } });

const plan = flexibility('p1', [{ startMs: T0 + 2 * HOUR, kw: 2000, costGbpPerMwh: 50, baselineKw: 5000 }]);
const flexEvent: GivenEvent<CoordinationIn> = { type: 'compute.flexibility.available', data: plan, time: iso(T0) };
const OFFER = 'flex-20260115-sp25-26';
const cfg = coordinationConfig();

/** The offer the first test sees published, as the rest are given it. */
async function published(): Promise<GivenEvent<CoordinationIn>> {
  const out = await DeciderSpec.for(agent()).given([flexEvent]).at(T0).when(DeciderSpec.event<CoordinationIn>(flexEvent));
  const e = out.decisions[0]!.events[0]!;
  assert.equal(e.type, 'flex.offer.published');
  return { type: 'flex.offer.published', data: e.type === 'flex.offer.published' ? e.data : assert.fail('not an offer'), time: iso(T0) };
}

test('given the compute agent\'s flexibility, when it arrives, then the aligned window is offered at cost + margin with half the kW', async () => {
  const out = await DeciderSpec.for(agent()).given([flexEvent]).at(T0).when(DeciderSpec.event<CoordinationIn>(flexEvent));
  assert.equal(out.decisions.length, 1);
  assert.equal(out.decisions[0]!.stream, 'flex-offers');
  out.expectEvents([
    {
      type: 'flex.offer.published',
      data: {
        offerId: OFFER,
        planId: 'p1',
        windowStart: iso(T0 + 2 * HOUR),
        windowEnd: iso(T0 + 3 * HOUR),
        settlementDate: '2026-01-15',
        firstSettlementPeriod: 25,
        lastSettlementPeriod: 26,
        availableKw: 1000,
        minKw: 100,
        priceGbpPerMwh: 80,
        penaltyGbpPerMwh: 96,
        noticeMin: 30,
        baselineMethod: cfg.baselineMethod,
        baselineKw: 5000,
        location: cfg.location.id,
        validUntil: iso(T0 + 1.5 * HOUR),
      },
    },
  ]);
  // Told again with nothing new: nothing to say.
  const offer = await published();
  (await DeciderSpec.for(agent()).given([flexEvent, offer]).at(T0).when(DeciderSpec.event<CoordinationIn>(flexEvent))).expectDecisions([]);
});

test('given an open offer, when a search comes, then an on_search callback is scheduled with that offer in the catalogue', async () => {
  const spec = DeciderSpec.for(agent()).given([flexEvent, await published()]).at(T0);
  const out = await spec.when(handle(searchRequest(ctx('search', 1), { windowStartMs: T0, windowEndMs: T0 + 6 * HOUR })));
  assert.equal(out.decisions.length, 1);
  assert.equal(out.decisions[0]!.stream, 'beckn-callbacks');
  const [cb] = out.decisions[0]!.events;
  assert.ok(cb && cb.type === 'beckn.callback.scheduled');
  assert.equal(cb.data.target, TEST_BAP.uri);
  assert.equal(cb.data.action, 'on_search');
  assert.equal(cb.data.messageId, msg(1), 'the callback answers the request\'s message id');
  const items = JSON.stringify(cb.data.body);
  assert.ok(items.includes(`"id":"${OFFER}"`), 'the open offer is in the catalogue');
});

test('given no offers yet, when a search comes, then the empty catalogue says the first plan is awaited', async () => {
  const out = await DeciderSpec.for(agent()).at(T0).when(handle(searchRequest(ctx('search', 2), {})));
  const [cb] = out.decisions[0]!.events;
  assert.ok(cb && cb.type === 'beckn.callback.scheduled');
  assert.match(JSON.stringify(cb.data.body), /awaiting-first-plan/);
});

test('select, init and confirm on an offer record each step of the order with its callback; confirm sets the activation', async () => {
  const offer = await published();
  const choice = { providerId: cfg.provider.id, itemId: OFFER, kw: 500 };
  const billing = { name: 'Test BAP', email: 'bap@example.org' };

  const selected = await DeciderSpec.for(agent()).given([flexEvent, offer]).at(T0).when(handle(selectRequest(ctx('select', 3), choice)));
  selected.expectEvents([{ type: 'flex.order.selected' }, { type: 'beckn.callback.scheduled' }]);
  const [sel, onSelect] = selected.decisions[0]!.events;
  assert.ok(sel && sel.type === 'flex.order.selected' && onSelect && onSelect.type === 'beckn.callback.scheduled');
  assert.equal(selected.decisions[0]!.stream, `flex-${sel.data.orderId}`);
  assert.equal(sel.data.kw, 500);
  assert.equal(sel.data.priceGbpPerMwh, 80);
  assert.equal(onSelect.data.action, 'on_select');
  assert.deepEqual(selected.timers, []);

  // init continues the same draft order (same transaction, same item).
  const history = [flexEvent, offer, { type: 'flex.order.selected', data: sel.data, time: iso(T0) } as const];
  const inited = await DeciderSpec.for(agent()).given(history).at(T0 + 60_000).when(handle(initRequest(ctx('init', 4), { ...choice, billing })));
  const [ini, onInit] = inited.decisions[0]!.events;
  assert.ok(ini && ini.type === 'flex.order.initialized' && onInit && onInit.type === 'beckn.callback.scheduled');
  assert.equal(ini.data.orderId, sel.data.orderId);
  assert.equal(onInit.data.action, 'on_init');

  const confirmed = await DeciderSpec.for(agent())
    .given([...history, { type: 'flex.order.initialized', data: ini.data, time: iso(T0 + 60_000) }])
    .at(T0 + 120_000)
    .when(handle(confirmRequest(ctx('confirm', 5), { ...choice, billing })));
  const [conf, onConfirm] = confirmed.decisions[0]!.events;
  assert.ok(conf && conf.type === 'flex.order.confirmed' && onConfirm && onConfirm.type === 'beckn.callback.scheduled');
  assert.equal(conf.data.orderId, sel.data.orderId);
  assert.equal(onConfirm.data.action, 'on_confirm');
  assert.deepEqual(confirmed.timers, [{ atMs: T0 + 2 * HOUR, name: 'activate', data: { orderId: sel.data.orderId } }]);
});

test('a select for an offer that does not exist is refused on the record and in its on_select callback', async () => {
  const out = await DeciderSpec.for(agent()).given([flexEvent, await published()]).at(T0).when(handle(selectRequest(ctx('select', 6), { providerId: cfg.provider.id, itemId: 'flex-20260115-sp01-02', kw: 500 })));
  assert.equal(out.decisions.length, 1);
  assert.equal(out.decisions[0]!.stream, 'beckn-rejected');
  const [rejected, cb] = out.decisions[0]!.events;
  assert.ok(rejected && rejected.type === 'beckn.request.rejected' && cb && cb.type === 'beckn.callback.scheduled');
  assert.equal(rejected.data.action, 'select');
  assert.equal(rejected.data.messageId, msg(6));
  assert.equal(rejected.data.httpStatus, 200);
  assert.match(rejected.data.reason, /^refused in the on_select callback/);
  assert.equal(cb.data.action, 'on_select');
  assert.ok(JSON.stringify(cb.data.body).includes(`"code":"${rejected.data.code}"`), 'the callback carries the same error');
});

test('a refusal the intake hands over is recorded, bounded', async () => {
  const out = await DeciderSpec.for(agent()).when(
    DeciderSpec.command<CoordinationCmd>({ type: 'flex.request.reject', data: { action: 'confirm', messageId: null, transactionId: null, bapId: null, httpStatus: 999, code: '30000', reason: 'x'.repeat(2000), path: null } }),
  );
  const [e] = out.decisions[0]!.events;
  assert.ok(e && e.type === 'beckn.request.rejected');
  assert.equal(e.data.httpStatus, 400, 'an impossible status is recorded as 400');
  assert.ok(e.data.reason.length <= 512);
});

test('given a confirmed order, when its activation is due, then it is activated below the cap and the buyer told; a meter read in the window tells the buyer again', async () => {
  const offer = await published();
  const sel = await DeciderSpec.for(agent()).given([flexEvent, offer]).at(T0).when(handle(confirmRequest(ctx('confirm', 7), { providerId: cfg.provider.id, itemId: OFFER, kw: 400 })));
  const [conf] = sel.decisions[0]!.events;
  assert.ok(conf && conf.type === 'flex.order.confirmed');
  const history: GivenEvent<CoordinationIn>[] = [flexEvent, offer, { type: 'flex.order.confirmed', data: conf.data, time: iso(T0) }];
  const due = await DeciderSpec.for(agent()).given(history).at(T0 + 2 * HOUR).when(DeciderSpec.timer('activate', T0 + 2 * HOUR, { orderId: conf.data.orderId }));
  due.expectEvents([{ type: 'flex.order.activated', data: { orderId: conf.data.orderId, at: iso(T0 + 2 * HOUR), capKw: 4600 } }, { type: 'beckn.callback.scheduled' }]);
  // A timer for an order never confirmed, or not an activation at all: nothing.
  (await DeciderSpec.for(agent()).given(history).when(DeciderSpec.timer('activate', T0, { orderId: 'ord-none' }))).expectDecisions([]);
  (await DeciderSpec.for(agent()).given(history).when(DeciderSpec.timer('something-else', T0, { orderId: conf.data.orderId }))).expectDecisions([]);

  const active: GivenEvent<CoordinationIn>[] = [...history, { type: 'flex.order.activated', data: { orderId: conf.data.orderId, at: iso(T0 + 2 * HOUR), capKw: 4600 }, time: iso(T0 + 2 * HOUR) }];
  const read: GivenEvent<CoordinationIn> = { type: 'site.meter.read', data: meterRead(T0 + 2 * HOUR, 4500), time: iso(T0 + 2.5 * HOUR) };
  const pushed = await DeciderSpec.for(agent()).given([...active, read]).at(T0 + 2.5 * HOUR).when(DeciderSpec.event<CoordinationIn>(read));
  assert.equal(pushed.decisions.length, 1);
  assert.equal(pushed.decisions[0]!.stream, `flex-${conf.data.orderId}`);
  const [push] = pushed.decisions[0]!.events;
  assert.ok(push && push.type === 'beckn.callback.scheduled');
  assert.equal(push.data.action, 'on_status');
  assert.equal(push.data.target, TEST_BAP.uri);
});

test('an order with a half-hour the meter never read is fulfilled once the meters are 24 h past it, with that half-hour short', async () => {
  const offer = await published();
  const sel = await DeciderSpec.for(agent()).given([flexEvent, offer]).at(T0).when(handle(confirmRequest(ctx('confirm', 8), { providerId: cfg.provider.id, itemId: OFFER, kw: 400 })));
  const [conf] = sel.decisions[0]!.events;
  assert.ok(conf && conf.type === 'flex.order.confirmed');
  const startMs = Date.parse(conf.data.windowStart);
  const endMs = Date.parse(conf.data.windowEnd);
  const history: GivenEvent<CoordinationIn>[] = [
    flexEvent,
    offer,
    { type: 'flex.order.confirmed', data: conf.data, time: iso(T0) },
    { type: 'flex.order.activated', data: { orderId: conf.data.orderId, at: iso(startMs), capKw: 4600 }, time: iso(startMs) },
  ];
  // The site was down for the window's first half-hour: no read of it, ever.
  const read = (p: number): GivenEvent<CoordinationIn> => ({ type: 'site.meter.read', data: meterRead(p, 4500), time: iso(p + HALF_HOUR) });
  const reads: GivenEvent<CoordinationIn>[] = [];
  for (let p = startMs + HALF_HOUR; p + HALF_HOUR < startMs + HALF_HOUR + METER_MISSING_AFTER_MS; p += HALF_HOUR) reads.push(read(p));
  const fulfilledBy = async (last: GivenEvent<CoordinationIn>) => {
    const out = await DeciderSpec.for(agent()).given([...history, ...reads, last]).at(Date.parse(last.time!)).when(DeciderSpec.event<CoordinationIn>(last));
    return out.decisions.flatMap((d) => d.events).find((e) => e.type === 'flex.order.fulfilled');
  };
  // 23.5 h after the unread half-hour: still waiting for its read.
  assert.equal(await fulfilledBy(read(startMs + METER_MISSING_AFTER_MS - HALF_HOUR)), undefined);
  // 24 h after: fulfilled, the unread half-hour settled as not delivered.
  const done = await fulfilledBy(read(startMs + METER_MISSING_AFTER_MS));
  assert.ok(done && done.type === 'flex.order.fulfilled');
  assert.ok(endMs > startMs + HALF_HOUR);
  const first = done.data.periods[0]!;
  assert.equal(first.deliveredKwh, 0);
  assert.ok(done.data.deliveredMwh < done.data.contractedMwh);
});
