import type { Job, SiteConfig } from './jobs/index.ts';
import type { OnsiteTier, Signals } from './planner/index.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';
import { round } from './ledger-format.ts';

export interface JobCost {
  readonly costGbp: number;
  readonly carbonKg: number;
}

/** £ per gram of CO2 at the site's carbon price: what makes cost and carbon one score. */
export const carbonGbpPerG = (site: SiteConfig): number => site.carbonPriceGbpPerT / 1000;

/** A job's cost and carbon as one number in £, at the site's carbon price. */
export const score = (site: SiteConfig, c: JobCost): number => c.costGbp + c.carbonKg * carbonGbpPerG(site);

/**
 * What the job costs run straight through from `startMs`. With `onsite` (tiers by slot from
 * sig.startMs), energy an outside asset offers in a slot, when cheaper than the grid, supplies
 * the job first: an estimate for the provisional place on arrival, before the re-plan sees the
 * whole site's load.
 */
export function costOf(site: SiteConfig, job: Job, startMs: number, sig: Signals, onsite?: ReadonlyMap<number, ReadonlyArray<OnsiteTier>>): JobCost {
  let costGbp = 0;
  let carbonKg = 0;
  let left = job.runtimeMin;
  const carbonPrice = carbonGbpPerG(site);
  for (let t = startMs; left > 0; t += SLOT_MS) {
    const i = Math.min(sig.priceGbpPerMwh.length - 1, Math.max(0, Math.round((t - sig.startMs) / SLOT_MS)));
    const min = Math.min(30, left);
    let kwh = (job.powerKw * site.pue * min) / 60;
    const gridPrice = sig.priceGbpPerMwh[i]!;
    const gridCarbon = sig.intensityGPerKwh[i]!;
    const tiers = [...(onsite?.get(Math.round((t - sig.startMs) / SLOT_MS)) ?? [])]
      .filter((x) => x.priceGbpPerMwh + x.intensityGPerKwh * carbonPrice < gridPrice + gridCarbon * carbonPrice)
      .sort((a, b) => a.priceGbpPerMwh + a.intensityGPerKwh * carbonPrice - (b.priceGbpPerMwh + b.intensityGPerKwh * carbonPrice));
    for (const x of tiers) {
      const take = Math.min(kwh, (x.kw * min) / 60);
      costGbp += (take * x.priceGbpPerMwh) / 1000;
      carbonKg += (take * x.intensityGPerKwh) / 1000;
      kwh -= take;
    }
    costGbp += (kwh * gridPrice) / 1000;
    carbonKg += (kwh * gridCarbon) / 1000;
    left -= min;
  }
  return { costGbp: round(costGbp), carbonKg: round(carbonKg) };
}
