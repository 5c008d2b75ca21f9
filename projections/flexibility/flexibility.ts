import { BucketMap } from '../schedule/index.ts';
import { kwHistoryOf, withKwChange, type KwHistory } from '../settlement/kw-history.ts';
import { evolverOf, projection, type FoldEvent } from '../kit.ts';
import {
  FlexibilityAvailable,
  OfferPublished,
  OrderActivated,
  OrderCancelled,
  OrderConfirmed,
  OrderFulfilled,
  OrderInitialized,
  OrderRated,
  OrderSelected,
  OrderUpdated,
  RequestRejected,
  StressExpected,
  type DataOf,
} from '../../schemas/index.ts';

/**
 * Flexibility as the market sees it: the windows the site says it could shed, the stress the
 * grid expects, the offers published, the orders and how far each has got, and what was
 * delivered and paid. Folded from `compute.flexibility.available`, `grid.stress.expected`,
 * `flex.*` and `beckn.request.rejected`.
 */

export type OrderStatus = 'selected' | 'initialized' | 'confirmed' | 'active' | 'fulfilled' | 'cancelled';
export const ORDER_STATUSES: ReadonlyArray<OrderStatus> = ['selected', 'initialized', 'confirmed', 'active', 'fulfilled', 'cancelled'];
const RANK: Record<OrderStatus, number> = { selected: 0, initialized: 1, confirmed: 2, active: 3, fulfilled: 4, cancelled: 4 };

export interface FlexOffer {
  readonly offerId: string;
  readonly planId: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly availableKw: number;
  readonly priceGbpPerMwh: number;
  readonly baselineKw: number;
  readonly validUntil: string;
  readonly publishedAt: string | null;
  readonly eventId: string | null;
  /** Orders placed against it. */
  readonly orderIds: ReadonlyArray<string>;
}

export interface OrderStep {
  readonly status: OrderStatus | 'updated' | 'rated';
  readonly at: string | null;
  readonly eventId: string | null;
}

export interface FlexOrder {
  readonly orderId: string;
  readonly offerId: string;
  readonly bapId: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly settlementDate: string;
  /** The kW as it stands now (after the buyer's latest change). */
  readonly kw: number;
  /**
   * The kW over time: the terms' kW, then each change from its time. Sold energy is read from
   * it (`orderMwh`) exactly as settlement contracts it (projections/settlement/kw-history.ts).
   */
  readonly kwHistory: KwHistory;
  readonly priceGbpPerMwh: number;
  readonly penaltyGbpPerMwh: number;
  readonly baselineKw: number;
  readonly status: OrderStatus;
  readonly capKw: number | null;
  readonly history: ReadonlyArray<OrderStep>;
  /** Filled when the order is fulfilled: the seller's settlement of it. */
  readonly settled: {
    readonly deliveredMwh: number;
    readonly contractedMwh: number;
    readonly paymentGbp: number;
    readonly penaltyGbp: number;
    readonly netGbp: number;
  } | null;
  /** `at` is when; `afterConfirm` whether it had been sold (settlement then contracts it up to `at`). */
  readonly cancelled: { readonly reason: string; readonly by: string; readonly at: string; readonly afterConfirm: boolean } | null;
  readonly rating: number | null;
}

export type AvailableWindow = DataOf<typeof FlexibilityAvailable>['windows'][number];

export type StressWindow = Pick<DataOf<typeof StressExpected>, 'stressId' | 'kind' | 'windowStart' | 'windowEnd' | 'peakCarbonGPerKwh' | 'peakPriceGbpPerMwh' | 'severity'>;

export interface FlexibilityState {
  readonly available: { readonly planId: string; readonly at: string | null; readonly windows: ReadonlyArray<AvailableWindow> } | null;
  readonly stress: BucketMap<StressWindow>;
  readonly offers: BucketMap<FlexOffer>;
  readonly orders: BucketMap<FlexOrder>;
  readonly becknRejections: number;
  readonly recentRejections: ReadonlyArray<{ readonly action: string; readonly code: string; readonly reason: string; readonly at: string | null }>;
  /** Order events for orders never selected/confirmed here. */
  readonly orphanEvents: number;
}

export const MAX_REJECTIONS_KEPT = 50;

export const initialFlexibility: FlexibilityState = {
  available: null,
  stress: BucketMap.empty(),
  offers: BucketMap.empty(),
  orders: BucketMap.empty(),
  becknRejections: 0,
  recentRejections: [],
  orphanEvents: 0,
};

const step = (status: OrderStep['status'], e: FoldEvent): OrderStep => ({ status, at: e.time ?? null, eventId: e.id ?? null });

function advance(o: FlexOrder, status: OrderStatus, e: FoldEvent): FlexOrder {
  // Terminal states stay; a late or repeated earlier step does not move an order back.
  if (o.status === 'fulfilled' || o.status === 'cancelled' || RANK[status] < RANK[o.status]) return { ...o, history: [...o.history, step(status, e)] };
  return { ...o, status, history: [...o.history, step(status, e)] };
}

function withOrder(s: FlexibilityState, id: string, f: (o: FlexOrder) => FlexOrder): FlexibilityState {
  const o = s.orders.get(id);
  if (!o) return { ...s, orphanEvents: s.orphanEvents + 1 };
  return { ...s, orders: s.orders.set(id, f(o)) };
}

type OrderTerms = DataOf<typeof OrderConfirmed>;

