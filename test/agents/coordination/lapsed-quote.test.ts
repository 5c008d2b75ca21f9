// test-file-timeout: 60
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContext, confirmRequest, selectRequest, StaticKeyDirectory } from '../../../beckn/index.ts';
import { DeciderSpec, type GivenEvent } from '../../../core/testing/index.ts';
import type { Envelope } from '../../../core/envelope/index.ts';
import {
  availableKwOf,
  coordinationConfig,
  createCoordinationAgent,
  evolveCoordination,
  INITIAL_COORDINATION_STATE,
  seededSigningKey,
  SIM_BPP,
  type CoordinationCmd,
  type CoordinationIn,
  type CoordinationState,
  type OrderRecord,
  type RequestBody,
} from '../../../agents/coordination/index.ts';
import type { BecknRequestAction } from '../../../schemas/beckn/index.ts';
import { flexibility, HOUR, meterRead, T0, TEST_BAP } from '../../market/harness.ts';

/**
 * A quote lapses 15 min after it is given. Its draft is dropped from the agent's state at the
 * next new draft, offer or meter read; what a buyer is told must not depend on whether that
 * has happened yet. And what the agent keeps per order must not grow with every order ever
 * confirmed.
 */

const agent = () =>
  createCoordinationAgent({
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

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const TXN = '0190f1a0-0000-7000-8000-000000000001';
let n = 0;
const ctx = <A extends BecknRequestAction>(action: A, nowMs: number, transactionId = TXN) =>
  buildContext({ action, bap: TEST_BAP, bpp: SIM_BPP, transactionId, messageId: `0190f1a0-0000-7000-8000-${String(++n).padStart(12, '0')}`, nowMs });
const handle = (body: RequestBody) => DeciderSpec.command<CoordinationCmd>({ type: 'flex.request.handle', data: { action: body.context.action, body } });

// One offer: the window 12:00–13:00, its notice gate at 11:30 (T0 is 10:00).
const flexEvent: GivenEvent<CoordinationIn> = { type: 'compute.flexibility.available', data: flexibility('p1', [{ startMs: T0 + 2 * HOUR, kw: 2000, costGbpPerMwh: 50, baselineKw: 5000 }]), time: iso(T0) };
const OFFER = 'flex-20260115-sp25-26';
const cfg = coordinationConfig();
const choice = { providerId: cfg.provider.id, itemId: OFFER, kw: 500 };

async function published(): Promise<GivenEvent<CoordinationIn>> {
  const out = await DeciderSpec.for(agent()).given([flexEvent]).at(T0).when(DeciderSpec.event<CoordinationIn>(flexEvent));
  const e = out.decisions[0]!.events[0]!;
  assert.ok(e.type === 'flex.offer.published');
  return { type: 'flex.offer.published', data: e.data, time: iso(T0) };
}

/** The offer and a draft selected at T0 in transaction TXN (quote valid until T0 + 15 min). */
async function selectedAtT0(): Promise<{ history: GivenEvent<CoordinationIn>[]; draftId: string }> {
  const offer = await published();
  const out = await DeciderSpec.for(agent()).given([flexEvent, offer]).at(T0).when(handle(selectRequest(ctx('select', T0), choice)));
  const [sel] = out.decisions[0]!.events;
  assert.ok(sel && sel.type === 'flex.order.selected');
  return { history: [flexEvent, offer, { type: 'flex.order.selected', data: sel.data, time: iso(T0) }], draftId: sel.data.orderId };
}

/** A meter read at `atMs`: like any new draft or offer, it drops the drafts lapsed by then. */
const readAt = (atMs: number): GivenEvent<CoordinationIn> => ({ type: 'site.meter.read', data: meterRead(atMs - 30 * MIN, 4000), time: iso(atMs) });

/** What a decision says in short: the events' types, an order's id, a refusal's code and reason. */
function summary(out: { decisions: ReadonlyArray<{ events: ReadonlyArray<{ type: string; data: unknown }> }> }) {
  return out.decisions.flatMap((d) =>
    d.events.map((e) => {
      const x = e.data as { orderId?: string; code?: string; reason?: string; action?: string };
      return e.type === 'beckn.request.rejected' ? [e.type, x.code, x.reason] : e.type === 'beckn.callback.scheduled' ? [e.type, x.action] : [e.type, x.orderId];
    }),
  );
}

test('a confirm after its quote lapsed is refused (40003, select again) whether or not the lapsed draft has been dropped yet', async () => {
  const { history } = await selectedAtT0();
  const confirmAt = T0 + 20 * MIN;
  const confirm = () => handle(confirmRequest(ctx('confirm', confirmAt), choice));
  const notPruned = await DeciderSpec.for(agent()).given(history).at(confirmAt).when(confirm());
  // A meter read at 10:16 came between: the lapsed draft is dropped from the state.
  const pruned = await DeciderSpec.for(agent()).given([...history, readAt(T0 + 16 * MIN)]).at(confirmAt).when(confirm());
  const refusal = [
    ['beckn.request.rejected', '40003', 'refused in the on_confirm callback: Quote unavailable: the quote expired 300 s ago; select again'],
    ['beckn.callback.scheduled', 'on_confirm'],
  ];
  assert.deepEqual(summary(notPruned), refusal);
  assert.deepEqual(summary(pruned), refusal, 'the same answer once the draft is dropped (before: a new order at the current terms)');
});

test('a select after the quote lapsed starts a new draft whether or not the lapsed one has been dropped; that draft can then be confirmed', async () => {
  const { history, draftId } = await selectedAtT0();
  const at = T0 + 20 * MIN;
  for (const given of [history, [...history, readAt(T0 + 16 * MIN)]]) {
    const out = await DeciderSpec.for(agent()).given(given).at(at).when(handle(selectRequest(ctx('select', at), choice)));
    const [sel] = out.decisions[0]!.events;
    assert.ok(sel && sel.type === 'flex.order.selected');
    assert.notEqual(sel.data.orderId, draftId, 'a lapsed draft is not continued: a select starts afresh');
    const again = [...given, { type: 'flex.order.selected', data: sel.data, time: iso(at) } as const];
    const conf = await DeciderSpec.for(agent()).given(again).at(at + MIN).when(handle(confirmRequest(ctx('confirm', at + MIN), choice)));
    assert.deepEqual(summary(conf), [
      ['flex.order.confirmed', sel.data.orderId],
      ['beckn.callback.scheduled', 'on_confirm'],
    ]);
    // Nothing of the lapsed draft is left: no record, no key.
    const s = fold(again);
    assertIndexed(s);
    assert.equal(s.orders.has(draftId), false);
    assert.deepEqual([...s.orders.keys()], [sel.data.orderId]);
    assert.equal(s.lapsed.size, 0, 'a new draft in the transaction takes the lapsed one\'s place');
  }
});

/** The state the agent folds from these events, as it would by replay. */
function fold(events: ReadonlyArray<GivenEvent<CoordinationIn>>): CoordinationState {
  let s = INITIAL_COORDINATION_STATE;
  let i = 0;
  for (const e of events) {
    const env = { id: `e${i}`, type: e.type, version: 1, stream: 's', revision: i, position: i++, time: e.time ?? iso(T0), source: 'test', correlationId: 'c', causationId: null, data: e.data } as unknown as Envelope;
    s = evolveCoordination(s, env);
  }
  return s;
}

/** `ordersByOffer` lists each offer's orders as `orders` has them, and nothing else. */
function assertIndexed(s: CoordinationState): void {
  const grouped = new Map<string, string[]>();
  for (const o of s.orders.values()) grouped.set(o.offerId, [...(grouped.get(o.offerId) ?? []), o.orderId]);
  assert.deepEqual(new Map(s.ordersByOffer), grouped);
}

test('what is kept of drafts and confirmed orders goes once their window is over; answers stay the same', async () => {
  const offer = await published();
  // 40 drafts that lapse, and one order confirmed, all in the same window.
  const history: GivenEvent<CoordinationIn>[] = [flexEvent, offer];
  for (let i = 0; i < 40; i++) {
    const tx = `0190f1a0-0000-7000-8000-0000000a${String(i).padStart(4, '0')}`;
    const out = await DeciderSpec.for(agent()).given(history).at(T0).when(handle(selectRequest(ctx('select', T0, tx), choice)));
    const [sel] = out.decisions[0]!.events;
    assert.ok(sel && sel.type === 'flex.order.selected');
    history.push({ type: 'flex.order.selected', data: sel.data, time: iso(T0) });
  }
  const confirmed = await DeciderSpec.for(agent()).given(history).at(T0 + MIN).when(handle(confirmRequest(ctx('confirm', T0 + MIN), choice)));
  const [conf] = confirmed.decisions[0]!.events;
  assert.ok(conf && conf.type === 'flex.order.confirmed');
  history.push({ type: 'flex.order.confirmed', data: conf.data, time: iso(T0 + MIN) });

  // Before the window ends the keys answer: a second confirm is 40001 naming the order.
  const during = [...history, readAt(T0 + 80 * MIN)];
  const again = await DeciderSpec.for(agent()).given(during).at(T0 + 85 * MIN).when(handle(confirmRequest(ctx('confirm', T0 + 85 * MIN), choice)));
  assert.equal(summary(again)[0]![1], '40001');
  const kept = fold(during);
  assertIndexed(kept);
  assert.deepEqual([kept.drafts.size, kept.lapsed.size, kept.orders.size], [1, 40, 1], 'the order\'s key, and the 40 lapsed quotes until their window is over');

  // After the window (12:00–13:00) and a meter read: no key of any of them is kept, the order is.
  const after = [...history, readAt(T0 + 3.5 * HOUR)];
  const s = fold(after);
  assertIndexed(s);
  assert.equal(s.drafts.size, 0, 'the confirmed order\'s key went with its window (before: kept for good, its offer being sold)');
  assert.equal(s.lapsed.size, 0);
  assert.deepEqual([...s.orders.keys()], [conf.data.orderId], 'the order itself stays: status and rating still answer');
  const late = await DeciderSpec.for(agent()).given(after).at(T0 + 3.5 * HOUR).when(handle(confirmRequest(ctx('confirm', T0 + 3.5 * HOUR), choice)));
  assert.equal(summary(late)[0]![1], '30004', 'a confirm past the gate is refused as before: the item is no longer on sale');
  const lateOther = await DeciderSpec.for(agent()).given(after).at(T0 + 3.5 * HOUR).when(handle(confirmRequest(ctx('confirm', T0 + 3.5 * HOUR, '0190f1a0-0000-7000-8000-0000000a0003'), choice)));
  assert.equal(summary(lateOther)[0]![1], '30004');
});

test('counting what an offer has sold reads only that offer\'s orders, not every order ever made', async () => {
  const offer = await published();
  const out = await DeciderSpec.for(agent()).given([flexEvent, offer]).at(T0).when(handle(confirmRequest(ctx('confirm', T0), choice)));
  const [conf] = out.decisions[0]!.events;
  assert.ok(conf && conf.type === 'flex.order.confirmed');
  const s = fold([flexEvent, offer, { type: 'flex.order.confirmed', data: conf.data, time: iso(T0) }]);
  // 1,000 orders of windows long over, which a scan of every order would visit.
  const old = new Map(s.orders);
  for (let i = 0; i < 1000; i++) old.set(`ord-old-${i}`, { ...s.orders.get(conf.data.orderId)!, orderId: `ord-old-${i}`, offerId: `flex-20260101-sp${i}` } satisfies OrderRecord);
  let visited = 0;
  const counting = new (class extends Map<string, OrderRecord> {
    override get(k: string) {
      visited++;
      return super.get(k);
    }
    override values(): MapIterator<OrderRecord> {
      visited += this.size;
      return super.values();
    }
    override entries(): MapIterator<[string, OrderRecord]> {
      visited += this.size;
      return super.entries();
    }
    override [Symbol.iterator]() {
      return this.entries();
    }
  })(old);
  const t: CoordinationState = { ...s, orders: counting };
  assert.equal(availableKwOf(t, OFFER), 500);
  assert.ok(visited <= 1, `${visited} order records read to count one offer's sold kW`);
});
