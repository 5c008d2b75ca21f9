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
import type { BecknBody, Context } from '../../schemas/beckn/index.ts';
import type { ActionRequest } from './messages.ts';
import type { CoordinationConfig } from './config.ts';
import { asFlexibility } from './offers.ts';
import { availableKwOf, heldBy, liveDraftsOf, QUOTE_TTL_MS, type CoordinationState, type OrderRecord } from './state.ts';
import { truncateText } from '../../core/runtime/index.ts';

/**
 * The business checks of every request, against the agent's state at `nowMs`. Pure. The HTTP
 * server runs them before it ACKs (NACK with the code), and the agent runs them again when it
 * handles the request, since the state may have moved in between (two buyers racing for the
 * same kW): then the on_* callback carries the error.
 */

export type RequestPlan =
  | { readonly action: 'search'; readonly body: BecknBody<'search'>; readonly intent: FlexIntent }
  | ({ readonly offerId: string; readonly kw: number; readonly draftOrderId: string | undefined } & (
      | { readonly action: 'select'; readonly body: BecknBody<'select'> }
      | { readonly action: 'init'; readonly body: BecknBody<'init'> }
      | { readonly action: 'confirm'; readonly body: BecknBody<'confirm'> }
    ))
  | { readonly action: 'status'; readonly body: BecknBody<'status'>; readonly order: OrderRecord }
  | { readonly action: 'update'; readonly body: BecknBody<'update'>; readonly order: OrderRecord; readonly kw: number }
  | { readonly action: 'cancel'; readonly body: BecknBody<'cancel'>; readonly order: OrderRecord; readonly reason: string }
  | { readonly action: 'rating'; readonly body: BecknBody<'rating'>; readonly orderId: string; readonly value: number }
  | { readonly action: 'support'; readonly body: BecknBody<'support'>; readonly refId: string | undefined };

export type CheckResult = { readonly ok: true; readonly plan: RequestPlan } | { readonly ok: false; readonly fault: BecknFault };

const bad = (f: BecknFault): CheckResult => ({ ok: false, fault: f });
const good = (plan: RequestPlan): CheckResult => ({ ok: true, plan });

