import type { Envelope } from '../../core/envelope.ts';
import { DAY_MS, londonDate } from '../../core/time/index.ts';

/** What the grid operator knows, folded from its own `market.*` events. */

export interface SelectedItem {
  readonly itemId: string;
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
  readonly kind: string;
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
  readonly purchases: Map<string, Purchase>;
  readonly byTransaction: Map<string, string>;
  readonly orders: Map<string, BoughtOrder>;
}

export const INITIAL_GRID_OPERATOR_STATE: GridOperatorState = Object.freeze({ purchases: new Map(), byTransaction: new Map(), orders: new Map() }) as GridOperatorState;

const fresh = (): GridOperatorState => ({ purchases: new Map(), byTransaction: new Map(), orders: new Map() });
const ms = (iso: string): number => Date.parse(iso);

export function evolveGridOperator(state: GridOperatorState, e: Envelope): GridOperatorState {
  const s = state === INITIAL_GRID_OPERATOR_STATE ? fresh() : state;
  const d = e.data as Record<string, unknown>;
  const purchase = (id: unknown) => s.purchases.get(id as string);
  switch (e.type) {
    case 'market.purchase.searched': {
      const x = d as unknown as { purchaseId: string; stressId: string; kind: string; windowStart: string; windowEnd: string; peak: number; wantKw: number; transactionId: string; bppUri: string };
      const again = purchase(x.purchaseId);
      if (again) {
        s.purchases.set(again.purchaseId, { ...again, answered: false, searches: again.searches + 1, lastSearchMs: ms(e.time) });
        return s;
      }
      s.purchases.set(x.purchaseId, {
        purchaseId: x.purchaseId,
        stressId: x.stressId,
        kind: x.kind,
        windowStartMs: ms(x.windowStart),
        windowEndMs: ms(x.windowEnd),
        peak: x.peak,
        wantKw: x.wantKw,
        transactionId: x.transactionId,
        bppUri: x.bppUri,
        bppId: null,
        answered: false,
        searches: 1,
        lastSearchMs: ms(e.time),
        closed: false,
        items: new Map(),
      });
      s.byTransaction.set(x.transactionId, x.purchaseId);
      return s;
    }
    case 'market.purchase.selected': {
      const p = purchase(d['purchaseId']);
      if (!p) return s;
      const items = new Map(p.items);
      for (const i of d['items'] as Array<{ itemId: string; kw: number; priceGbpPerMwh: number; windowStart: string; windowEnd: string; estimatedGbp: number; minKw: number; cancelGate: string }>) {
        items.set(i.itemId, {
          itemId: i.itemId,
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
      s.purchases.set(p.purchaseId, { ...p, answered: true, bppId: d['bppId'] as string, bppUri: d['bppUri'] as string, items });
      return s;
    }
    case 'market.purchase.declined': {
      const p = purchase(d['purchaseId']);
      if (!p) return s;
      const itemId = d['itemId'] as string | null;
      const items = new Map(p.items);
      if (itemId !== null) {
        const it = items.get(itemId);
        if (it) items.set(itemId, { ...it, status: 'declined' });
      }
      s.purchases.set(p.purchaseId, { ...p, answered: p.answered || itemId === null, closed: p.closed || itemId === null, items });
      return s;
    }
    case 'market.purchase.ordered': {
      const x = d as unknown as { purchaseId: string; orderId: string; itemId: string; kw: number; priceGbpPerMwh: number; windowStart: string; windowEnd: string; committedGbp: number; cancelGate: string };
      const p = purchase(x.purchaseId);
      const it = p?.items.get(x.itemId);
      if (p && it) {
        const items = new Map(p.items);
        items.set(x.itemId, { ...it, status: 'ordered' });
        s.purchases.set(p.purchaseId, { ...p, items });
      }
      s.orders.set(x.orderId, {
        orderId: x.orderId,
        purchaseId: x.purchaseId,
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
      return s;
    }
    case 'market.purchase.changed': {
      const o = s.orders.get(d['orderId'] as string);
      if (!o) return s;
      const cancelled = d['change'] === 'cancelled';
      const kw = cancelled ? o.kw : (d['kw'] as number);
      // What is committed shrinks with the kW; a cancelled order commits nothing.
      s.orders.set(o.orderId, { ...o, kw, phase: cancelled ? 'cancelled' : 'updated', committedGbp: cancelled ? 0 : (o.committedGbp * kw) / o.kw });
      return s;
    }
    case 'market.delivery.reported': {
      const o = s.orders.get(d['orderId'] as string);
      if (!o || d['state'] !== 'COMPLETED') return s;
      s.orders.set(o.orderId, { ...o, phase: 'completed', settledGbp: (d['settledGbp'] as number | null) ?? o.settledGbp });
      return s;
    }
    case 'market.delivery.rated': {
      const o = s.orders.get(d['orderId'] as string);
      if (o) s.orders.set(o.orderId, { ...o, rated: true });
      return s;
    }
    default:
      return s;
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
