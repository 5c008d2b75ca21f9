import { createHash } from 'node:crypto';
import type { Envelope } from '../../core/envelope/index.ts';
import { evolveSettlement, initialSettlementState, type SettlementState } from '../../projections/settlement/index.ts';
import { DAY_MS } from '../../core/time/index.ts';
import { DEFAULT_QUOTE_TTL, parseIsoDuration } from '../../beckn/index.ts';
import type { DataOf } from '../../schemas/index.ts';
import type { FlexibilityAvailable } from '../../schemas/index.ts';
import type { OfferPublished, OrderSelected } from '../../schemas/index.ts';
import { isCoordinationInput, type CoordinationIn } from './messages.ts';

/**
 * What the coordination agent knows, built only by `evolve` from its own events (offers,
 * orders, rejections) and the facts it observes (the compute agent's flexibility, meter reads).
 * The HTTP server reads it, never writes it.
 *
 * Immutable: `evolve` returns a new state and never changes the one it was given, so the
 * intake may hold a state while the agent moves on, and one empty state serves every rebuild.
 */

export type FlexWindow = DataOf<typeof FlexibilityAvailable>['windows'][number];
export type OfferTerms = DataOf<typeof OfferPublished>;
/** The terms every order event carries (selected, initialized and confirmed share them). */
export type OrderTerms = DataOf<typeof OrderSelected>;

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

/** What is kept of a draft dropped because its quote lapsed (see `CoordinationState.lapsed`). */
export interface LapsedQuote {
  /** When the lapsed quote was given: a confirm of it is told how long ago it expired. */
  readonly quotedAtMs: number;
  /** The end of its window: past it nothing can be bought under the item, and it is forgotten. */
  readonly windowEndMs: number;
}

export interface CoordinationState {
  /** The compute agent's latest flexibility (all windows of its latest plan). */
  readonly flex: { readonly planId: string; readonly windows: ReadonlyArray<FlexWindow> } | null;
  readonly offers: ReadonlyMap<string, PublishedOffer>;
  /**
   * Every order but the drafts dropped once they could no longer be confirmed. Orders whose
   * window is over stay, fulfilled and cancelled alike: their buyer may still ask their status
   * or rate them (the grid operator rates an order once told its delivery is COMPLETED), and
   * dropping them would turn those answers into "no such order"; so does a sold offer, whose
   * terms an order's on_status shows.
   */
  readonly orders: ReadonlyMap<string, OrderRecord>;
  /**
   * Each offer's order ids (drafts included), in the order `orders` has them: what an offer has
   * sold is counted from its own orders, not by a scan of every order ever made.
   */
  readonly ordersByOffer: ReadonlyMap<string, ReadonlyArray<string>>;
  /**
   * `draftKey(bap_id, transaction_id, item id)` → the order it is building (select/init before
   * confirm) or has confirmed. The BAP is part of the key: a transaction id is chosen by its
   * BAP, and another BAP sending the same one must not continue this one's order. Kept after
   * the confirm, so that a second confirm of the same transaction and item is refused rather
   * than sold again, until the order's window is over: by then the item's notice gate has
   * long passed and no select, init or confirm of it is taken, whatever is kept.
   */
  readonly drafts: ReadonlyMap<string, string>;
  /**
   * Drafts dropped from `drafts` because their quote lapsed, by `lapsedKey(draftKey(…))` (a
   * digest: a transaction id may be long), each kept until its window is over. A confirm of
   * one is then refused as it was while the draft was kept ("the quote expired; select again"),
   * rather than taken as a confirm with no draft that buys at the offer's current terms: the
   * answer does not depend on whether the draft has been dropped yet. After its window no
   * select, init or confirm of the item is taken, whatever is kept. Bounded: a BAP holds at
   * most `maxDraftsPerBap` live drafts, so it starts at most that many per quote ttl (15 min),
   * and an offer's window ends at most the horizon plus its length after it is on sale.
   */
  readonly lapsed: ReadonlyMap<string, LapsedQuote>;
  readonly settlement: SettlementState;
  readonly rejections: number;
}

export function initialCoordinationState(): CoordinationState {
  return { flex: null, offers: new Map(), orders: new Map(), ordersByOffer: new Map(), drafts: new Map(), lapsed: new Map(), settlement: initialSettlementState, rejections: 0 };
}

/** The state before any event; never changed, since `evolve` never changes a state. */
export const INITIAL_COORDINATION_STATE: CoordinationState = Object.freeze(initialCoordinationState());

