import {
  BecknErrorCode,
  checkCancel,
  checkQuote,
  checkUpdate,
  fault,
  fulfillmentIdOf,
  intentFromSearch,
  measureToKw,
  orderIntentFromOrder,
  quoteFor,
  type BecknFault,
  type FlexIntent,
  type OfferAvailability,
} from '../../beckn/index.ts';
import type { BecknBody, BecknRequestAction, Context } from '../../schemas/beckn/index.ts';
import type { CoordinationConfig } from './config.ts';
import { asFlexibility } from './offers.ts';
import { availableKwOf, draftKey, type CoordinationState, type OrderRecord } from './state.ts';
import { truncateText } from '../../core/runtime/input-limits.ts';

/**
 * The business checks of every request, against the agent's state at `nowMs`. Pure. The HTTP
 * server runs them before it ACKs (NACK with the code), and the agent runs them again when it
 * handles the request, since the state may have moved in between (two buyers racing for the
 * same kW): then the on_* callback carries the error.
 */

export type RequestPlan =
  | { readonly action: 'search'; readonly intent: FlexIntent }
  | { readonly action: 'select' | 'init' | 'confirm'; readonly offerId: string; readonly kw: number; readonly draftOrderId: string | undefined }
  | { readonly action: 'status'; readonly orderId: string }
  | { readonly action: 'update'; readonly orderId: string; readonly kw: number }
  | { readonly action: 'cancel'; readonly orderId: string; readonly reason: string }
  | { readonly action: 'rating'; readonly orderId: string; readonly value: number }
  | { readonly action: 'support'; readonly refId: string | undefined };

export type CheckResult = { readonly ok: true; readonly plan: RequestPlan } | { readonly ok: false; readonly fault: BecknFault };

const bad = (f: BecknFault): CheckResult => ({ ok: false, fault: f });
const good = (plan: RequestPlan): CheckResult => ({ ok: true, plan });

/** Context fields every request must get right for this BPP. */
export function checkContext(context: Context, cfg: CoordinationConfig): BecknFault | undefined {
  if (context.domain !== cfg.domain) return fault(BecknErrorCode.INVALID_REQUEST, `this BPP serves domain "${cfg.domain}"`, 'context.domain');
  if (context.bpp_id !== undefined && context.bpp_id !== cfg.bpp.id) return fault(BecknErrorCode.INVALID_REQUEST, `this BPP is "${cfg.bpp.id}"`, 'context.bpp_id');
  return undefined;
}

function offerLookup(s: CoordinationState, nowMs: number, cfg: CoordinationConfig) {
  return (itemId: string): OfferAvailability | undefined => {
    const o = s.offers.get(itemId);
    if (!o || o.availableKw === 0 || o.validUntilMs <= nowMs) return undefined;
    return { offer: asFlexibility(o, cfg), availableKw: availableKwOf(s, itemId) };
  };
}

function closedItemFault(s: CoordinationState, itemId: string, nowMs: number): BecknFault | undefined {
  const o = s.offers.get(itemId);
  if (!o) return undefined;
  if (o.availableKw === 0) return fault(BecknErrorCode.ITEM_NOT_FOUND, `item "${itemId}" was withdrawn: the site's plan no longer has that flexibility`, 'message.order.items[0].id');
  if (o.validUntilMs <= nowMs) return fault(BecknErrorCode.ITEM_NOT_FOUND, `item "${itemId}" is no longer on sale: its notice gate closed at ${new Date(o.validUntilMs).toISOString()}`, 'message.order.items[0].id');
  return undefined;
}

function ownOrder(s: CoordinationState, orderId: string, bapId: string, path: string): OrderRecord | BecknFault {
  const o = s.orders.get(orderId);
  // Another buyer's order is "not found" to this one.
  if (!o || o.bapId !== bapId) return fault(BecknErrorCode.ORDER_NOT_FOUND, `no order "${orderId}" of ${bapId}`, path);
  return o;
}
const isFault = (x: unknown): x is BecknFault => typeof x === 'object' && x !== null && 'code' in x && !('orderId' in x);

