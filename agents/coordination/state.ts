import type { Envelope } from '../../core/envelope.ts';
import { evolveSettlement, initialSettlementState, type SettlementState } from '../../projections/settlement/index.ts';
import { DAY_MS } from '../../core/time/index.ts';

/**
 * What the coordination agent knows, built only by `evolve` from its own events (offers,
 * orders, rejections) and the facts it observes (the compute agent's flexibility, meter reads).
 * The HTTP server reads it, never writes it.
 */

export interface FlexWindowData {
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly kw: number;
  readonly marginalCostGbpPerMwh: number;
  readonly baselineKw: number;
}

export interface PublishedOffer {
  readonly offerId: string;
  readonly planId: string;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly availableKw: number;
  readonly minKw: number;
  readonly priceGbpPerMwh: number;
  readonly penaltyGbpPerMwh: number;
  readonly noticeMin: number;
  readonly baselineMethod: string;
  readonly baselineKw: number;
  readonly validUntilMs: number;
  readonly publishedMs: number;
}

export type OrderPhase = 'selected' | 'initialized' | 'confirmed' | 'active' | 'fulfilled' | 'cancelled';

export interface OrderRecord {
  readonly orderId: string;
  readonly offerId: string;
  readonly transactionId: string;
  readonly bapId: string;
  readonly bapUri: string;
  readonly kw: number;
  readonly priceGbpPerMwh: number;
  readonly penaltyGbpPerMwh: number;
  readonly baselineMethod: string;
  readonly baselineKw: number;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly cancelGateMs: number;
  readonly phase: OrderPhase;
  /** When the current quote was given (select/init), for the stale-quote check. */
  readonly quotedAtMs: number;
  readonly createdMs: number;
  readonly updatedMs: number;
  readonly cancelledAtMs: number | null;
  readonly rating: number | null;
  readonly fulfilled: { readonly deliveredMwh: number; readonly contractedMwh: number; readonly paymentGbp: number; readonly penaltyGbp: number; readonly netGbp: number } | null;
}

export interface CoordinationState {
  /** The compute agent's latest flexibility (all windows of its latest plan). */
  readonly flex: { readonly planId: string; readonly windows: ReadonlyArray<FlexWindowData> } | null;
  readonly offers: Map<string, PublishedOffer>;
  readonly orders: Map<string, OrderRecord>;
  /** `<transaction_id>|<item id>` → the draft order it is building (select/init before confirm). */
  readonly drafts: Map<string, string>;
  settlement: SettlementState;
  rejections: number;
}

export const INITIAL_COORDINATION_STATE: CoordinationState = Object.freeze({
  flex: null,
  offers: new Map(),
  orders: new Map(),
  drafts: new Map(),
  settlement: initialSettlementState,
  rejections: 0,
}) as CoordinationState;

function fresh(): CoordinationState {
  return { flex: null, offers: new Map(), orders: new Map(), drafts: new Map(), settlement: initialSettlementState, rejections: 0 };
}

export const draftKey = (transactionId: string, itemId: string): string => `${transactionId}|${itemId}`;

/** Orders that hold capacity: confirmed and not cancelled (fulfilled ones held theirs too). */
export const holdsCapacity = (o: OrderRecord): boolean => o.phase === 'confirmed' || o.phase === 'active' || o.phase === 'fulfilled';

/** kW of an offer not yet sold. */
export function availableKwOf(s: CoordinationState, offerId: string, except?: string): number {
  const offer = s.offers.get(offerId);
  if (!offer) return 0;
  let sold = 0;
  for (const o of s.orders.values()) if (o.offerId === offerId && holdsCapacity(o) && o.orderId !== except) sold += o.kw;
  return Math.max(0, offer.availableKw - sold);
}

export function isSold(s: CoordinationState, offerId: string): boolean {
  for (const o of s.orders.values()) if (o.offerId === offerId && holdsCapacity(o)) return true;
  return false;
}

const ms = (iso: string): number => Date.parse(iso);

/** Settlement folds only these; a meter read is the common case, so it is checked first. */
const SETTLEMENT_TYPES = new Set(['site.meter.read', 'flex.offer.published', 'flex.order.confirmed', 'flex.order.updated', 'flex.order.cancelled', 'flex.order.activated', 'flex.order.fulfilled']);

interface TermsData {
  orderId: string;
  offerId: string;
  transactionId: string;
  bapId: string;
  bapUri: string;
  windowStart: string;
  windowEnd: string;
  kw: number;
  priceGbpPerMwh: number;
  penaltyGbpPerMwh: number;
  baselineMethod: string;
  baselineKw: number;
  cancelGate: string;
}

