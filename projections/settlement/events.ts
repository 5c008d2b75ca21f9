import { Schema } from 'effect';
import { NonEmpty, SettlementDate, SettlementPeriod } from '../../schemas/index.ts';

/**
 * What the settlement fold reads of the events it folds: the registered `flex.*` v1 events
 * (schemas/flex.ts) and `site.meter.read` (see projections/metering), and, ahead of a
 * registered version, an offer or order naming its item `itemId` instead of `offerId`, a
 * baseline given per settlement period, an order confirmed without terms it does not settle
 * on, and an update effective later than it is made (`effectiveFrom`). The fold decodes with
 * these schemas; fields it does not read are ignored.
 *
 * Numbers are any numbers and times any strings here: an order with impossible terms is kept
 * with its problems (settle.ts reports them), not dropped.
 */

/** Baseline import (kW, period average) for one settlement period. */
export const BaselinePoint = Schema.Struct({ settlementDate: SettlementDate, settlementPeriod: SettlementPeriod, kw: Schema.Number });
export type BaselinePoint = Schema.Schema.Type<typeof BaselinePoint>;

/** One number for every period of the window (v1), or one per period. */
export const BaselineKw = Schema.Union([Schema.Number, Schema.Array(BaselinePoint)]);
export type BaselineKw = Schema.Schema.Type<typeof BaselineKw>;

export const OfferRead = Schema.Struct({
  offerId: Schema.optional(NonEmpty),
  itemId: Schema.optional(NonEmpty),
  windowStart: Schema.String,
  windowEnd: Schema.String,
  baselineMethod: NonEmpty,
  baselineKw: BaselineKw,
});

export const OrderRead = Schema.Struct({
  orderId: NonEmpty,
  offerId: Schema.optional(NonEmpty),
  itemId: Schema.optional(NonEmpty),
  kw: Schema.Number,
  windowStart: Schema.String,
  windowEnd: Schema.String,
  priceGbpPerMwh: Schema.Number,
  penaltyGbpPerMwh: Schema.Number,
  baselineMethod: Schema.optional(NonEmpty),
  /** Absent: the plan published with the offer, as it stood at confirmation. */
  baselineKw: Schema.optional(BaselineKw),
});
export type OrderRead = Schema.Schema.Type<typeof OrderRead>;

/** v1 carries `at`; `effectiveFrom` is accepted when the change starts later than it is made. */
export const UpdateRead = Schema.Struct({ orderId: NonEmpty, kw: Schema.Number, at: Schema.optional(Schema.String), effectiveFrom: Schema.optional(Schema.String) });

export const CancelRead = Schema.Struct({ orderId: NonEmpty, at: Schema.String });

export const OrderRef = Schema.Struct({ orderId: NonEmpty });