const CONFIRMED = new Set(['confirmed', 'active', 'fulfilled']);

export function checkRequest<A extends BecknRequestAction>(action: A, body: BecknBody<A>, s: CoordinationState, nowMs: number, cfg: CoordinationConfig): CheckResult {
  const ctxFault = checkContext(body.context, cfg);
  if (ctxFault) return bad(ctxFault);
  const bapId = body.context.bap_id;
  switch (action) {
    case 'search':
      return good({ action: 'search', intent: intentFromSearch(body as BecknBody<'search'>) });
    case 'select':
    case 'init':
    case 'confirm': {
      const order = (body as BecknBody<'select' | 'init' | 'confirm'>).message.order;
      const itemId = order.items[0]?.id ?? '';
      const closed = closedItemFault(s, itemId, nowMs);
      if (closed) return bad(closed);
      const r = orderIntentFromOrder(order, cfg.provider.id, offerLookup(s, nowMs, cfg));
      if (!r.ok) return bad(r.fault);
      const draftOrderId = s.drafts.get(draftKey(body.context.transaction_id, r.intent.itemId));
      if (action === 'confirm') {
        const accepted = (body as BecknBody<'confirm'>).message.order.quote;
        const draft = draftOrderId !== undefined ? s.orders.get(draftOrderId) : undefined;
        const f = checkQuote({ accepted, current: quoteFor(r.intent.offer, r.intent.kw), ...(draft ? { quotedAtMs: draft.quotedAtMs } : {}), nowMs });
        if (f) return bad(f);
      }
      return good({ action, offerId: r.intent.itemId, kw: r.intent.kw, draftOrderId });
    }
    case 'status': {
      const o = ownOrder(s, (body as BecknBody<'status'>).message.order_id, bapId, 'message.order_id');
      return isFault(o) ? bad(o) : good({ action: 'status', orderId: o.orderId });
    }
    case 'update':
      return checkUpdateRequest(body as BecknBody<'update'>, s, nowMs);
    case 'cancel': {
      const m = (body as BecknBody<'cancel'>).message;
      const o = ownOrder(s, m.order_id, bapId, 'message.order_id');
      if (isFault(o)) return bad(o);
      if (o.phase === 'cancelled') return bad(fault(BecknErrorCode.CANCELLATION_NOT_POSSIBLE, `order "${o.orderId}" is already cancelled`, 'message.order_id'));
      if (!CONFIRMED.has(o.phase)) return bad(fault(BecknErrorCode.CANCELLATION_NOT_POSSIBLE, `order "${o.orderId}" was never confirmed; there is nothing to cancel`, 'message.order_id'));
      const f = checkCancel({ windowStartMs: o.windowStartMs, gateMin: (o.windowStartMs - o.cancelGateMs) / 60_000, nowMs });
      if (f) return bad(f);
      return good({ action: 'cancel', orderId: o.orderId, reason: truncateText(m.descriptor?.short_desc || m.cancellation_reason_id || 'cancelled by the buyer', 512) });
    }
    case 'rating':
      return checkRating(body as BecknBody<'rating'>, s);
    case 'support':
      return good({ action: 'support', refId: (body as BecknBody<'support'>).message.support.ref_id });
    default:
      return bad(fault(BecknErrorCode.INVALID_REQUEST, `unknown action "${String(action)}"`, 'context.action'));
  }
}

