import { Schema } from 'effect';
import { defineCommand, defineEvent } from './registry.ts';
import { defineUpcaster } from './upcasters.ts';
import { CALLBACK_ACTIONS, REQUEST_ACTIONS } from './beckn/context.ts';
import {
  CancelRequest,
  ConfirmRequest,
  InitRequest,
  OnCancelRequest,
  OnConfirmRequest,
  OnInitRequest,
  OnRatingRequest,
  OnSearchRequest,
  OnSelectRequest,
  OnStatusRequest,
  OnSupportRequest,
  OnUpdateRequest,
  RatingRequest,
  SearchRequest,
  SelectRequest,
  StatusRequest,
  SupportRequest,
  UpdateRequest,
} from './beckn/messages.ts';
import { Finite, IsoUtc, MAX_TEXT, NonEmpty, NonEmptyText, NonNegative, NonNegativeInt, Positive, SettlementDate, SettlementPeriod, Text, nonEmptyText, text } from './common.ts';

/** The terms every flexibility record carries: a reduction of `kw` below the baseline in a window. */
const Window = {
  windowStart: IsoUtc,
  windowEnd: IsoUtc,
  /** Settlement periods covered (UK local), first and last. */
  settlementDate: SettlementDate,
  firstSettlementPeriod: SettlementPeriod,
  lastSettlementPeriod: SettlementPeriod,
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
  bapUri: nonEmptyText(MAX_TEXT),
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
      Schema.Struct({ settlementDate: SettlementDate, settlementPeriod: SettlementPeriod, baselineKwh: NonNegative, meteredKwh: Finite, deliveredKwh: NonNegative }),
    ),
  }),
);
export const OrderCancelled = defineEvent(
  'flex.order.cancelled',
  1,
  'The order was cancelled; the capacity is free again',
  Schema.Struct({ orderId: NonEmpty, at: IsoUtc, reason: NonEmptyText, by: Schema.Literals(['buyer', 'seller']) }),
);
export const OrderRated = defineEvent(
  'flex.order.rated',
  1,
  'The buyer rated the delivery (Beckn rating)',
  Schema.Struct({ orderId: NonEmpty, value: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 })), comment: Schema.optional(Text) }),
);
export const RequestRejected = defineEvent(
  'beckn.request.rejected',
  1,
  'A Beckn request was refused (NACK or 401): the audit trail of what was not accepted',
  Schema.Struct({
    action: nonEmptyText(64),
    messageId: Schema.NullOr(text(256)),
    transactionId: Schema.NullOr(text(256)),
    bapId: Schema.NullOr(text(256)),
    httpStatus: Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 599 })),
    code: nonEmptyText(64),
    /** At most 512 characters: a refusal is a bounded summary, never the refused request. */
    reason: nonEmptyText(512),
    path: Schema.NullOr(text(256)),
    /**
     * For a request refused before it was read (404, 413): a bounded summary, never the body.
     * Optional, so the events written before it existed still decode.
     */
    request: Schema.optional(
      Schema.Struct({
        method: text(16),
        urlPath: text(256),
        sizeBytes: Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
        sha256: Schema.NullOr(Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/, { expected: '64 lower-case hex digits' }))),
      }),
    ),
  }),
);


/* ---- Commands of the coordination agent (the BPP): what its HTTP server hands it. ---- */

const Rejection = RequestRejected.data;

/**
 * A Beckn request the BPP's HTTP server has verified (signature, schema, ttl, message id,
 * business checks) and acknowledged; the coordination agent acts on it and answers with the
 * matching on_* callback. The body is the request exactly as decoded.
 */
export const HandleRequest = defineCommand(
  'flex.request.handle',
  1,
  'Act on an acknowledged Beckn request and answer it with its on_* callback',
  Schema.Struct({
    action: Schema.Literals(REQUEST_ACTIONS),
    body: Schema.Union([SearchRequest, SelectRequest, InitRequest, ConfirmRequest, StatusRequest, UpdateRequest, CancelRequest, RatingRequest, SupportRequest]),
  }),
);

/** The HTTP server refused a request (NACK or 401): record it, change nothing else. */
export const RecordRejection = defineCommand('flex.request.reject', 1, 'Record a refused Beckn request on the ledger', Rejection);

