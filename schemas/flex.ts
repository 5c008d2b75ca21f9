import { Schema } from 'effect';
import { defineEvent } from './registry.ts';
import { Finite, IsoUtc, NonEmpty, NonNegative, Positive } from './common.ts';

/** The terms every flexibility record carries: a reduction of `kw` below the baseline in a window. */
const Window = {
  windowStart: IsoUtc,
  windowEnd: IsoUtc,
  /** Settlement periods covered (UK local), first and last. */
  settlementDate: Schema.String,
  firstSettlementPeriod: Schema.Int,
  lastSettlementPeriod: Schema.Int,
};

export const OfferPublished = defineEvent(
  'flex.offer.published',
  1,
  'A flexibility offer (a Beckn catalog item): load the site can shed in a window, at a price',
  Schema.Struct({
    offerId: NonEmpty,
    planId: NonEmpty,
    ...Window,
    availableKw: NonNegative,
    minKw: NonNegative,
    priceGbpPerMwh: Finite,
    penaltyGbpPerMwh: NonNegative,
    noticeMin: NonNegative,
    baselineMethod: NonEmpty,
    /** The planned import in the window before any reduction: what delivery is measured against. */
    baselineKw: NonNegative,
    location: NonEmpty,
    /** The offer is good until then (quotes go stale as the plan moves). */
    validUntil: IsoUtc,
  }),
);

const OrderTerms = Schema.Struct({
  orderId: NonEmpty,
  offerId: NonEmpty,
  transactionId: NonEmpty,
  bapId: NonEmpty,
  bapUri: NonEmpty,
  ...Window,
  kw: Positive,
  priceGbpPerMwh: Finite,
  penaltyGbpPerMwh: NonNegative,
  baselineMethod: NonEmpty,
  baselineKw: NonNegative,
  /** Last moment the buyer may cancel without penalty. */
  cancelGate: IsoUtc,
});

export const OrderSelected = defineEvent('flex.order.selected', 1, 'A buyer selected an offer (Beckn select)', OrderTerms);
export const OrderInitialized = defineEvent('flex.order.initialized', 1, 'A buyer initialised an order with its billing and fulfilment details (Beckn init)', OrderTerms);
export const OrderConfirmed = defineEvent('flex.order.confirmed', 1, 'A buyer confirmed the order: the capacity is reserved and the site must deliver', OrderTerms);
export const OrderActivated = defineEvent(
  'flex.order.activated',
  1,
  'The delivery window began: the site is holding its import below the committed cap',
  Schema.Struct({ orderId: NonEmpty, at: IsoUtc, capKw: NonNegative }),
);
export const OrderUpdated = defineEvent(
  'flex.order.updated',
  1,
  'The buyer changed the quantity of a confirmed order (Beckn update)',
  Schema.Struct({ orderId: NonEmpty, kw: Positive, previousKw: Positive, at: IsoUtc }),
);
export const OrderFulfilled = defineEvent(
  'flex.order.fulfilled',
  1,
  'The window closed; delivery measured against the baseline and settled',
  Schema.Struct({
    orderId: NonEmpty,
    deliveredMwh: NonNegative,
    contractedMwh: NonNegative,
    paymentGbp: NonNegative,
    penaltyGbp: NonNegative,
    netGbp: Finite,
    periods: Schema.Array(
      Schema.Struct({ settlementDate: Schema.String, settlementPeriod: Schema.Int, baselineKwh: NonNegative, meteredKwh: Finite, deliveredKwh: NonNegative }),
    ),
  }),
);
export const OrderCancelled = defineEvent(
  'flex.order.cancelled',
  1,
  'The order was cancelled; the capacity is free again',
  Schema.Struct({ orderId: NonEmpty, at: IsoUtc, reason: NonEmpty, by: Schema.Literals(['buyer', 'seller']) }),
);
export const OrderRated = defineEvent(
  'flex.order.rated',
  1,
  'The buyer rated the delivery (Beckn rating)',
  Schema.Struct({ orderId: NonEmpty, value: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 })), comment: Schema.optional(Schema.String) }),
);
export const RequestRejected = defineEvent(
  'beckn.request.rejected',
  1,
  'A Beckn request was refused (NACK or 401): the audit trail of what was not accepted',
  Schema.Struct({
    action: NonEmpty,
    messageId: Schema.NullOr(Schema.String),
    transactionId: Schema.NullOr(Schema.String),
    bapId: Schema.NullOr(Schema.String),
    httpStatus: Schema.Int,
    code: NonEmpty,
    reason: NonEmpty,
    path: Schema.NullOr(Schema.String),
  }),
);

export const flexMessages = [OfferPublished, OrderSelected, OrderInitialized, OrderConfirmed, OrderActivated, OrderUpdated, OrderFulfilled, OrderCancelled, OrderRated, RequestRejected];