/** Whether a state read back from the runtime (typed `unknown` there) is this agent's. */
export function isCoordinationState(x: unknown): x is CoordinationState {
  return typeof x === 'object' && x !== null && 'offers' in x && x.offers instanceof Map && 'orders' in x && x.orders instanceof Map && 'ordersByOffer' in x && x.ordersByOffer instanceof Map && 'drafts' in x && x.drafts instanceof Map && 'lapsed' in x && x.lapsed instanceof Map && 'settlement' in x;
}

/** JSON, so that no id, whatever it holds, can make two keys alike. */
export const draftKey = (bapId: string, transactionId: string, itemId: string): string => JSON.stringify([bapId, transactionId, itemId]);

/** The key of a lapsed draft in `CoordinationState.lapsed`: a digest of its `draftKey`, whatever its length. */
export const lapsedKey = (key: string): string => createHash('sha256').update(key).digest('base64url');

/** How long a quote (on_select, on_init) can be confirmed: every quote this BPP gives has this ttl. */
export const QUOTE_TTL_MS: number = parseIsoDuration(DEFAULT_QUOTE_TTL) ?? 15 * 60_000;

export const isDraft = (o: OrderRecord): boolean => o.phase === 'selected' || o.phase === 'initialized';

/** A draft that can still be confirmed as it stands at `atMs`: its quote is valid and its window not over. */
export const isLiveDraft = (o: OrderRecord, atMs: number): boolean => isDraft(o) && o.quotedAtMs + QUOTE_TTL_MS >= atMs && o.windowEndMs > atMs;

/** This BAP's drafts that can still be confirmed at `atMs` (what `maxDraftsPerBap` counts). */
export function liveDraftsOf(s: CoordinationState, bapId: string, atMs: number): number {
  let n = 0;
  for (const id of s.drafts.values()) {
    const o = s.orders.get(id);
    if (o && o.bapId === bapId && isLiveDraft(o, atMs)) n++;
  }
  return n;
}

/**
 * What a BAP's transaction holds of an item at `atMs`: nothing; a draft that can be continued
 * or confirmed; a draft whose quote has lapsed (a confirm is refused, a select or init starts
 * a new draft), whether it is still in `drafts` or already dropped to `lapsed`; or an order
 * (confirmed, and maybe since cancelled or fulfilled). Only the BAP's own order is seen,
 * whatever the key says.
 */
export type Held =
  | { readonly kind: 'none' }
  | { readonly kind: 'draft'; readonly order: OrderRecord }
  | { readonly kind: 'lapsed'; readonly quotedAtMs: number }
  | { readonly kind: 'order'; readonly order: OrderRecord };

export function heldBy(s: CoordinationState, bapId: string, transactionId: string, itemId: string, atMs: number): Held {
  const key = draftKey(bapId, transactionId, itemId);
  const id = s.drafts.get(key);
  const o = id !== undefined ? s.orders.get(id) : undefined;
  if (o && o.bapId === bapId) {
    if (!isDraft(o)) return { kind: 'order', order: o };
    return isLiveDraft(o, atMs) ? { kind: 'draft', order: o } : { kind: 'lapsed', quotedAtMs: o.quotedAtMs };
  }
  const l = s.lapsed.size > 0 ? s.lapsed.get(lapsedKey(key)) : undefined;
  return l ? { kind: 'lapsed', quotedAtMs: l.quotedAtMs } : { kind: 'none' };
}

/**
 * Drops, at `atMs`, the drafts that can no longer be confirmed (quote expired or window over:
 * a select starts afresh) and the keys of orders whose window is over (the item's notice gate
 * has passed: nothing can be bought under it again, so no answer needs the key). A dropped
 * draft's order record goes too: it never held capacity. A draft dropped because its quote
 * lapsed is kept in `lapsed` until its window is over, and then forgotten.
 */
function pruneDrafts(s: CoordinationState, atMs: number): CoordinationState {
  let drafts: Map<string, string> | undefined;
  let orders: Map<string, OrderRecord> | undefined;
  let byOffer: Map<string, ReadonlyArray<string>> | undefined;
  let lapsed: Map<string, LapsedQuote> | undefined;
  for (const [key, id] of s.drafts) {
    const o = s.orders.get(id);
    const drop = !o || (isDraft(o) ? !isLiveDraft(o, atMs) : o.windowEndMs <= atMs);
    if (!drop) continue;
    drafts ??= new Map(s.drafts);
    drafts.delete(key);
    if (o && isDraft(o)) {
      (orders ??= new Map(s.orders)).delete(id);
      unindex((byOffer ??= new Map(s.ordersByOffer)), o);
      if (o.windowEndMs > atMs) (lapsed ??= new Map(s.lapsed)).set(lapsedKey(key), { quotedAtMs: o.quotedAtMs, windowEndMs: o.windowEndMs });
    }
  }
  for (const [k, l] of s.lapsed) if (l.windowEndMs <= atMs) (lapsed ??= new Map(s.lapsed)).delete(k);
  if (!drafts && !lapsed) return s;
  return { ...s, drafts: drafts ?? s.drafts, orders: orders ?? s.orders, ordersByOffer: byOffer ?? s.ordersByOffer, lapsed: lapsed ?? s.lapsed };
}

