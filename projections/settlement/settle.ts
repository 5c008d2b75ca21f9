import { HALF_HOUR_MS, halfHourFloor, periodsInDay, settlementPeriodOf, settlementPeriodStartUtc } from '../../core/time/index.ts';
import { halfHoursReadAfter, periodImportAt, type MeterStatus } from '../metering/index.ts';
import { meanKwBetween } from './kw-history.ts';
import { periodKey, type SettledOrder, type SettlementState } from './state.ts';

/**
 * Settlement arithmetic, per settlement period (half-hour, UK local naming):
 *   delivered kW  = baseline − metered, at least 0, at most the contracted kW
 *   payment £     = delivered MWh × price
 *   penalty £     = (contracted − delivered) MWh × penalty rate
 * A window that covers part of a half-hour contracts that part only (`activeFraction`), and a
 * change of kW inside a half-hour applies from its time: the half-hour's contracted energy is
 * the kW in force integrated over its active part (kw-history.ts, the same history the
 * flexibility projection sells from). Orders that share a half-hour share the reduction in
 * proportion to their contracted energy, so the same reduction is never paid twice.
 */

export type LineStatus = 'settled' | 'pending-meter' | 'meter-missing' | 'no-baseline';

/**
 * How long after a half-hour ends a read of it may still come, counted on the meters' own
 * progress (this long's worth of half-hours read after it: halfHoursReadAfter), never on a
 * wall clock, so the fold stays pure, nor on the latest time read, which one read dated far
 * ahead would move. A half-hour still without a complete read when the meters are this far past
 * it is `meter-missing`: nothing was shown delivered, so it settles as a shortfall. Before this
 * rule a half-hour the site was down for waited for its read for ever, and so did the order's
 * fulfilment (decide/meter-read.ts). A read that arrives later still settles it (the fold is
 * recomputed), as a late settlement run would.
 */
export const METER_MISSING_AFTER_MS = 24 * 60 * 60_000;

export interface SettlementLine {
  readonly orderId: string;
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  readonly startUtc: string;
  readonly endUtc: string;
  /** Share of the half-hour inside the order's window (and before a cancellation). */
  readonly activeFraction: number;
  /** Mean kW contracted over the active part of the half-hour (time-weighted across a change). */
  readonly contractedKw: number;
  readonly baselineKw: number | null;
  readonly meteredKw: number | null;
  /** Period-average reduction credited to this order: 0 ≤ deliveredKw ≤ contractedKw × activeFraction. */
  readonly deliveredKw: number;
  readonly contractedMwh: number;
  readonly deliveredMwh: number;
  readonly shortfallMwh: number;
  readonly priceGbpPerMwh: number;
  readonly paymentGbp: number;
  readonly penaltyGbpPerMwh: number;
  readonly penaltyGbp: number;
  readonly netGbp: number;
  readonly status: LineStatus;
}

export interface Totals {
  readonly contractedMwh: number;
  readonly deliveredMwh: number;
  readonly shortfallMwh: number;
  readonly paymentGbp: number;
  readonly penaltyGbp: number;
  readonly netGbp: number;
  readonly periodsSettled: number;
  readonly periodsPending: number;
  /** Half-hours settled as not delivered because no complete read came (METER_MISSING_AFTER_MS). */
  readonly periodsMeterMissing: number;
  readonly periodsNoBaseline: number;
}

export interface OrderStatement {
  readonly kind: 'order';
  readonly orderId: string;
  readonly itemId: string;
  readonly phase: SettledOrder['phase'];
  readonly windowStartUtc: string;
  readonly windowEndUtc: string;
  readonly priceGbpPerMwh: number;
  readonly penaltyGbpPerMwh: number;
  readonly baselineMethod: string;
  readonly problems: ReadonlyArray<string>;
  readonly lines: ReadonlyArray<SettlementLine>;
  readonly totals: Totals;
}

export type DayLineStatus = 'no-orders' | 'settled' | 'pending-meter' | 'meter-missing' | 'partly-settled';

export interface DayLine {
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  readonly startUtc: string;
  readonly endUtc: string;
  readonly siteImportKwh: number | null;
  readonly meteredKw: number | null;
  readonly meterStatus: MeterStatus;
  readonly orders: number;
  readonly contractedMwh: number;
  readonly deliveredMwh: number;
  readonly shortfallMwh: number;
  readonly paymentGbp: number;
  readonly penaltyGbp: number;
  readonly netGbp: number;
  readonly status: DayLineStatus;
}

export interface DayStatement {
  readonly kind: 'day';
  readonly settlementDate: string;
  /** 46, 48 or 50. */
  readonly periods: number;
  readonly lines: ReadonlyArray<DayLine>;
  readonly orders: ReadonlyArray<{ readonly orderId: string; readonly totals: Totals }>;
  readonly totals: Totals;
}

