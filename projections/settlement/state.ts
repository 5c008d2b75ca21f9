import { DAY_MS, HALF_HOUR_MS, halfHourFloor, settlementPeriodOf } from '../../core/time/index.ts';
import { evolveMetering, initialMeteringState, type MeteringState } from '../metering/index.ts';
import { OfferPublished, OrderActivated, OrderCancelled, OrderConfirmed, OrderFulfilled, OrderUpdated, SiteMetered } from '../../schemas/index.ts';
import { readAs } from '../decode.ts';
import { evolverOf, projection } from '../kit.ts';
import { CancelRead, OfferRead, OrderRead, OrderRef, UpdateRead, type BaselineKw } from './events.ts';
import { kwAt, kwHistoryOf, withKwChange, type KwHistory } from './kw-history.ts';

export type OrderPhase = 'confirmed' | 'active' | 'fulfilled' | 'cancelled';

export interface SettledOrder {
  readonly orderId: string;
  readonly itemId: string;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  /** Contracted kW over time (kw-history.ts): a change applies from its time, within a half-hour too. */
  readonly kwSegments: KwHistory;
  readonly priceGbpPerMwh: number;
  readonly penaltyGbpPerMwh: number;
  readonly baselineMethod: string;
  /** kW by `date#period`; frozen at confirmation. */
  readonly baselineKw: ReadonlyMap<string, number>;
  readonly phase: OrderPhase;
  readonly cancelledAtMs?: number;
  /** Why the order cannot be settled as given (bad numbers, no baseline); empty when fine. */
  readonly problems: ReadonlyArray<string>;
}

export interface SettlementState {
  readonly metering: MeteringState;
  /** Latest published baseline plan per item (offers long past are dropped, see OFFER_RETENTION_MS). */
  readonly offers: ReadonlyMap<string, { readonly baselineMethod: string; readonly baselineKw: ReadonlyMap<string, number>; readonly windowEndMs: number }>;
  readonly orders: ReadonlyMap<string, SettledOrder>;
  /** Events that referred to something unknown (an update of an order never confirmed). */
  readonly ignored: ReadonlyArray<{ readonly type: string; readonly reason: string }>;
}

/**
 * An offer whose window ended this long before the newest offer's window starts can no longer
 * be confirmed, so its plan is dropped; this keeps a long-running fold from growing without end.
 */
export const OFFER_RETENTION_MS = 7 * DAY_MS;
/** How many ignored events are kept for inspection. */
export const MAX_IGNORED_KEPT = 100;

export const initialSettlementState: SettlementState = { metering: initialMeteringState, offers: new Map(), orders: new Map(), ignored: [] };

export const periodKey = (settlementDate: string, settlementPeriod: number): string => `${settlementDate}#${settlementPeriod}`;

/** Default baseline method: the plan published with the offer. */
export const OFFER_PLAN_BASELINE = 'scheduled-load-profile';

/** Per-period baseline; one number (the v1 events) stands for every period of the window. */
function baselineMap(b: BaselineKw | undefined, windowStartMs: number, windowEndMs: number): Map<string, number> {
  const m = new Map<string, number>();
  if (typeof b === 'number') {
    if (Number.isNaN(windowStartMs) || Number.isNaN(windowEndMs)) return m;
    for (let p = halfHourFloor(windowStartMs); p < windowEndMs; p += HALF_HOUR_MS) {
      const id = settlementPeriodOf(p);
      m.set(periodKey(id.settlementDate, id.settlementPeriod), b);
    }
    return m;
  }
  for (const p of b ?? []) m.set(periodKey(p.settlementDate, p.settlementPeriod), p.kw);
  return m;
}

function orderProblems(d: OrderRead, startMs: number, endMs: number, baseline: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  if (Number.isNaN(startMs) || Number.isNaN(endMs) || endMs <= startMs) out.push('the window must be two ISO times, end after start');
  if (!(d.kw >= 0) || !Number.isFinite(d.kw)) out.push('kw must be a finite number >= 0');
  if (!(d.priceGbpPerMwh >= 0) || !Number.isFinite(d.priceGbpPerMwh)) out.push('priceGbpPerMwh must be a finite number >= 0');
  if (!(d.penaltyGbpPerMwh >= 0) || !Number.isFinite(d.penaltyGbpPerMwh)) out.push('penaltyGbpPerMwh must be a finite number >= 0');
  for (const [k, v] of baseline) if (!Number.isFinite(v) || v < 0) out.push(`baseline ${k} must be a finite number >= 0`);
  return out;
}

const ignore = (s: SettlementState, type: string, reason: string): SettlementState => ({ ...s, ignored: [...s.ignored.slice(-(MAX_IGNORED_KEPT - 1)), { type, reason }] });

function withOrder(s: SettlementState, o: SettledOrder): SettlementState {
  const orders = new Map(s.orders);
  orders.set(o.orderId, o);
  return { ...s, orders };
}

