import { BucketMap } from '../schedule/index.ts';
import { evolverOf, projection } from '../kit.ts';
import { decodeWith, SiteMetered } from '../../schemas/index.ts';

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

/** Decoded, not only typed: outside meters' interval reads share the type and carry no price (see projections/metering); they are refused and counted. */
export const costProjection = projection({
  name: 'cost',
  handles: [SiteMetered],
  initial: initialCost,
  evolve(s: CostState, e): CostState {
    const read = decodeWith(SiteMetered.data, e.data);
    if (!read.ok) return { ...s, refused: s.refused + 1 };
    const d = read.value;
    const p: CostPeriod = {
      periodStart: new Date(Date.parse(d.periodStart)).toISOString(),
      settlementDate: d.settlementDate,
      settlementPeriod: d.settlementPeriod,
      importKwh: d.importKwh,
      priceGbpPerMwh: d.priceGbpPerMwh,
      costGbp: (d.importKwh * d.priceGbpPerMwh) / 1000,
      batteryChargeKwh: d.batteryChargeKwh,
      batteryDischargeKwh: d.batteryDischargeKwh,
      batterySocKwh: d.batterySocKwh,
    };
    return { ...s, periods: s.periods.set(p.periodStart, p) };
  },
});

export const evolveCost = evolverOf(costProjection);

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
