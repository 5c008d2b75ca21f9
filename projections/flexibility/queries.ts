import { ORDER_STATUSES, type FlexOffer, type FlexOrder, type FlexibilityState, type OrderStatus, type StressWindow } from './flexibility.ts';
import { HOUR_MS } from '../../core/time/index.ts';
import { kwhBetween } from '../settlement/kw-history.ts';

const byWindow = <T extends { windowStart: string }>(a: T, b: T, ka: string, kb: string) => (a.windowStart < b.windowStart ? -1 : a.windowStart > b.windowStart ? 1 : ka < kb ? -1 : 1);

export function flexOrders(s: FlexibilityState): FlexOrder[] {
  return [...s.orders.values()].sort((a, b) => byWindow(a, b, a.orderId, b.orderId));
}

export function flexOffers(s: FlexibilityState): FlexOffer[] {
  return [...s.offers.values()].sort((a, b) => byWindow(a, b, a.offerId, b.offerId));
}

export function stressWindows(s: FlexibilityState): StressWindow[] {
  return [...s.stress.values()].sort((a, b) => byWindow(a, b, a.stressId, b.stressId));
}

/**
 * Contracted energy of an order: its kW over its window, each change from its time (the same
 * history and arithmetic as settlement's contracted MWh); without a history, `kw` throughout.
 */
export function orderMwh(o: Pick<FlexOrder, 'kw' | 'windowStart' | 'windowEnd'> & { readonly kwHistory?: FlexOrder['kwHistory']; readonly cancelled?: FlexOrder['cancelled'] }): number {
  const startMs = Date.parse(o.windowStart);
  // A cancelled order is contracted up to its cancellation, as settlement has it.
  const cancelledMs = o.cancelled ? Date.parse(o.cancelled.at) : NaN;
  const endMs = Number.isFinite(cancelledMs) ? Math.min(Date.parse(o.windowEnd), cancelledMs) : Date.parse(o.windowEnd);
  const h = (endMs - startMs) / HOUR_MS;
  if (!(Number.isFinite(h) && h > 0)) return 0;
  return o.kwHistory ? kwhBetween(o.kwHistory, startMs, endMs) / 1000 : (o.kw * h) / 1000;
}

/** Sold: the buyer confirmed it; one cancelled after that counts up to its cancellation (orderMwh). */
export const isSold = (o: FlexOrder): boolean => o.status === 'confirmed' || o.status === 'active' || o.status === 'fulfilled' || (o.status === 'cancelled' && o.cancelled?.afterConfirm === true);

export interface FlexTotals {
  readonly offers: number;
  readonly orders: number;
  readonly byStatus: Readonly<Record<OrderStatus, number>>;
  readonly soldMwh: number;
  readonly deliveredMwh: number;
  readonly contractedSettledMwh: number;
  readonly paymentGbp: number;
  readonly penaltyGbp: number;
  readonly netGbp: number;
  readonly stressWindows: number;
  readonly becknRejections: number;
}

export function flexTotals(s: FlexibilityState): FlexTotals {
  const byStatus = Object.fromEntries(ORDER_STATUSES.map((k) => [k, 0])) as Record<OrderStatus, number>;
  let sold = 0, delivered = 0, contracted = 0, pay = 0, pen = 0, net = 0;
  for (const o of s.orders.values()) {
    byStatus[o.status]++;
    if (isSold(o)) sold += orderMwh(o);
    if (o.settled) {
      delivered += o.settled.deliveredMwh;
      contracted += o.settled.contractedMwh;
      pay += o.settled.paymentGbp;
      pen += o.settled.penaltyGbp;
      net += o.settled.netGbp;
    }
  }
  return {
    offers: s.offers.size,
    orders: s.orders.size,
    byStatus,
    soldMwh: sold,
    deliveredMwh: delivered,
    contractedSettledMwh: contracted,
    paymentGbp: pay,
    penaltyGbp: pen,
    netGbp: net,
    stressWindows: s.stress.size,
    becknRejections: s.becknRejections,
  };
}