export function evolveCoordination(state: CoordinationState, e: Envelope): CoordinationState {
  // The initial state is shared and frozen; the first event gets a private copy to mutate.
  const s = state === INITIAL_COORDINATION_STATE ? fresh() : state;
  if (SETTLEMENT_TYPES.has(e.type)) s.settlement = evolveSettlement(s.settlement, e);
  const d = e.data as Record<string, unknown>;
  const at = ms(e.time);
  switch (e.type) {
    case 'compute.flexibility.available':
      return { ...s, flex: { planId: d['planId'] as string, windows: d['windows'] as FlexWindowData[] } };
    case 'flex.offer.published': {
      const x = d as unknown as { offerId: string; planId: string; windowStart: string; windowEnd: string; availableKw: number; minKw: number; priceGbpPerMwh: number; penaltyGbpPerMwh: number; noticeMin: number; baselineMethod: string; baselineKw: number; validUntil: string };
      s.offers.set(x.offerId, {
        offerId: x.offerId,
        planId: x.planId,
        windowStartMs: ms(x.windowStart),
        windowEndMs: ms(x.windowEnd),
        availableKw: x.availableKw,
        minKw: x.minKw,
        priceGbpPerMwh: x.priceGbpPerMwh,
        penaltyGbpPerMwh: x.penaltyGbpPerMwh,
        noticeMin: x.noticeMin,
        baselineMethod: x.baselineMethod,
        baselineKw: x.baselineKw,
        validUntilMs: ms(x.validUntil),
        publishedMs: at,
      });
      // Offers long past cannot be bought again; keep a day for late questions.
      for (const [id, o] of s.offers) if (o.windowEndMs < at - DAY_MS && !isSold(s, id)) s.offers.delete(id);
      return s;
    }
    case 'flex.order.selected':
    case 'flex.order.initialized':
    case 'flex.order.confirmed': {
      const x = d as unknown as TermsData;
      const prev = s.orders.get(x.orderId);
      const phase = e.type === 'flex.order.selected' ? 'selected' : e.type === 'flex.order.initialized' ? 'initialized' : 'confirmed';
      s.orders.set(x.orderId, {
        orderId: x.orderId,
        offerId: x.offerId,
        transactionId: x.transactionId,
        bapId: x.bapId,
        bapUri: x.bapUri,
        kw: x.kw,
        priceGbpPerMwh: x.priceGbpPerMwh,
        penaltyGbpPerMwh: x.penaltyGbpPerMwh,
        baselineMethod: x.baselineMethod,
        baselineKw: x.baselineKw,
        windowStartMs: ms(x.windowStart),
        windowEndMs: ms(x.windowEnd),
        cancelGateMs: ms(x.cancelGate),
        phase,
        quotedAtMs: phase === 'confirmed' ? (prev?.quotedAtMs ?? at) : at,
        createdMs: prev?.createdMs ?? at,
        updatedMs: at,
        cancelledAtMs: null,
        rating: null,
        fulfilled: null,
      });
      if (phase === 'confirmed') s.drafts.delete(draftKey(x.transactionId, x.offerId));
      else s.drafts.set(draftKey(x.transactionId, x.offerId), x.orderId);
      return s;
    }
    case 'flex.order.activated':
      return patch(s, d['orderId'] as string, (o) => (o.phase === 'confirmed' ? { ...o, phase: 'active', updatedMs: at } : o));
    case 'flex.order.updated':
      return patch(s, d['orderId'] as string, (o) => ({ ...o, kw: d['kw'] as number, updatedMs: at }));
    case 'flex.order.cancelled':
      return patch(s, d['orderId'] as string, (o) => ({ ...o, phase: 'cancelled', cancelledAtMs: ms(d['at'] as string), updatedMs: at }));
    case 'flex.order.fulfilled': {
      const f = d as unknown as { deliveredMwh: number; contractedMwh: number; paymentGbp: number; penaltyGbp: number; netGbp: number };
      return patch(s, d['orderId'] as string, (o) => ({
        ...o,
        phase: 'fulfilled',
        updatedMs: at,
        fulfilled: { deliveredMwh: f.deliveredMwh, contractedMwh: f.contractedMwh, paymentGbp: f.paymentGbp, penaltyGbp: f.penaltyGbp, netGbp: f.netGbp },
      }));
    }
    case 'flex.order.rated':
      return patch(s, d['orderId'] as string, (o) => ({ ...o, rating: d['value'] as number }));
    case 'beckn.request.rejected':
      s.rejections++;
      return s;
    default:
      return s;
  }
}

function patch(s: CoordinationState, orderId: string, f: (o: OrderRecord) => OrderRecord): CoordinationState {
  const o = s.orders.get(orderId);
  if (o) s.orders.set(orderId, f(o));
  return s;
}
