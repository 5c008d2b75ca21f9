import type { Envelope } from '../../core/envelope/index.ts';
import { DAY_MS, londonDate } from '../../core/time/index.ts';
import { isGridOperatorOwn } from './messages.ts';
import type { StressKind } from '../../schemas/index.ts';

/**
 * What the grid operator knows, folded from its own `market.*` events. Immutable: `evolve`
 * returns a new state and never changes the one it was given.
 */

/** A BPP as the grid operator addresses it: its (verified) subscriber id and its callback-checked URI. */
export interface BppRef {
  readonly id: string;
  readonly uri: string;
}

export interface SelectedItem {
  readonly itemId: string;
  /**
   * The BPP whose catalogue it was selected from: only that BPP may quote, confirm and report on
   * it (a search again in the same transaction may select from another BPP).
   */
  readonly bpp: BppRef;
  readonly kw: number;
  readonly priceGbpPerMwh: number;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly estimatedGbp: number;
  readonly minKw: number;
  readonly cancelGateMs: number;
  /** `pending` until the order is confirmed or refused. */
  readonly status: 'pending' | 'ordered' | 'declined';
}

export interface Purchase {
  readonly purchaseId: string;
  readonly stressId: string;
  readonly kind: StressKind;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly peak: number;
  readonly wantKw: number;
  readonly transactionId: string;
  readonly bppUri: string;
  readonly bppId: string | null;
  /** Whether the catalogue of the latest search was acted on already (only the first answer is). */
  readonly answered: boolean;
  readonly searches: number;
  readonly lastSearchMs: number;
  /** Given up on: nothing more is bought for it. */
  readonly closed: boolean;
  readonly items: ReadonlyMap<string, SelectedItem>;
}

export interface BoughtOrder {
  readonly orderId: string;
  readonly purchaseId: string;
  /** The BPP the order is with (its item's): only it may report on, change or cancel the order, and its requests go there. */
  readonly bpp: BppRef | null;
  readonly itemId: string;
  readonly kw: number;
  readonly priceGbpPerMwh: number;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly committedGbp: number;
  readonly cancelGateMs: number;
  /** The offer's smallest order, kW (an update may not go below it). */
  readonly minKw: number;
  readonly phase: 'ordered' | 'updated' | 'cancelled' | 'completed';
  readonly rated: boolean;
  readonly settledGbp: number | null;
}

export interface GridOperatorState {
  readonly purchases: ReadonlyMap<string, Purchase>;
  readonly byTransaction: ReadonlyMap<string, string>;
  readonly orders: ReadonlyMap<string, BoughtOrder>;
}

export function initialGridOperatorState(): GridOperatorState {
  return { purchases: new Map(), byTransaction: new Map(), orders: new Map() };
}

/** The state before any event; never changed, since `evolve` never changes a state. */
export const INITIAL_GRID_OPERATOR_STATE: GridOperatorState = Object.freeze(initialGridOperatorState());

const ms = (iso: string): number => Date.parse(iso);

const withPurchase = (s: GridOperatorState, p: Purchase): GridOperatorState => ({ ...s, purchases: new Map(s.purchases).set(p.purchaseId, p) });
const withOrder = (s: GridOperatorState, o: BoughtOrder): GridOperatorState => ({ ...s, orders: new Map(s.orders).set(o.orderId, o) });