/* ---- The grid operator (a Beckn BAP): its command and its facts (category `purchase`). ---- */

export const HandleCallback = defineCommand(
  'market.callback.handle',
  1,
  'Act on an acknowledged Beckn callback (on_*) from a BPP',
  Schema.Struct({
    action: Schema.Literals(CALLBACK_ACTIONS),
    body: Schema.Union([OnSearchRequest, OnSelectRequest, OnInitRequest, OnConfirmRequest, OnStatusRequest, OnUpdateRequest, OnCancelRequest, OnRatingRequest, OnSupportRequest]),
  }),
);

export const PurchaseSearched = defineEvent(
  'market.purchase.searched',
  1,
  'The grid operator saw a stress window and asked the BPP for flexibility in it (Beckn search)',
  Schema.Struct({
    purchaseId: NonEmpty,
    stressId: NonEmpty,
    kind: NonEmpty,
    windowStart: IsoUtc,
    windowEnd: IsoUtc,
    /** The P50 peak of the stressed signal when announced (gCO2/kWh or £/MWh, by kind). */
    peak: Finite,
    wantKw: Positive,
    transactionId: NonEmpty,
    messageId: NonEmpty,
    bppUri: nonEmptyText(MAX_TEXT),
  }),
);

/** The kinds of stress window (`grid.stress.expected`), and so of purchase. */
export const STRESS_KINDS = ['carbon-peak', 'price-peak'] as const;
export type StressKind = (typeof STRESS_KINDS)[number];

/**
 * v2: v1's `peak` carried gCO2/kWh or £/MWh depending on `kind`, a number whose name did not
 * say its unit. v2 names the unit: the peak of the stressed signal is `peakCarbonGPerKwh` for
 * a carbon peak (and `peakPriceGbpPerMwh` is null), `peakPriceGbpPerMwh` for a price peak (and
 * `peakCarbonGPerKwh` is null); `kind` is one of the two kinds.
 */
const Searched = {
  purchaseId: NonEmpty,
  stressId: NonEmpty,
  windowStart: IsoUtc,
  windowEnd: IsoUtc,
  wantKw: Positive,
  transactionId: NonEmpty,
  messageId: NonEmpty,
  bppUri: nonEmptyText(MAX_TEXT),
};
export const PurchaseSearchedV2 = defineEvent(
  'market.purchase.searched',
  2,
  'The grid operator saw a stress window and asked the BPP for flexibility in it (Beckn search). The P50 peak announced is in peakCarbonGPerKwh for a carbon peak, in peakPriceGbpPerMwh for a price peak; the other is null (a rule between fields the site checks)',
  Schema.Struct({
    ...Searched,
    kind: Schema.Literals(STRESS_KINDS),
    /** The P50 peak carbon intensity announced, for a carbon peak; null for a price peak. */
    peakCarbonGPerKwh: Schema.NullOr(Finite),
    /** The P50 peak price announced, for a price peak; null for a carbon peak. */
    peakPriceGbpPerMwh: Schema.NullOr(Finite),
  }).check(
    Schema.makeFilter((p) => {
      const [has, none] = p.kind === 'carbon-peak' ? (['peakCarbonGPerKwh', 'peakPriceGbpPerMwh'] as const) : (['peakPriceGbpPerMwh', 'peakCarbonGPerKwh'] as const);
      if (p[has] === null) return { path: [has], issue: `a ${p.kind} has its peak in ${has}` };
      if (p[none] !== null) return { path: [none], issue: `must be null for a ${p.kind}` };
      return undefined;
    }),
  ),
);

/** v1 → v2: `peak` moves to the field named for its kind's unit. */
export const PurchaseSearchedUpcaster = defineUpcaster(PurchaseSearched, PurchaseSearchedV2, ({ peak, kind, ...d }) =>
  kind === 'carbon-peak'
    ? { ...d, kind: 'carbon-peak' as const, peakCarbonGPerKwh: peak, peakPriceGbpPerMwh: null }
    : // Any other kind is not a price peak either: the v2 schema refuses it (an UpcastError), rather than guess a unit.
      { ...d, kind: kind as 'price-peak', peakCarbonGPerKwh: null, peakPriceGbpPerMwh: peak },
);

