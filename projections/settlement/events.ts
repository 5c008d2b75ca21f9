/**
 * The events the settlement projection folds. The coordination agent emits the `flex.*` ones
 * (issue 5, item 6); the metering side emits `site.meter.read`. Times are ISO 8601 UTC,
 * settlement periods are named by UK local date and number.
 */

/** Baseline import (kW, period average) for one settlement period. */
export interface BaselinePoint {
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  readonly kw: number;
}

/** An offer went into the catalog, with the site's planned import: the default baseline. */
export interface FlexOfferPublished {
  readonly type: 'flex.offer.published';
  readonly data: {
    readonly itemId: string;
    readonly windowStart: string;
    readonly windowEnd: string;
    readonly kw: number;
    readonly priceGbpPerMwh: number;
    readonly penaltyGbpPerMwh: number;
    readonly baselineMethod: string;
    /** The site's planned import without the reduction, per period of (at least) the window. */
    readonly baselineKw: ReadonlyArray<BaselinePoint>;
  };
}

/**
 * An order was confirmed: the terms are copied from the offer at that moment. Without
 * `baselineKw` the baseline is the plan published with the offer, frozen now (before
 * activation), so a later re-plan cannot move it.
 */
export interface FlexOrderConfirmed {
  readonly type: 'flex.order.confirmed';
  readonly data: {
    readonly orderId: string;
    readonly itemId: string;
    readonly kw: number;
    readonly windowStart: string;
    readonly windowEnd: string;
    readonly priceGbpPerMwh: number;
    readonly penaltyGbpPerMwh: number;
    readonly baselineMethod?: string;
    readonly baselineKw?: ReadonlyArray<BaselinePoint>;
    readonly transactionId?: string;
    readonly bapId?: string;
  };
}

/** The contracted kW changed (an `update`), for periods starting at or after `effectiveFrom`. */
export interface FlexOrderUpdated {
  readonly type: 'flex.order.updated';
  readonly data: { readonly orderId: string; readonly kw: number; readonly effectiveFrom: string };
}

/** Cancelled at `at`: periods that start at or after it are not settled. */
export interface FlexOrderCancelled {
  readonly type: 'flex.order.cancelled';
  readonly data: { readonly orderId: string; readonly at: string; readonly reason?: string };
}

export interface FlexOrderActivated {
  readonly type: 'flex.order.activated';
  readonly data: { readonly orderId: string; readonly at?: string };
}

export interface FlexOrderFulfilled {
  readonly type: 'flex.order.fulfilled';
  readonly data: { readonly orderId: string; readonly at?: string };
}

export type SettlementEvent = FlexOfferPublished | FlexOrderConfirmed | FlexOrderUpdated | FlexOrderCancelled | FlexOrderActivated | FlexOrderFulfilled;
export const SETTLEMENT_EVENT_TYPES = ['flex.offer.published', 'flex.order.confirmed', 'flex.order.updated', 'flex.order.cancelled', 'flex.order.activated', 'flex.order.fulfilled', 'site.meter.read'] as const;
