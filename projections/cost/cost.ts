import { BucketMap, type FoldEvent } from '../schedule/index.ts';

/**
 * Energy cost: per metered half-hour, the site's import at the realised price, and the
 * battery that moves import between half-hours. Folded from `site.meter.read`; a second read
 * of the same half-hour replaces the first. Export (negative import) earns at the same price.
 */

export interface CostPeriod {
  readonly periodStart: string;
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  readonly importKwh: number;
  readonly priceGbpPerMwh: number;
  readonly costGbp: number;
  readonly batteryChargeKwh: number;
  readonly batteryDischargeKwh: number;
  /** State of charge at the end of the half-hour. */
  readonly batterySocKwh: number;
}

export interface CostState {
  readonly periods: BucketMap<CostPeriod>;
  readonly refused: number;
}

export const initialCost: CostState = { periods: BucketMap.empty(), refused: 0 };

const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : NaN);

export function evolveCost(s: CostState, e: FoldEvent): CostState {
  if (e.type !== 'site.meter.read') return s;
  const d = (e.data ?? {}) as Record<string, unknown>;
  const importKwh = num(d['importKwh']);
  const price = num(d['priceGbpPerMwh']);
  const periodStart = d['periodStart'];
  if (typeof periodStart !== 'string' || Number.isNaN(Date.parse(periodStart)) || Number.isNaN(importKwh) || Number.isNaN(price)) return { ...s, refused: s.refused + 1 };
  const p: CostPeriod = {
    periodStart: new Date(Date.parse(periodStart)).toISOString(),
    settlementDate: String(d['settlementDate']),
    settlementPeriod: Number(d['settlementPeriod']),
    importKwh,
    priceGbpPerMwh: price,
    costGbp: (importKwh * price) / 1000,
    batteryChargeKwh: num(d['batteryChargeKwh']) || 0,
    batteryDischargeKwh: num(d['batteryDischargeKwh']) || 0,
    batterySocKwh: num(d['batterySocKwh']) || 0,
  };
  return { ...s, periods: s.periods.set(p.periodStart, p) };
}

export function projectCost(events: Iterable<FoldEvent>, from: CostState = initialCost): CostState {
  let s = from;
  for (const e of events) s = evolveCost(s, e);
  return s;
}

export function costPeriods(s: CostState): CostPeriod[] {
  return [...s.periods.values()].sort((a, b) => (a.periodStart < b.periodStart ? -1 : 1));
}

export interface DayCost {
  readonly settlementDate: string;
  readonly importMwh: number;
  readonly costGbp: number;
  /** Import-weighted price actually paid. */
  readonly avgPriceGbpPerMwh: number;
  readonly periods: number;
}

export function costByDay(s: CostState): DayCost[] {
  const days = new Map<string, { kwh: number; gbp: number; n: number }>();
  for (const p of s.periods.values()) {
    const d = days.get(p.settlementDate) ?? { kwh: 0, gbp: 0, n: 0 };
    days.set(p.settlementDate, { kwh: d.kwh + p.importKwh, gbp: d.gbp + p.costGbp, n: d.n + 1 });
  }
  return [...days]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([settlementDate, d]) => ({ settlementDate, importMwh: d.kwh / 1000, costGbp: d.gbp, avgPriceGbpPerMwh: d.kwh !== 0 ? (d.gbp * 1000) / d.kwh : 0, periods: d.n }));
}

export interface CostTotals {
  readonly importMwh: number;
  readonly costGbp: number;
  readonly avgPriceGbpPerMwh: number;
  readonly periods: number;
}

export function costTotals(s: CostState): CostTotals {
  let kwh = 0, gbp = 0;
  for (const p of s.periods.values()) {
    kwh += p.importKwh;
    gbp += p.costGbp;
  }
  return { importMwh: kwh / 1000, costGbp: gbp, avgPriceGbpPerMwh: kwh !== 0 ? (gbp * 1000) / kwh : 0, periods: s.periods.size };
}