const r2 = (x: number): number => Math.round(x * 100) / 100 + 0;
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6 + 0;
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const HOURS_PER_PERIOD = 0.5;

/** The part of [p, p + 30 min) during which the order is contracted, as [start, end) (empty: end ≤ start). */
function activeSpan(o: SettledOrder, p: number): { startMs: number; endMs: number } {
  // Cancelled orders keep only the half-hours that had started before the cancellation.
  if (o.cancelledAtMs !== undefined && p >= o.cancelledAtMs) return { startMs: p, endMs: p };
  return { startMs: Math.max(o.windowStartMs, p), endMs: Math.min(o.windowEndMs, o.cancelledAtMs ?? Infinity, p + HALF_HOUR_MS) };
}

/** Share of [p, p + 30 min) during which the order is contracted. */
function activeFraction(o: SettledOrder, p: number): number {
  const { startMs, endMs } = activeSpan(o, p);
  return Math.max(0, endMs - startMs) / HALF_HOUR_MS;
}

/** Mean kW contracted over the active part of the half-hour starting at `p` (time-weighted across a change). */
function contractedMeanKw(o: SettledOrder, p: number): number {
  const { startMs, endMs } = activeSpan(o, p);
  return meanKwBetween(o.kwSegments, startMs, endMs);
}

const settleable = (o: SettledOrder): boolean => o.problems.length === 0;

/** Every order's line for the half-hour starting at `p`. */
export function periodLines(state: SettlementState, p: number): SettlementLine[] {
  const active = [...state.orders.values()].filter((o) => settleable(o) && activeFraction(o, p) > 0);
  if (active.length === 0) return [];
  const { settlementDate, settlementPeriod } = settlementPeriodOf(p);
  const meter = periodImportAt(state.metering, p);
  // Overlapping reads are a fault in the reads, kept pending for a correction rather than given up.
  const readGivenUp = (meter.status === 'missing' || meter.status === 'partial') && halfHoursReadAfter(state.metering, p, METER_MISSING_AFTER_MS / HALF_HOUR_MS);
  const key = periodKey(settlementDate, settlementPeriod);
  const rows = active.map((o) => {
    const f = activeFraction(o, p);
    const c = contractedMeanKw(o, p);
    const b = o.baselineKw.get(key);
    // ce: the half-hour's contracted energy as a period-average kW.
    return { o, f, c, ce: c * f, b: b === undefined ? null : b };
  });
  // Orders without a baseline cannot claim any of the reduction.
  const totalCe = rows.reduce((s, r) => s + (r.b === null ? 0 : r.ce), 0);
  return rows.map(({ o, f, c, ce, b }): SettlementLine => {
    const contractedMwh = r6((ce * HOURS_PER_PERIOD) / 1000);
    const common = {
      orderId: o.orderId,
      settlementDate,
      settlementPeriod,
      startUtc: iso(p),
      endUtc: iso(p + HALF_HOUR_MS),
      activeFraction: f,
      contractedKw: c,
      baselineKw: b,
      meteredKw: meter.meteredKw,
      contractedMwh,
      priceGbpPerMwh: o.priceGbpPerMwh,
      penaltyGbpPerMwh: o.penaltyGbpPerMwh,
    };
    const status: LineStatus = b === null ? 'no-baseline' : meter.meteredKw !== null ? 'settled' : readGivenUp ? 'meter-missing' : 'pending-meter';
    if (status === 'meter-missing') {
      const penaltyGbp = r2(contractedMwh * o.penaltyGbpPerMwh);
      return { ...common, deliveredKw: 0, deliveredMwh: 0, shortfallMwh: contractedMwh, paymentGbp: 0, penaltyGbp, netGbp: r2(-penaltyGbp), status };
    }
    if (status !== 'settled' || b === null || meter.meteredKw === null) {
      return { ...common, deliveredKw: 0, deliveredMwh: 0, shortfallMwh: 0, paymentGbp: 0, penaltyGbp: 0, netGbp: 0, status };
    }
    const reduction = Math.max(0, b - meter.meteredKw);
    const deliveredKw = totalCe > 0 ? ce * Math.min(1, reduction / totalCe) : 0;
    const deliveredMwh = Math.min(contractedMwh, r6((deliveredKw * HOURS_PER_PERIOD) / 1000));
    const shortfallMwh = r6(contractedMwh - deliveredMwh);
    const paymentGbp = r2(deliveredMwh * o.priceGbpPerMwh);
    const penaltyGbp = r2(shortfallMwh * o.penaltyGbpPerMwh);
    return { ...common, deliveredKw, deliveredMwh, shortfallMwh, paymentGbp, penaltyGbp, netGbp: r2(paymentGbp - penaltyGbp), status };
  });
}