/**
 * Settlement's fold. Each event is decoded with what the fold reads of it (events.ts), since
 * it also accepts shapes ahead of the registered versions; one that does not decode is kept in
 * `ignored` with why. Unknown event types leave the state unchanged; the fold never throws.
 */
export const settlementProjection = projection({
  name: 'settlement',
  handles: [OfferPublished, OrderConfirmed, OrderUpdated, OrderCancelled, OrderActivated, OrderFulfilled, SiteMetered],
  initial: initialSettlementState,
  evolve(state: SettlementState, event): SettlementState {
    const type = event.type;
    switch (type) {
      case 'site.meter.read': {
        const metering = evolveMetering(state.metering, event);
        return metering === state.metering ? state : { ...state, metering };
      }
      case 'flex.offer.published': {
        const r = readAs(OfferRead, event.data);
        const d = r.ok ? r.value : undefined;
        const itemId = d?.offerId ?? d?.itemId;
        const startMs = d ? Date.parse(d.windowStart) : NaN;
        const windowEndMs = d ? Date.parse(d.windowEnd) : NaN;
        if (!d || itemId === undefined || Number.isNaN(startMs) || Number.isNaN(windowEndMs)) return ignore(state, type, 'an offer needs an offerId and an ISO window');
        const offers = new Map<string, { baselineMethod: string; baselineKw: ReadonlyMap<string, number>; windowEndMs: number }>();
        for (const [id, o] of state.offers) if (o.windowEndMs >= startMs - OFFER_RETENTION_MS) offers.set(id, o);
        offers.set(itemId, { baselineMethod: d.baselineMethod, baselineKw: baselineMap(d.baselineKw, startMs, windowEndMs), windowEndMs });
        return { ...state, offers };
      }
      case 'flex.order.confirmed': {
        const r = readAs(OrderRead, event.data);
        if (!r.ok) return ignore(state, type, r.reason);
        const d = r.value;
        const itemId = d.offerId ?? d.itemId ?? '';
        if (state.orders.has(d.orderId)) return ignore(state, type, `order ${d.orderId} was already confirmed`);
        const startMs = Date.parse(d.windowStart);
        const endMs = Date.parse(d.windowEnd);
        const offer = state.offers.get(itemId);
        const baselineKw = d.baselineKw !== undefined ? baselineMap(d.baselineKw, startMs, endMs) : (offer?.baselineKw ?? new Map<string, number>());
        const problems = orderProblems(d, startMs, endMs, baselineKw);
        return withOrder(state, {
          orderId: d.orderId,
          itemId,
          windowStartMs: startMs,
          windowEndMs: endMs,
          kwSegments: kwHistoryOf(d.kw),
          priceGbpPerMwh: d.priceGbpPerMwh,
          penaltyGbpPerMwh: d.penaltyGbpPerMwh,
          baselineMethod: d.baselineMethod ?? (d.baselineKw !== undefined ? 'declared' : (offer?.baselineMethod ?? OFFER_PLAN_BASELINE)),
          baselineKw,
          phase: 'confirmed',
          problems,
        });
      }
      case 'flex.order.updated': {
        const r = readAs(UpdateRead, event.data);
        if (!r.ok) return ignore(state, type, r.reason);
        const d = r.value;
        const o = state.orders.get(d.orderId);
        if (!o) return ignore(state, type, `no order ${d.orderId}`);
        const fromMs = Date.parse(d.effectiveFrom ?? d.at ?? '');
        if (Number.isNaN(fromMs) || !(d.kw >= 0)) return ignore(state, type, `order ${o.orderId}: an update needs kw >= 0 and an ISO time`);
        const kwSegments = withKwChange(o.kwSegments, fromMs, d.kw);
        return withOrder(state, { ...o, kwSegments });
      }
      case 'flex.order.cancelled': {
        const r = readAs(CancelRead, event.data);
        if (!r.ok) return ignore(state, type, r.reason);
        const d = r.value;
        const o = state.orders.get(d.orderId);
        if (!o) return ignore(state, type, `no order ${d.orderId}`);
        const at = Date.parse(d.at);
        if (Number.isNaN(at)) return ignore(state, type, `order ${o.orderId}: cancelled needs an ISO time "at"`);
        return withOrder(state, { ...o, phase: 'cancelled', cancelledAtMs: at });
      }
      case 'flex.order.activated':
      case 'flex.order.fulfilled': {
        const r = readAs(OrderRef, event.data);
        if (!r.ok) return ignore(state, type, r.reason);
        const o = state.orders.get(r.value.orderId);
        if (!o) return ignore(state, type, `no order ${r.value.orderId}`);
        if (o.phase === 'cancelled') return state;
        return withOrder(state, { ...o, phase: type === 'flex.order.activated' ? 'active' : 'fulfilled' });
      }
      default: {
        const _never: never = type;
        return _never;
      }
    }
  },
});

export const evolveSettlement = evolverOf(settlementProjection);

/** Contracted kW of an order in force at `tMs` (a half-hour's start, or any time in it). */
export function contractedKwAt(o: SettledOrder, tMs: number): number {
  return kwAt(o.kwSegments, tMs);
}