/** Takes an order out of `ordersByOffer` (a copy the caller owns). */
function unindex(byOffer: Map<string, ReadonlyArray<string>>, o: OrderRecord): void {
  const ids = byOffer.get(o.offerId);
  if (!ids) return;
  const rest = ids.filter((id) => id !== o.orderId);
  if (rest.length > 0) byOffer.set(o.offerId, rest);
  else byOffer.delete(o.offerId);
}

/** The orders of an offer, in the order `orders` has them. */
function* ordersOf(s: CoordinationState, offerId: string): Generator<OrderRecord> {
  for (const id of s.ordersByOffer.get(offerId) ?? []) {
    const o = s.orders.get(id);
    if (o) yield o;
  }
}

/** Orders that hold capacity: confirmed and not cancelled (fulfilled ones held theirs too). */
export const holdsCapacity = (o: OrderRecord): boolean => o.phase === 'confirmed' || o.phase === 'active' || o.phase === 'fulfilled';

/** kW of an offer held by its orders (confirmed and not cancelled), but `except`'s. */
export function soldKwOf(s: CoordinationState, offerId: string, except?: string): number {
  let sold = 0;
  for (const o of ordersOf(s, offerId)) if (holdsCapacity(o) && o.orderId !== except) sold += o.kw;
  return sold;
}

/** kW of an offer not yet sold. */
export function availableKwOf(s: CoordinationState, offerId: string, except?: string): number {
  const offer = s.offers.get(offerId);
  if (!offer) return 0;
  return Math.max(0, offer.availableKw - soldKwOf(s, offerId, except));
}

export function isSold(s: CoordinationState, offerId: string): boolean {
  for (const o of ordersOf(s, offerId)) if (holdsCapacity(o)) return true;
  return false;
}

const ms = (iso: string): number => Date.parse(iso);

/** An order as its terms describe it, in `phase` at `atMs` (after `prev`, the same order before). */
export function orderRecordOf(t: OrderTerms, phase: 'selected' | 'initialized' | 'confirmed', atMs: number, prev: OrderRecord | undefined): OrderRecord {
  return {
    orderId: t.orderId,
    offerId: t.offerId,
    transactionId: t.transactionId,
    bapId: t.bapId,
    bapUri: t.bapUri,
    kw: t.kw,
    priceGbpPerMwh: t.priceGbpPerMwh,
    penaltyGbpPerMwh: t.penaltyGbpPerMwh,
    baselineMethod: t.baselineMethod,
    baselineKw: t.baselineKw,
    windowStartMs: ms(t.windowStart),
    windowEndMs: ms(t.windowEnd),
    cancelGateMs: ms(t.cancelGate),
    phase,
    // A confirm keeps the time of the quote it accepted.
    quotedAtMs: phase === 'confirmed' ? (prev?.quotedAtMs ?? atMs) : atMs,
    createdMs: prev?.createdMs ?? atMs,
    updatedMs: atMs,
    cancelledAtMs: null,
    rating: null,
    fulfilled: null,
  };
}

function publishedOffer(x: OfferTerms, atMs: number): PublishedOffer {
  return {
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
    publishedMs: atMs,
  };
}

/** Settlement folds these; the rest of the agent's inputs do not concern it. */
function settles(e: Envelope<CoordinationIn>): boolean {
  switch (e.type) {
    case 'site.meter.read':
    case 'flex.offer.published':
    case 'flex.order.confirmed':
    case 'flex.order.updated':
    case 'flex.order.cancelled':
    case 'flex.order.activated':
    case 'flex.order.fulfilled':
      return true;
    default:
      return false;
  }
}