export const PurchaseSelected = defineEvent(
  'market.purchase.selected',
  1,
  'From the catalogue, the grid operator chose items within its price cap and budget (Beckn select sent)',
  Schema.Struct({
    purchaseId: NonEmpty,
    transactionId: NonEmpty,
    /** The BPP that answered (from the on_search context): where select, init and confirm go. */
    bppId: NonEmpty,
    bppUri: nonEmptyText(MAX_TEXT),
    offersSeen: NonNegativeInt,
    items: Schema.Array(
      Schema.Struct({ itemId: NonEmpty, kw: Positive, priceGbpPerMwh: Finite, windowStart: IsoUtc, windowEnd: IsoUtc, estimatedGbp: NonNegative, minKw: NonNegative, cancelGate: IsoUtc }),
    ),
  }),
);

export const PurchaseQuoted = defineEvent(
  'market.purchase.quoted',
  1,
  'The BPP quoted a selected item (on_select); init was sent',
  Schema.Struct({ purchaseId: NonEmpty, transactionId: NonEmpty, itemId: NonEmpty, kw: Positive, quoteGbp: NonNegative }),
);

export const PurchaseOrdered = defineEvent(
  'market.purchase.ordered',
  1,
  'The BPP confirmed an order (on_confirm): flexibility bought',
  Schema.Struct({
    purchaseId: NonEmpty,
    transactionId: NonEmpty,
    orderId: NonEmpty,
    itemId: NonEmpty,
    kw: Positive,
    priceGbpPerMwh: Finite,
    windowStart: IsoUtc,
    windowEnd: IsoUtc,
    committedGbp: NonNegative,
    /** Last moment to cancel (the offer's notice before the window). */
    cancelGate: IsoUtc,
  }),
);

export const PurchaseDeclined = defineEvent(
  'market.purchase.declined',
  1,
  'Nothing (more) was bought for a stress window: no offer fitted, the budget was spent, or the BPP refused',
  Schema.Struct({
    purchaseId: NonEmpty,
    transactionId: Schema.NullOr(NonEmpty),
    itemId: Schema.NullOr(NonEmpty),
    code: Schema.NullOr(NonEmpty),
    reason: NonEmptyText,
  }),
);

export const PurchaseChanged = defineEvent(
  'market.purchase.changed',
  1,
  'The grid operator cancelled or reduced an order because the stress passed or eased (on_cancel/on_update)',
  Schema.Struct({
    purchaseId: NonEmpty,
    orderId: NonEmpty,
    change: Schema.Literals(['cancelled', 'updated']),
    kw: NonNegative,
    previousKw: Positive,
    reason: NonEmptyText,
  }),
);

export const DeliveryReported = defineEvent(
  'market.delivery.reported',
  1,
  'Telemetry or a state change of an order received from the BPP (on_status)',
  Schema.Struct({
    purchaseId: NonEmpty,
    orderId: NonEmpty,
    state: NonEmpty,
    settlementDate: Schema.NullOr(SettlementDate),
    settlementPeriod: Schema.NullOr(SettlementPeriod),
    baselineKw: Schema.NullOr(Finite),
    meteredKw: Schema.NullOr(Finite),
    deliveredKw: Schema.NullOr(Finite),
    deliveredKwhToDate: Schema.NullOr(Finite),
    /** On completion: what the BPP says is owed for the delivery, £ (payment − penalty). */
    settledGbp: Schema.NullOr(Finite),
  }),
);

export const DeliveryRated = defineEvent(
  'market.delivery.rated',
  1,
  'The grid operator rated a completed delivery (Beckn rating)',
  Schema.Struct({ purchaseId: NonEmpty, orderId: NonEmpty, value: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 })), deliveredShare: NonNegative }),
);

export const marketMessages = [HandleRequest, RecordRejection, HandleCallback, PurchaseSearched, PurchaseSearchedV2, PurchaseSelected, PurchaseQuoted, PurchaseOrdered, PurchaseDeclined, PurchaseChanged, DeliveryReported, DeliveryRated];

export const flexMessages = [OfferPublished, OrderSelected, OrderInitialized, OrderConfirmed, OrderActivated, OrderUpdated, OrderFulfilled, OrderCancelled, OrderRated, RequestRejected, ...marketMessages];

export const flexUpcasters = [PurchaseSearchedUpcaster];
