// test-file-timeout: 60
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContext, confirmRequest, selectRequest, StaticKeyDirectory } from '../../../beckn/index.ts';
import { DeciderSpec, type GivenEvent } from '../../../core/testing/index.ts';
import type { Envelope } from '../../../core/envelope/index.ts';
import {
  coordinationConfig,
  createCoordinationAgent,
  evolveCoordination,
  INITIAL_COORDINATION_STATE,
  seededSigningKey,
  SIM_BPP,
  type CoordinationCmd,
  type CoordinationIn,
  type CoordinationState,
  type RequestBody,
} from '../../../agents/coordination/index.ts';
import type { BecknRequestAction } from '../../../schemas/beckn/index.ts';
import { flexibility, HOUR, meterRead, T0, TEST_BAP } from '../../market/harness.ts';

/**
 * A quote lapses 15 min after it is given. Its draft is dropped from the agent's state at the
 * next new draft, offer or meter read; what a buyer is told must not depend on whether that
 * has happened yet.
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