/** Selected, initialized or confirmed: the terms as they stand at that step. */
function placed(s: FlexibilityState, status: 'selected' | 'initialized' | 'confirmed', d: OrderTerms, e: FoldEvent): FlexibilityState {
  const id = d.orderId;
  const prev = s.orders.get(id);
  const terms = {
    offerId: d.offerId,
    bapId: d.bapId,
    windowStart: d.windowStart,
    windowEnd: d.windowEnd,
    settlementDate: d.settlementDate,
    kw: d.kw,
    kwHistory: kwHistoryOf(d.kw),
    priceGbpPerMwh: d.priceGbpPerMwh,
    penaltyGbpPerMwh: d.penaltyGbpPerMwh,
    baselineKw: d.baselineKw,
  };
  const order: FlexOrder = prev
    ? // Terms are set on the way to confirmation; once confirmed, a repeat of a step already
      // taken (a re-sent confirmation) changes nothing: kW changes since then are updates'.
      advance({ ...prev, ...(RANK[status] >= RANK[prev.status] && RANK[prev.status] < RANK.confirmed ? terms : {}) }, status, e)
    : { orderId: id, ...terms, status, capKw: null, history: [step(status, e)], settled: null, cancelled: null, rating: null };
  let offers = s.offers;
  const offer = offers.get(terms.offerId);
  if (offer && !offer.orderIds.includes(id)) offers = offers.set(offer.offerId, { ...offer, orderIds: [...offer.orderIds, id] });
  return { ...s, orders: s.orders.set(id, order), offers };
}

export const flexibilityProjection = projection({
  name: 'flexibility',
  handles: [FlexibilityAvailable, StressExpected, OfferPublished, OrderSelected, OrderInitialized, OrderConfirmed, OrderActivated, OrderUpdated, OrderFulfilled, OrderCancelled, OrderRated, RequestRejected],
  initial: initialFlexibility,
  evolve(s: FlexibilityState, e): FlexibilityState {
    switch (e.type) {
      case 'compute.flexibility.available':
        return { ...s, available: { planId: e.data.planId, at: e.time ?? null, windows: e.data.windows } };
      case 'grid.stress.expected': {
        const d = e.data;
        const w: StressWindow = {
          stressId: d.stressId,
          kind: d.kind,
          windowStart: d.windowStart,
          windowEnd: d.windowEnd,
          peakCarbonGPerKwh: d.peakCarbonGPerKwh,
          peakPriceGbpPerMwh: d.peakPriceGbpPerMwh,
          severity: d.severity,
        };
        return { ...s, stress: s.stress.set(w.stressId, w) };
      }
      case 'flex.offer.published': {
        const d = e.data;
        const offer: FlexOffer = {
          offerId: d.offerId,
          planId: d.planId,
          windowStart: d.windowStart,
          windowEnd: d.windowEnd,
          availableKw: d.availableKw,
          priceGbpPerMwh: d.priceGbpPerMwh,
          baselineKw: d.baselineKw,
          validUntil: d.validUntil,
          publishedAt: e.time ?? null,
          eventId: e.id ?? null,
          orderIds: s.offers.get(d.offerId)?.orderIds ?? [],
        };
        return { ...s, offers: s.offers.set(d.offerId, offer) };
      }
      case 'flex.order.selected':
        return placed(s, 'selected', e.data, e);
      case 'flex.order.initialized':
        return placed(s, 'initialized', e.data, e);
      case 'flex.order.confirmed':
        return placed(s, 'confirmed', e.data, e);
      case 'flex.order.activated':
        return withOrder(s, e.data.orderId, (o) => ({ ...advance(o, 'active', e), capKw: e.data.capKw }));
      case 'flex.order.updated':
        // The new kW applies from the change's time, not over the whole window (settlement does the same).
        return withOrder(s, e.data.orderId, (o) => ({ ...o, kw: e.data.kw, kwHistory: withKwChange(o.kwHistory, Date.parse(e.data.at), e.data.kw), history: [...o.history, step('updated', e)] }));
      case 'flex.order.fulfilled': {
        const d = e.data;
        return withOrder(s, d.orderId, (o) => ({
          ...advance(o, 'fulfilled', e),
          settled: { deliveredMwh: d.deliveredMwh, contractedMwh: d.contractedMwh, paymentGbp: d.paymentGbp, penaltyGbp: d.penaltyGbp, netGbp: d.netGbp },
        }));
      }
      case 'flex.order.cancelled': {
        const d = e.data;
        return withOrder(s, d.orderId, (o) => ({ ...advance(o, 'cancelled', e), cancelled: o.status === 'fulfilled' || o.status === 'cancelled' ? o.cancelled : { reason: d.reason, by: d.by, at: d.at, afterConfirm: RANK[o.status] >= RANK.confirmed } }));
      }
      case 'flex.order.rated':
        return withOrder(s, e.data.orderId, (o) => ({ ...o, rating: e.data.value, history: [...o.history, step('rated', e)] }));
      case 'beckn.request.rejected': {
        const d = e.data;
        return {
          ...s,
          becknRejections: s.becknRejections + 1,
          recentRejections: [...s.recentRejections.slice(-(MAX_REJECTIONS_KEPT - 1)), { action: d.action, code: d.code, reason: d.reason, at: e.time ?? null }],
        };
      }
      default: {
        const _never: never = e;
        return _never;
      }
    }
  },
});

export const evolveFlexibility = evolverOf(flexibilityProjection);