export function totalsOf(lines: ReadonlyArray<Pick<SettlementLine, 'contractedMwh' | 'deliveredMwh' | 'shortfallMwh' | 'paymentGbp' | 'penaltyGbp' | 'status'>>): Totals {
  let contracted = 0, delivered = 0, shortfall = 0, payment = 0, penalty = 0, settled = 0, pending = 0, missing = 0, noBaseline = 0;
  for (const l of lines) {
    contracted += l.contractedMwh;
    delivered += l.deliveredMwh;
    shortfall += l.shortfallMwh;
    payment += l.paymentGbp;
    penalty += l.penaltyGbp;
    if (l.status === 'settled') settled++;
    else if (l.status === 'pending-meter') pending++;
    else if (l.status === 'meter-missing') missing++;
    else noBaseline++;
  }
  return {
    contractedMwh: r6(contracted),
    deliveredMwh: r6(delivered),
    shortfallMwh: r6(shortfall),
    paymentGbp: r2(payment),
    penaltyGbp: r2(penalty),
    netGbp: r2(payment - penalty),
    periodsSettled: settled,
    periodsPending: pending,
    periodsMeterMissing: missing,
    periodsNoBaseline: noBaseline,
  };
}

/** The half-hours an order's window touches. */
function orderPeriods(o: SettledOrder): number[] {
  const out: number[] = [];
  if (Number.isNaN(o.windowStartMs) || Number.isNaN(o.windowEndMs)) return out;
  for (let p = halfHourFloor(o.windowStartMs); p < o.windowEndMs; p += HALF_HOUR_MS) out.push(p);
  return out;
}

export function orderStatement(state: SettlementState, orderId: string): OrderStatement | undefined {
  const o = state.orders.get(orderId);
  if (!o) return undefined;
  const lines = settleable(o) ? orderPeriods(o).flatMap((p) => periodLines(state, p).filter((l) => l.orderId === orderId)) : [];
  return {
    kind: 'order',
    orderId,
    itemId: o.itemId,
    phase: o.phase,
    windowStartUtc: Number.isNaN(o.windowStartMs) ? '' : iso(o.windowStartMs),
    windowEndUtc: Number.isNaN(o.windowEndMs) ? '' : iso(o.windowEndMs),
    priceGbpPerMwh: o.priceGbpPerMwh,
    penaltyGbpPerMwh: o.penaltyGbpPerMwh,
    baselineMethod: o.baselineMethod,
    problems: o.problems,
    lines,
    totals: totalsOf(lines),
  };
}

/** Every settlement period of a UK day, with the orders settled in each. */
export function dayStatement(state: SettlementState, settlementDate: string): DayStatement {
  const n = periodsInDay(settlementDate);
  const perOrder = new Map<string, SettlementLine[]>();
  const lines: DayLine[] = [];
  for (let sp = 1; sp <= n; sp++) {
    const p = settlementPeriodStartUtc(settlementDate, sp);
    const meter = periodImportAt(state.metering, p);
    const ls = periodLines(state, p);
    for (const l of ls) perOrder.set(l.orderId, [...(perOrder.get(l.orderId) ?? []), l]);
    const t = totalsOf(ls);
    const status: DayLineStatus =
      ls.length === 0 ? 'no-orders' : t.periodsSettled === ls.length ? 'settled' : t.periodsMeterMissing === ls.length ? 'meter-missing' : t.periodsSettled === 0 ? 'pending-meter' : 'partly-settled';
    lines.push({
      settlementDate,
      settlementPeriod: sp,
      startUtc: iso(p),
      endUtc: iso(p + HALF_HOUR_MS),
      siteImportKwh: meter.status === 'missing' ? null : r6(meter.importKwh),
      meteredKw: meter.meteredKw === null ? null : Math.round(meter.meteredKw * 1000) / 1000,
      meterStatus: meter.status,
      orders: ls.length,
      contractedMwh: t.contractedMwh,
      deliveredMwh: t.deliveredMwh,
      shortfallMwh: t.shortfallMwh,
      paymentGbp: t.paymentGbp,
      penaltyGbp: t.penaltyGbp,
      netGbp: t.netGbp,
      status,
    });
  }
  const orders = [...perOrder].map(([orderId, ls]) => ({ orderId, totals: totalsOf(ls) }));
  const all = [...perOrder.values()].flat();
  return { kind: 'day', settlementDate, periods: n, lines, orders, totals: totalsOf(all) };
}
