import { eventOf, type Decision } from '../../../core/runtime/index.ts';
import { settlementPeriodOf } from '../../../core/time/index.ts';
import { OrderCancelled, OrderConfirmed, OrderInitialized, OrderRated, OrderSelected, OrderUpdated } from '../../../schemas/index.ts';
import { checkRequest } from '../checks.ts';
import type { CoordinationOut, ActionRequest } from '../messages.ts';
import { errorCallback, onCancelBody, onConfirmBody, onInitBody, onRatingBody, onSearchBody, onSelectBody, onStatusBody, onSupportBody, onUpdateBody } from '../responses.ts';
import { orderRecordOf, type CoordinationState, type OrderTerms, type PublishedOffer } from '../state.ts';
import { callbackEvent } from './callbacks.ts';
import { rejectionDecision } from './rejection.ts';
import { CALLBACKS_STREAM, configFor, decided, iso, orderStream, type CoordinationDecideDeps, type Decided, type Now } from './deps.ts';

/**
 * `flex.request.handle`: a Beckn request the intake acknowledged. Checked again (the state may
 * have moved since the ACK), then answered with its on_* callback; select, init and confirm
 * record the order's step, update, cancel and rating change it.
 */
export function decideRequest(deps: CoordinationDecideDeps, s: CoordinationState, req: ActionRequest, now: Now): Decided {
  const { nowMs } = now;
  const c = req.body.context;
  const bap = c.bap_uri;
  const rcfg = configFor(deps, bap);
  const check = checkRequest(req, s, nowMs, deps.config);
  if (!check.ok) {
    const r = rejectionDecision({ action: req.action, messageId: c.message_id, transactionId: c.transaction_id, bapId: c.bap_id, httpStatus: 200, code: check.fault.code, reason: `refused in the on_${req.action} callback: ${check.fault.message}`, path: check.fault.path ?? null });
    return decided([{ ...r, events: [...r.events, callbackEvent(bap, `on_${req.action}`, errorCallback(rcfg, req, nowMs, check.fault))] }]);
  }
  const plan = check.plan;
  const who = { transactionId: c.transaction_id, bapId: c.bap_id, bapUri: c.bap_uri };
  const only = (...events: Decision<CoordinationOut>['events']): Decided => decided([{ stream: CALLBACKS_STREAM, events }]);
  switch (plan.action) {
    case 'search':
      return only(callbackEvent(bap, 'on_search', onSearchBody(rcfg, s, { request: plan.body.context, nowMs }, plan.intent)));
    case 'select':
    case 'init':
    case 'confirm': {
      const offer = s.offers.get(plan.offerId)!;
      const orderId = plan.draftOrderId ?? `ord-${now.newId()}`;
      const t = termsOf({ orderId, offer, kw: plan.kw, ...who });
      // The order's fact and its callback in one append: both stored, or neither.
      if (plan.action === 'select') {
        const cb = callbackEvent(bap, 'on_select', onSelectBody(rcfg, { request: plan.body.context, nowMs }, offer, plan.kw));
        return decided([{ stream: orderStream(orderId), events: [eventOf(OrderSelected, t), cb] }]);
      }
      if (plan.action === 'init') {
        const cb = callbackEvent(bap, 'on_init', onInitBody(rcfg, { request: plan.body.context, nowMs }, offer, plan.kw, plan.body.message.order.billing));
        return decided([{ stream: orderStream(orderId), events: [eventOf(OrderInitialized, t), cb] }]);
      }
      const record = orderRecordOf(t, 'confirmed', nowMs, s.orders.get(orderId));
      const cb = callbackEvent(bap, 'on_confirm', onConfirmBody(rcfg, s, { request: plan.body.context, nowMs }, record, plan.body.message.order.billing));
      return decided([{ stream: orderStream(orderId), events: [eventOf(OrderConfirmed, t), cb] }], [{ atMs: Math.max(nowMs, offer.windowStartMs), orderId }]);
    }
    case 'status':
      return only(callbackEvent(bap, 'on_status', onStatusBody(rcfg, s, { request: plan.body.context, nowMs }, plan.order)));
    case 'update': {
      const o = plan.order;
      const events: Array<Decision<CoordinationOut>['events'][number]> =
        plan.kw === o.kw ? [] : [eventOf(OrderUpdated, { orderId: o.orderId, kw: plan.kw, previousKw: o.kw, at: iso(nowMs) })];
      events.push(callbackEvent(bap, 'on_update', onUpdateBody(rcfg, s, { request: plan.body.context, nowMs }, { ...o, kw: plan.kw, updatedMs: nowMs })));
      return decided([{ stream: orderStream(o.orderId), events }]);
    }
    case 'cancel': {
      const o = plan.order;
      const cb = callbackEvent(bap, 'on_cancel', onCancelBody(rcfg, s, { request: plan.body.context, nowMs }, { ...o, phase: 'cancelled', cancelledAtMs: nowMs, updatedMs: nowMs }));
      return decided([{ stream: orderStream(o.orderId), events: [eventOf(OrderCancelled, { orderId: o.orderId, at: iso(nowMs), reason: plan.reason, by: 'buyer' }), cb] }]);
    }
    case 'rating':
      return decided([
        { stream: orderStream(plan.orderId), events: [eventOf(OrderRated, { orderId: plan.orderId, value: plan.value }), callbackEvent(bap, 'on_rating', onRatingBody(rcfg, { request: plan.body.context, nowMs }))] },
      ]);
    case 'support':
      return only(callbackEvent(bap, 'on_support', onSupportBody(rcfg, { request: plan.body.context, nowMs }, plan.refId)));
    default: {
      const never: never = plan;
      return never;
    }
  }
}

/** The terms of an order for `kw` of an offer, as its events carry them. */
export function termsOf(o: { orderId: string; offer: PublishedOffer; kw: number; transactionId: string; bapId: string; bapUri: string }): OrderTerms {
  const first = settlementPeriodOf(o.offer.windowStartMs);
  const last = settlementPeriodOf(o.offer.windowEndMs - 1);
  return {
    orderId: o.orderId,
    offerId: o.offer.offerId,
    transactionId: o.transactionId,
    bapId: o.bapId,
    bapUri: o.bapUri,
    windowStart: iso(o.offer.windowStartMs),
    windowEnd: iso(o.offer.windowEndMs),
    settlementDate: first.settlementDate,
    firstSettlementPeriod: first.settlementPeriod,
    lastSettlementPeriod: last.settlementPeriod,
    kw: o.kw,
    priceGbpPerMwh: o.offer.priceGbpPerMwh,
    penaltyGbpPerMwh: o.offer.penaltyGbpPerMwh,
    baselineMethod: o.offer.baselineMethod,
    baselineKw: o.offer.baselineKw,
    cancelGate: iso(o.offer.validUntilMs),
  };
}