function checkUpdateRequest(body: BecknBody<'update'>, s: CoordinationState, nowMs: number): CheckResult {
  const m = body.message;
  const o = ownOrder(s, m.order.id, body.context.bap_id, 'message.order.id');
  if (isFault(o)) return bad(o);
  const target = checkUpdate(m);
  if (target) return bad(target);
  if (o.phase !== 'confirmed' && o.phase !== 'active') {
    return bad(fault(BecknErrorCode.UPDATION_NOT_POSSIBLE, `order "${o.orderId}" is ${o.phase}; only a confirmed or running order can change`, 'message.order.id'));
  }
  if (nowMs >= o.windowEndMs) return bad(fault(BecknErrorCode.UPDATION_NOT_POSSIBLE, `the window of order "${o.orderId}" has ended`, 'message.order.id'));
  const ful = m.order.fulfillments;
  if (ful !== undefined && (ful.length !== 1 || ful[0]!.id !== fulfillmentIdOf(o.offerId))) {
    return bad(fault(BecknErrorCode.FULFILLMENT_UNAVAILABLE, `order "${o.orderId}" is delivered as fulfillment "${fulfillmentIdOf(o.offerId)}"; its window cannot move`, 'message.order.fulfillments'));
  }
  const items = m.order.items;
  if (items === undefined) return good({ action: 'update', orderId: o.orderId, kw: o.kw });
  if (items.length !== 1) return bad(fault(BecknErrorCode.INVALID_REQUEST, 'an order holds exactly one flexibility item', 'message.order.items'));
  const item = items[0]!;
  if (item.id !== o.offerId) return bad(fault(BecknErrorCode.ITEM_NOT_FOUND, `order "${o.orderId}" is for item "${o.offerId}"`, 'message.order.items[0].id'));
  const kw = measureToKw(item.quantity.selected.measure);
  const path = 'message.order.items[0].quantity.selected.measure.value';
  const offer = s.offers.get(o.offerId);
  const minKw = offer?.minKw ?? 0;
  if (!(kw > 0) || kw < minKw - 1e-9) return bad(fault(BecknErrorCode.ITEM_QUANTITY_UNAVAILABLE, `${kw} kW is below the minimum of ${minKw} kW (cancel to drop the order)`, path));
  if (kw > o.kw + 1e-9) {
    if (nowMs >= o.cancelGateMs) return bad(fault(BecknErrorCode.UPDATION_NOT_POSSIBLE, `more kW needs the notice period; the gate closed at ${new Date(o.cancelGateMs).toISOString()}`, path));
    const free = availableKwOf(s, o.offerId, o.orderId);
    if (kw > free + 1e-9) return bad(fault(BecknErrorCode.ITEM_QUANTITY_UNAVAILABLE, `${kw} kW asked, ${free} kW available`, path));
  }
  return good({ action: 'update', orderId: o.orderId, kw });
}

function checkRating(body: BecknBody<'rating'>, s: CoordinationState): CheckResult {
  const bapId = body.context.bap_id;
  const txnOrders = [...s.orders.values()].filter((o) => o.bapId === bapId && o.transactionId === body.context.transaction_id && CONFIRMED.has(o.phase));
  for (const [i, r] of body.message.ratings.entries()) {
    let order: OrderRecord | undefined;
    if (r.rating_category === 'Order') {
      const o = s.orders.get(r.id);
      order = o && o.bapId === bapId && CONFIRMED.has(o.phase) ? o : undefined;
    } else if (r.rating_category === 'Fulfillment') order = txnOrders.find((o) => fulfillmentIdOf(o.offerId) === r.id);
    else if (r.rating_category === 'Item') order = txnOrders.find((o) => o.offerId === r.id);
    else order = txnOrders[0];
    if (!order) continue;
    const value = Number(r.value);
    if (!Number.isInteger(value) || value < 1 || value > 5) {
      return bad(fault(BecknErrorCode.INVALID_RATING_VALUE, `rating "${r.value}" must be a whole number from 1 to 5`, `message.ratings[${i}].value`));
    }
    return good({ action: 'rating', orderId: order.orderId, value });
  }
  return bad(fault(BecknErrorCode.ENTITY_TO_RATE_NOT_FOUND, 'no confirmed order of this buyer matches the ratings', 'message.ratings'));
}