/** Takes any event, so a reader with a plain `Envelope` can fold; what is not its own changes nothing. */
export function evolveGridOperator(s: GridOperatorState, event: Envelope): GridOperatorState {
  if (!isGridOperatorOwn(event)) return s;
  const e = event;
  switch (e.type) {
    case 'market.purchase.searched': {
      const x = e.data;
      const again = s.purchases.get(x.purchaseId);
      if (again) return withPurchase(s, { ...again, answered: false, searches: again.searches + 1, lastSearchMs: ms(e.time) });
      const p: Purchase = {
        purchaseId: x.purchaseId,
        stressId: x.stressId,
        kind: x.kind,
        windowStartMs: ms(x.windowStart),
        windowEndMs: ms(x.windowEnd),
        peak: (x.kind === 'carbon-peak' ? x.peakCarbonGPerKwh : x.peakPriceGbpPerMwh)!,
        wantKw: x.wantKw,
        transactionId: x.transactionId,
        bppUri: x.bppUri,
        bppId: null,
        answered: false,
        searches: 1,
        lastSearchMs: ms(e.time),
        closed: false,
        items: new Map(),
      };
      return { ...withPurchase(s, p), byTransaction: new Map(s.byTransaction).set(x.transactionId, x.purchaseId) };
    }
    case 'market.purchase.selected': {
      const p = s.purchases.get(e.data.purchaseId);
      if (!p) return s;
      const items = new Map(p.items);
      for (const i of e.data.items) {
        items.set(i.itemId, {
          itemId: i.itemId,
          bpp: { id: e.data.bppId, uri: e.data.bppUri },
          kw: i.kw,
          priceGbpPerMwh: i.priceGbpPerMwh,
          windowStartMs: ms(i.windowStart),
          windowEndMs: ms(i.windowEnd),
          estimatedGbp: i.estimatedGbp,
          minKw: i.minKw,
          cancelGateMs: ms(i.cancelGate),
          status: 'pending',
        });
      }
      return withPurchase(s, { ...p, answered: true, bppId: e.data.bppId, bppUri: e.data.bppUri, items });
    }
    case 'market.purchase.declined': {
      const p = s.purchases.get(e.data.purchaseId);
      if (!p) return s;
      const itemId = e.data.itemId;
      const items = new Map(p.items);
      if (itemId !== null) {
        const it = items.get(itemId);
        if (it) items.set(itemId, { ...it, status: 'declined' });
      }
      return withPurchase(s, { ...p, answered: p.answered || itemId === null, closed: p.closed || itemId === null, items });
    }
    case 'market.purchase.ordered': {
      const x = e.data;
      const p = s.purchases.get(x.purchaseId);
      const it = p?.items.get(x.itemId);
      const s1 = p && it ? withPurchase(s, { ...p, items: new Map(p.items).set(x.itemId, { ...it, status: 'ordered' }) }) : s;
      return withOrder(s1, {
        orderId: x.orderId,
        purchaseId: x.purchaseId,
        bpp: it?.bpp ?? null,
        itemId: x.itemId,
        kw: x.kw,
        priceGbpPerMwh: x.priceGbpPerMwh,
        windowStartMs: ms(x.windowStart),
        windowEndMs: ms(x.windowEnd),
        committedGbp: x.committedGbp,
        cancelGateMs: ms(x.cancelGate),
        minKw: it?.minKw ?? 0,
        phase: 'ordered',
        rated: false,
        settledGbp: null,
      });
    }
    case 'market.purchase.changed': {
      const o = s.orders.get(e.data.orderId);
      if (!o) return s;
      const cancelled = e.data.change === 'cancelled';
      const kw = cancelled ? o.kw : e.data.kw;
      // What is committed shrinks with the kW; a cancelled order commits nothing.
      return withOrder(s, { ...o, kw, phase: cancelled ? 'cancelled' : 'updated', committedGbp: cancelled ? 0 : (o.committedGbp * kw) / o.kw });
    }
    case 'market.delivery.reported': {
      const o = s.orders.get(e.data.orderId);
      if (!o || e.data.state !== 'COMPLETED') return s;
      return withOrder(s, { ...o, phase: 'completed', settledGbp: e.data.settledGbp ?? o.settledGbp });
    }
    case 'market.delivery.rated': {
      const o = s.orders.get(e.data.orderId);
      return o ? withOrder(s, { ...o, rated: true }) : s;
    }
    case 'market.purchase.quoted':
    case 'beckn.request.scheduled':
      return s;
    default: {
      const _never: never = e;
      return s;
    }
  }
}

/**
 * £ committed to windows on the UK settlement day of `dayOfMs` and over the 7 days ending with
 * it: orders (at their quoted value, less what was cancelled) and selections still pending.
 */
export function committedGbp(s: GridOperatorState, dayOfMs: number): { day: number; week: number } {
  const day = londonDate(dayOfMs);
  const weekFrom = londonDate(dayOfMs - 6 * DAY_MS);
  let d = 0;
  let w = 0;
  const add = (startMs: number, gbp: number) => {
    const x = londonDate(startMs);
    if (x === day) d += gbp;
    if (x >= weekFrom && x <= day) w += gbp;
  };
  for (const o of s.orders.values()) add(o.windowStartMs, o.committedGbp);
  for (const p of s.purchases.values()) for (const i of p.items.values()) if (i.status === 'pending') add(i.windowStartMs, i.estimatedGbp);
  return { day: d, week: w };
}

/** kW already bought or being bought for each half-hour of a purchase's window. */
export function coverage(s: GridOperatorState, p: Purchase): Array<{ startMs: number; endMs: number; kw: number }> {
  const out: Array<{ startMs: number; endMs: number; kw: number }> = [];
  for (const i of p.items.values()) if (i.status === 'pending') out.push({ startMs: i.windowStartMs, endMs: i.windowEndMs, kw: i.kw });
  for (const o of s.orders.values()) if (o.purchaseId === p.purchaseId && o.phase !== 'cancelled') out.push({ startMs: o.windowStartMs, endMs: o.windowEndMs, kw: o.kw });
  return out;
}