/** Context fields every request must get right for this BPP. */
export function checkContext(context: Context, cfg: CoordinationConfig): BecknFault | undefined {
  if (context.domain !== cfg.domain) return fault(BecknErrorCode.INVALID_REQUEST, `this BPP serves domain "${cfg.domain}"`, 'context.domain');
  if (context.bpp_id !== undefined && context.bpp_id !== cfg.bpp.id) return fault(BecknErrorCode.INVALID_REQUEST, `this BPP is "${cfg.bpp.id}"`, 'context.bpp_id');
  // Only a search goes to every BPP. Anything else on the market's shared subject with no
  // bpp_id reached every BPP there: one confirm made an order at each site with that item.
  if (context.bpp_id === undefined && context.action !== 'search') return fault(BecknErrorCode.INVALID_REQUEST, `a ${context.action} names the BPP it is for (context.bpp_id "${cfg.bpp.id}", from the catalogue)`, 'context.bpp_id');
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

export function checkRequest(req: ActionRequest, s: CoordinationState, nowMs: number, cfg: CoordinationConfig): CheckResult {
  const ctxFault = checkContext(req.body.context, cfg);
  if (ctxFault) return bad(ctxFault);
  const bapId = req.body.context.bap_id;
  switch (req.action) {
    case 'search':
      return good({ action: 'search', body: req.body, intent: intentFromSearch(req.body) });
    case 'select':
    case 'init':
    case 'confirm': {
      const order = req.body.message.order;
      const itemId = order.items[0]?.id ?? '';
      const closed = closedItemFault(s, itemId, nowMs);
      if (closed) return bad(closed);
      const r = orderIntentFromOrder(order, cfg.provider.id, offerLookup(s, nowMs, cfg));
      if (!r.ok) return bad(r.fault);
      // Only this BAP's own draft is continued, and only while its quote is valid.
      const held = heldBy(s, bapId, req.body.context.transaction_id, r.intent.itemId, nowMs);
      if (held.kind === 'order') {
        // One order per transaction and item: a second confirm (a new message_id, so not a
        // replay) would sell the kW twice, and a select would turn the order back into a draft.
        const mine = held.order;
        return bad(fault(BecknErrorCode.ACTION_NOT_APPLICABLE, `transaction ${req.body.context.transaction_id} already has order "${mine.orderId}" (${mine.phase}) for item "${mine.offerId}": use status, update or cancel on it, or a new transaction_id for another order`, 'context.transaction_id'));
      }
      // A select or init after the quote lapsed starts a new draft (and counts as one).
      const draftOrderId = held.kind === 'draft' ? held.order.orderId : undefined;
      if (req.action !== 'confirm' && draftOrderId === undefined) {
        const open = liveDraftsOf(s, bapId, nowMs);
        if (open >= cfg.maxDraftsPerBap) {
          return bad(fault(BecknErrorCode.BUSINESS_ERROR, `${bapId} has ${open} draft orders whose quotes are still valid (at most ${cfg.maxDraftsPerBap} per BAP): confirm one, or select again once they lapse (a quote is valid ${QUOTE_TTL_MS / 60_000} min)`, 'context.bap_id'));
        }
      }
      const terms = { offerId: r.intent.itemId, kw: r.intent.kw, draftOrderId };
      if (req.action === 'select') return good({ action: 'select', body: req.body, ...terms });
      if (req.action === 'init') return good({ action: 'init', body: req.body, ...terms });
      // A confirm of a lapsed quote is refused, whether or not its draft has been dropped yet:
      // the buyer agreed to terms that no longer hold, and is told to select again.
      const quotedAtMs = held.kind === 'draft' ? held.order.quotedAtMs : held.kind === 'lapsed' ? held.quotedAtMs : undefined;
      const f = checkQuote({ accepted: req.body.message.order.quote, current: quoteFor(r.intent.offer, r.intent.kw), ...(quotedAtMs !== undefined ? { quotedAtMs } : {}), nowMs });
      if (f) return bad(f);
      if (held.kind === 'lapsed') return bad(fault(BecknErrorCode.QUOTE_UNAVAILABLE, `the quote given at ${new Date(held.quotedAtMs).toISOString()} has lapsed; select again`, 'message.order.quote'));
      return good({ action: 'confirm', body: req.body, ...terms });
    }
    case 'status': {
      const o = ownOrder(s, req.body.message.order_id, bapId, 'message.order_id');
      return isFault(o) ? bad(o) : good({ action: 'status', body: req.body, order: o });
    }
    case 'update':
      return checkUpdateRequest(req.body, s, nowMs);
    case 'cancel': {
      const m = req.body.message;
      const o = ownOrder(s, m.order_id, bapId, 'message.order_id');
      if (isFault(o)) return bad(o);
      if (o.phase === 'cancelled') return bad(fault(BecknErrorCode.CANCELLATION_NOT_POSSIBLE, `order "${o.orderId}" is already cancelled`, 'message.order_id'));
      if (!CONFIRMED.has(o.phase)) return bad(fault(BecknErrorCode.CANCELLATION_NOT_POSSIBLE, `order "${o.orderId}" was never confirmed; there is nothing to cancel`, 'message.order_id'));
      const f = checkCancel({ windowStartMs: o.windowStartMs, gateMin: (o.windowStartMs - o.cancelGateMs) / 60_000, nowMs });
      if (f) return bad(f);
      return good({ action: 'cancel', body: req.body, order: o, reason: truncateText(m.descriptor?.short_desc || m.cancellation_reason_id || 'cancelled by the buyer', 512) });
    }
    case 'rating':
      return checkRating(req.body, s);
    case 'support':
      return good({ action: 'support', body: req.body, refId: req.body.message.support.ref_id });
    default: {
      const never: never = req;
      return never;
    }
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
  if (items === undefined) return good({ action: 'update', body, order: o, kw: o.kw });
  if (items.length !== 1) return bad(fault(BecknErrorCode.INVALID_REQUEST, 'an order holds exactly one flexibility item', 'message.order.items'));
  const item = items[0]!;
  if (item.id !== o.offerId) return bad(fault(BecknErrorCode.ITEM_NOT_FOUND, `order "${o.orderId}" is for item "${o.offerId}"`, 'message.order.items[0].id'));
  const kw = measureToKw(item.quantity.selected.measure);
  const path = 'message.order.items[0].quantity.selected.measure.value';
  const offer = s.offers.get(o.offerId);
  const minKw = offer?.minKw ?? 0;
  if (!(kw > 0) || kw < minKw - 1e-9) return bad(fault(BecknErrorCode.ITEM_QUANTITY_UNAVAILABLE, `${kw} kW is below the minimum of ${minKw} kW (cancel to drop the order)`, path));
  // Fewer kW after the gate is a cancellation past it: the site has already put its plan
  // around the order (a buyer cut 1,000 kW to 100 kW mid-window and paid for 0.7 of 1 MWh shed).
  if (Math.abs(kw - o.kw) > 1e-9 && nowMs >= o.cancelGateMs) {
    return bad(fault(BecknErrorCode.UPDATION_NOT_POSSIBLE, `the kW of an order change only before its gate, which closed at ${new Date(o.cancelGateMs).toISOString()}`, path));
  }
  if (kw > o.kw + 1e-9) {
    // The extra kW are sold at the order's terms, so only while the offer still has them: a
    // minimum bought cheap was otherwise an option on the whole offer after its price rose.
    if (offer && (offer.priceGbpPerMwh !== o.priceGbpPerMwh || offer.penaltyGbpPerMwh !== o.penaltyGbpPerMwh)) {
      return bad(fault(BecknErrorCode.UPDATION_NOT_POSSIBLE, `item "${o.offerId}" is now offered at £${offer.priceGbpPerMwh}/MWh (penalty £${offer.penaltyGbpPerMwh}/MWh), not the order's £${o.priceGbpPerMwh}/MWh (penalty £${o.penaltyGbpPerMwh}/MWh): buy more in a new transaction`, path));
    }
    const free = availableKwOf(s, o.offerId, o.orderId);
    if (kw > free + 1e-9) return bad(fault(BecknErrorCode.ITEM_QUANTITY_UNAVAILABLE, `${kw} kW asked, ${free} kW available`, path));
  }
  return good({ action: 'update', body, order: o, kw });
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
    return good({ action: 'rating', body, orderId: order.orderId, value });
  }
  return bad(fault(BecknErrorCode.ENTITY_TO_RATE_NOT_FOUND, 'no confirmed order of this buyer matches the ratings', 'message.ratings'));
}
