import type { DataOf, OfferPublished, OrderActivated, OrderCancelled, OrderConfirmed, OrderFulfilled, OrderUpdated } from '../../schemas/index.ts';

/**
 * The events the settlement projection folds: the registered `flex.*` v1 events
 * (`schemas/flex.ts`) and `site.meter.read` (see projections/metering). Two extensions are
 * accepted for a later version of those events: `baselineKw` as one value per settlement
 * period instead of one number for the whole window, and `itemId` for `offerId`.
 */

/** Baseline import (kW, period average) for one settlement period. */
export interface BaselinePoint {
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  readonly kw: number;
}

/** One number for every period of the window (v1), or one per period. */
export type BaselineKw = number | ReadonlyArray<BaselinePoint>;

type WithBaseline<T> = Omit<T, 'baselineKw'> & { readonly baselineKw: BaselineKw };

export type FlexOfferPublishedData = WithBaseline<DataOf<typeof OfferPublished>>;
export type FlexOrderConfirmedData = WithBaseline<DataOf<typeof OrderConfirmed>>;
export type FlexOrderUpdatedData = DataOf<typeof OrderUpdated>;
export type FlexOrderCancelledData = DataOf<typeof OrderCancelled>;
export type FlexOrderActivatedData = DataOf<typeof OrderActivated>;
export type FlexOrderFulfilledData = DataOf<typeof OrderFulfilled>;

/** Only what the fold reads; the registered events carry more. */
export interface OfferFields {
  readonly offerId?: string;
  readonly itemId?: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly baselineMethod: string;
  readonly baselineKw: BaselineKw;
}

export interface OrderFields {
  readonly orderId: string;
  readonly offerId?: string;
  readonly itemId?: string;
  readonly kw: number;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly priceGbpPerMwh: number;
  readonly penaltyGbpPerMwh: number;
  readonly baselineMethod?: string;
  /** Absent: the plan published with the offer, as it stood at confirmation. */
  readonly baselineKw?: BaselineKw;
}

export const SETTLEMENT_EVENT_TYPES = ['flex.offer.published', 'flex.order.confirmed', 'flex.order.updated', 'flex.order.cancelled', 'flex.order.activated', 'flex.order.fulfilled', 'site.meter.read'] as const;
