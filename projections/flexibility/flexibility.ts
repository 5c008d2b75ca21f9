import { BucketMap, type FoldEvent } from '../schedule/index.ts';

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
  readonly kw: number;
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
  readonly cancelled: { readonly reason: string; readonly by: string } | null;
  readonly rating: number | null;
}

export interface AvailableWindow {
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly kw: number;
  readonly marginalCostGbpPerMwh: number;
  readonly baselineKw: number;
}

export interface StressWindow {
  readonly stressId: string;
  readonly kind: string;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly peakCarbonGPerKwh: number;
  readonly peakPriceGbpPerMwh: number;
  readonly severity: number;
}

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

type D = Record<string, unknown>;
const step = (status: OrderStep['status'], e: FoldEvent): OrderStep => ({ status, at: e.time ?? null, eventId: e.id ?? null });

function advance(o: FlexOrder, status: OrderStatus, e: FoldEvent): FlexOrder {
  // Terminal states stay; a late or repeated earlier step does not move an order back.
  if (o.status === 'fulfilled' || o.status === 'cancelled' || RANK[status] < RANK[o.status]) return { ...o, history: [...o.history, step(status, e)] };
  return { ...o, status, history: [...o.history, step(status, e)] };
}

function withOrder(s: FlexibilityState, id: string, e: FoldEvent, f: (o: FlexOrder) => FlexOrder): FlexibilityState {
  const o = s.orders.get(id);
  if (!o) return { ...s, orphanEvents: s.orphanEvents + 1 };
  return { ...s, orders: s.orders.set(id, f(o)) };
}

export function evolveFlexibility(s: FlexibilityState, e: FoldEvent): FlexibilityState {
  const d = (e.data ?? {}) as D;
  switch (e.type) {
    case 'compute.flexibility.available':
      return { ...s, available: { planId: String(d['planId']), at: e.time ?? null, windows: (d['windows'] as AvailableWindow[]) ?? [] } };
    case 'grid.stress.expected': {
      const w: StressWindow = {
        stressId: String(d['stressId']),
        kind: String(d['kind']),
        windowStart: String(d['windowStart']),
        windowEnd: String(d['windowEnd']),
        peakCarbonGPerKwh: Number(d['peakCarbonGPerKwh']),
        peakPriceGbpPerMwh: Number(d['peakPriceGbpPerMwh']),
        severity: Number(d['severity']),
      };
      return { ...s, stress: s.stress.set(w.stressId, w) };
    }
    case 'flex.offer.published': {
      const id = String(d['offerId']);
      const prev = s.offers.get(id);
      const offer: FlexOffer = {
        offerId: id,
        planId: String(d['planId']),
        windowStart: String(d['windowStart']),
        windowEnd: String(d['windowEnd']),
        availableKw: Number(d['availableKw']),
        priceGbpPerMwh: Number(d['priceGbpPerMwh']),
        baselineKw: Number(d['baselineKw']),
        validUntil: String(d['validUntil']),
        publishedAt: e.time ?? null,
        eventId: e.id ?? null,
        orderIds: prev?.orderIds ?? [],
      };
      return { ...s, offers: s.offers.set(id, offer) };
    }
    case 'flex.order.selected':
    case 'flex.order.initialized':
    case 'flex.order.confirmed': {
      const status = e.type.slice('flex.order.'.length) as OrderStatus;
      const id = String(d['orderId']);
      const prev = s.orders.get(id);
      const terms = {
        offerId: String(d['offerId']),
        bapId: String(d['bapId']),
        windowStart: String(d['windowStart']),
        windowEnd: String(d['windowEnd']),
        settlementDate: String(d['settlementDate']),
        kw: Number(d['kw']),
        priceGbpPerMwh: Number(d['priceGbpPerMwh']),
        penaltyGbpPerMwh: Number(d['penaltyGbpPerMwh']),
        baselineKw: Number(d['baselineKw']),
      };
      const order: FlexOrder = prev
        ? advance({ ...prev, ...(RANK[status] >= RANK[prev.status] && prev.status !== 'cancelled' && prev.status !== 'fulfilled' ? terms : {}) }, status, e)
        : { orderId: id, ...terms, status, capKw: null, history: [step(status, e)], settled: null, cancelled: null, rating: null };
      let offers = s.offers;
      const offer = offers.get(terms.offerId);
      if (offer && !offer.orderIds.includes(id)) offers = offers.set(offer.offerId, { ...offer, orderIds: [...offer.orderIds, id] });
      return { ...s, orders: s.orders.set(id, order), offers };
    }
    case 'flex.order.activated':
      return withOrder(s, String(d['orderId']), e, (o) => ({ ...advance(o, 'active', e), capKw: Number(d['capKw']) }));
    case 'flex.order.updated':
      return withOrder(s, String(d['orderId']), e, (o) => ({ ...o, kw: Number(d['kw']), history: [...o.history, step('updated', e)] }));
    case 'flex.order.fulfilled':
      return withOrder(s, String(d['orderId']), e, (o) => ({
        ...advance(o, 'fulfilled', e),
        settled: {
          deliveredMwh: Number(d['deliveredMwh']),
          contractedMwh: Number(d['contractedMwh']),
          paymentGbp: Number(d['paymentGbp']),
          penaltyGbp: Number(d['penaltyGbp']),
          netGbp: Number(d['netGbp']),
        },
      }));
    case 'flex.order.cancelled':
      return withOrder(s, String(d['orderId']), e, (o) => ({ ...advance(o, 'cancelled', e), cancelled: o.status === 'fulfilled' ? o.cancelled : { reason: String(d['reason']), by: String(d['by']) } }));
    case 'flex.order.rated':
      return withOrder(s, String(d['orderId']), e, (o) => ({ ...o, rating: Number(d['value']), history: [...o.history, step('rated', e)] }));
    case 'beckn.request.rejected':
      return {
        ...s,
        becknRejections: s.becknRejections + 1,
        recentRejections: [...s.recentRejections.slice(-(MAX_REJECTIONS_KEPT - 1)), { action: String(d['action']), code: String(d['code']), reason: String(d['reason']), at: e.time ?? null }],
      };
    default:
      return s;
  }
}

export function projectFlexibility(events: Iterable<FoldEvent>, from: FlexibilityState = initialFlexibility): FlexibilityState {
  let s = from;
  for (const e of events) s = evolveFlexibility(s, e);
  return s;
}