/** Takes any event, so a reader with a plain `Envelope` can fold; what is not an input changes nothing. */
export function evolveCoordination(state: CoordinationState, event: Envelope): CoordinationState {
  if (!isCoordinationInput(event)) return state;
  const e = event;
  const s = settles(e) ? { ...state, settlement: evolveSettlement(state.settlement, e) } : state;
  const at = ms(e.time);
  switch (e.type) {
    case 'compute.flexibility.available':
      return { ...s, flex: { planId: e.data.planId, windows: e.data.windows } };
    case 'flex.offer.published': {
      const offers = new Map(s.offers).set(e.data.offerId, publishedOffer(e.data, at));
      // Offers long past cannot be bought again; keep a day for late questions.
      for (const [id, o] of offers) if (o.windowEndMs < at - DAY_MS && !isSold(s, id)) offers.delete(id);
      return pruneDrafts({ ...s, offers }, at);
    }
    case 'flex.order.selected':
    case 'flex.order.initialized':
    case 'flex.order.confirmed': {
      const x = e.data;
      const phase = e.type === 'flex.order.selected' ? 'selected' : e.type === 'flex.order.initialized' ? 'initialized' : 'confirmed';
      // A new draft first clears the lapsed ones, so drafts that are never confirmed do not pile up.
      const base = phase !== 'confirmed' && !s.orders.has(x.orderId) ? pruneDrafts(s, at) : s;
      const key = draftKey(x.bapId, x.transactionId, x.offerId);
      const orders = new Map(base.orders);
      // A select or init after the quote lapsed starts a new draft: the lapsed one, if still
      // kept, goes (it never held capacity), and so does its place in `lapsed`.
      const byOffer = new Map(base.ordersByOffer);
      const prevId = base.drafts.get(key);
      const prev = prevId !== undefined && prevId !== x.orderId ? orders.get(prevId) : undefined;
      if (prev && isDraft(prev)) {
        orders.delete(prev.orderId);
        unindex(byOffer, prev);
      }
      const before = orders.get(x.orderId);
      const record = orderRecordOf(x, phase, at, before);
      orders.set(x.orderId, record);
      if (before?.offerId !== record.offerId) {
        if (before) unindex(byOffer, before);
        byOffer.set(record.offerId, [...(byOffer.get(record.offerId) ?? []), record.orderId]);
      }
      const drafts = new Map(base.drafts).set(key, x.orderId);
      return { ...base, orders, ordersByOffer: byOffer, drafts, lapsed: without(base.lapsed, key) };
    }
    case 'flex.order.activated':
      return patch(s, e.data.orderId, (o) => (o.phase === 'confirmed' ? { ...o, phase: 'active', updatedMs: at } : o));
    case 'flex.order.updated': {
      const kw = e.data.kw;
      return patch(s, e.data.orderId, (o) => ({ ...o, kw, updatedMs: at }));
    }
    case 'flex.order.cancelled': {
      const cancelledAtMs = ms(e.data.at);
      return patch(s, e.data.orderId, (o) => ({ ...o, phase: 'cancelled', cancelledAtMs, updatedMs: at }));
    }
    case 'flex.order.fulfilled': {
      const f = e.data;
      return patch(s, f.orderId, (o) => ({
        ...o,
        phase: 'fulfilled',
        updatedMs: at,
        fulfilled: { deliveredMwh: f.deliveredMwh, contractedMwh: f.contractedMwh, paymentGbp: f.paymentGbp, penaltyGbp: f.penaltyGbp, netGbp: f.netGbp },
      }));
    }
    case 'flex.order.rated': {
      const rating = e.data.value;
      return patch(s, e.data.orderId, (o) => ({ ...o, rating }));
    }
    case 'beckn.request.rejected':
      return { ...s, rejections: s.rejections + 1 };
    case 'site.meter.read':
      // Every half-hour: lapsed drafts go even when no offer or select comes for days.
      return pruneDrafts(s, at);
    case 'beckn.callback.scheduled':
      return s;
    default: {
      const _never: never = e;
      return s;
    }
  }
}

/** `lapsed` without the key's entry (the same map when it has none). */
function without(lapsed: ReadonlyMap<string, LapsedQuote>, key: string): ReadonlyMap<string, LapsedQuote> {
  if (lapsed.size === 0) return lapsed;
  const k = lapsedKey(key);
  if (!lapsed.has(k)) return lapsed;
  const out = new Map(lapsed);
  out.delete(k);
  return out;
}

function patch(s: CoordinationState, orderId: string, f: (o: OrderRecord) => OrderRecord): CoordinationState {
  const o = s.orders.get(orderId);
  return o ? { ...s, orders: new Map(s.orders).set(orderId, f(o)) } : s;
}
