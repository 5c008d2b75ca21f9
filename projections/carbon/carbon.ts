import { BucketMap, JOB_CLASSES, type JobClass } from '../schedule/index.ts';
import { evolverOf, projection } from '../kit.ts';
import { decodeWith, SiteMetered } from '../../schemas/index.ts';

/**
 * The carbon account: per metered half-hour, the site's import, the intensity it was drawn at,
 * and the carbon split over job classes. Folded from `site.meter.read`; a second read of the
 * same half-hour replaces the first (corrections, replays).
 *
 * Allocation: a class gets the share of the half-hour's site import (cooling, battery and all)
 * that its IT energy is of the IT total, so the classes add up to the site exactly. A half-hour
 * with import but no IT load (the battery charging while idle) goes to `unallocated`.
 */

export type CarbonBucket = JobClass | 'unallocated';
export const CARBON_BUCKETS: ReadonlyArray<CarbonBucket> = [...JOB_CLASSES, 'unallocated'];

export interface CarbonPeriod {
  readonly periodStart: string;
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  readonly itKwh: number;
  readonly importKwh: number;
  readonly carbonGPerKwh: number;
  readonly carbonKg: number;
  /** IT energy by class, as metered. */
  readonly itKwhByClass: Readonly<Record<JobClass, number>>;
  /** Site import allocated to each class (see the allocation rule above). */
  readonly siteKwhByClass: Readonly<Record<CarbonBucket, number>>;
  readonly carbonKgByClass: Readonly<Record<CarbonBucket, number>>;
  readonly signals: string;
}

export interface CarbonState {
  readonly periods: BucketMap<CarbonPeriod>;
  readonly refused: number;
}

export const initialCarbon: CarbonState = { periods: BucketMap.empty(), refused: 0 };

/** Split a half-hour's import and carbon over classes by their IT energy. */
export function allocate(importKwh: number, intensity: number, itKwhByClass: Readonly<Record<JobClass, number>>): { siteKwh: Record<CarbonBucket, number>; carbonKg: Record<CarbonBucket, number> } {
  const siteKwh: Record<CarbonBucket, number> = { training: 0, 'batch-inference': 0, serving: 0, unallocated: 0 };
  const it = JOB_CLASSES.reduce((a, c) => a + itKwhByClass[c], 0);
  // Shares first: importKwh * kWh / it would underflow to 0 for a tiny (denormal) IT load and lose the import.
  if (it > 0) for (const c of JOB_CLASSES) siteKwh[c] = importKwh * (itKwhByClass[c] / it);
  else siteKwh.unallocated = importKwh;
  const carbonKg = Object.fromEntries(CARBON_BUCKETS.map((c) => [c, (siteKwh[c] * intensity) / 1000])) as Record<CarbonBucket, number>;
  return { siteKwh, carbonKg };
}

/**
 * The ledger's reads are checked against their schema on append; the fold decodes them again
 * because `site.meter.read` is also folded from outside meters' interval reads (see
 * projections/metering), which carry no signals and are refused here, and counted.
 */
export const carbonProjection = projection({
  name: 'carbon',
  handles: [SiteMetered],
  initial: initialCarbon,
  evolve(s: CarbonState, e): CarbonState {
    const read = decodeWith(SiteMetered.data, e.data);
    if (!read.ok) return { ...s, refused: s.refused + 1 };
    const d = read.value;
    const itKwhByClass: Record<JobClass, number> = { training: d.byClassKwh.training, 'batch-inference': d.byClassKwh['batch-inference'], serving: d.byClassKwh.serving };
    const a = allocate(d.importKwh, d.carbonGPerKwh, itKwhByClass);
    const p: CarbonPeriod = {
      periodStart: new Date(Date.parse(d.periodStart)).toISOString(),
      settlementDate: d.settlementDate,
      settlementPeriod: d.settlementPeriod,
      itKwh: d.itKwh,
      importKwh: d.importKwh,
      carbonGPerKwh: d.carbonGPerKwh,
      carbonKg: (d.importKwh * d.carbonGPerKwh) / 1000,
      itKwhByClass,
      siteKwhByClass: a.siteKwh,
      carbonKgByClass: a.carbonKg,
      signals: d.signals,
    };
    return { ...s, periods: s.periods.set(p.periodStart, p) };
  },
});

export const evolveCarbon = evolverOf(carbonProjection);

export function carbonPeriods(s: CarbonState): CarbonPeriod[] {
  return [...s.periods.values()].sort((a, b) => (a.periodStart < b.periodStart ? -1 : 1));
}

export interface CarbonTotals {
  readonly importKwh: number;
  readonly carbonKg: number;
  /** Import-weighted: total carbon over total import. */
  readonly avgGPerKwh: number;
  readonly periods: number;
}

export function carbonTotals(s: CarbonState): CarbonTotals {
  let kwh = 0, kg = 0;
  for (const p of s.periods.values()) {
    kwh += p.importKwh;
    kg += p.carbonKg;
  }
  return { importKwh: kwh, carbonKg: kg, avgGPerKwh: kwh > 0 ? (kg * 1000) / kwh : 0, periods: s.periods.size };
}

export interface ClassCarbon {
  readonly class: CarbonBucket;
  readonly itKwh: number;
  readonly siteKwh: number;
  readonly carbonKg: number;
  readonly avgGPerKwh: number;
}

export function carbonByClass(s: CarbonState): ClassCarbon[] {
  return CARBON_BUCKETS.map((c) => {
    let it = 0, site = 0, kg = 0;
    for (const p of s.periods.values()) {
      it += c === 'unallocated' ? 0 : p.itKwhByClass[c];
      site += p.siteKwhByClass[c];
      kg += p.carbonKgByClass[c];
    }
    return { class: c, itKwh: it, siteKwh: site, carbonKg: kg, avgGPerKwh: site > 0 ? (kg * 1000) / site : 0 };
  });
}

export interface DayCarbon {
  readonly settlementDate: string;
  readonly importKwh: number;
  readonly carbonKg: number;
  readonly avgGPerKwh: number;
  readonly periods: number;
}

/** Per UK settlement day (local date). */
export function carbonByDay(s: CarbonState): DayCarbon[] {
  const days = new Map<string, { kwh: number; kg: number; n: number }>();
  for (const p of s.periods.values()) {
    const d = days.get(p.settlementDate) ?? { kwh: 0, kg: 0, n: 0 };
    days.set(p.settlementDate, { kwh: d.kwh + p.importKwh, kg: d.kg + p.carbonKg, n: d.n + 1 });
  }
  return [...days]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([settlementDate, d]) => ({ settlementDate, importKwh: d.kwh, carbonKg: d.kg, avgGPerKwh: d.kwh > 0 ? (d.kg * 1000) / d.kwh : 0, periods: d.n }));
}
