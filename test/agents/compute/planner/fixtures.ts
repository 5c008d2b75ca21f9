/** Small synthetic instances for planner tests: a sinusoidal day of prices and carbon. */
import { SeededRandom } from '../../../../core/ids/ids.ts';
import { type Job, type SiteConfig, siteConfig } from '../../../../agents/compute/jobs/index.ts';
import type { PlanInput, PlanJob, Signals } from '../../../../agents/compute/planner/index.ts';

export const T0 = Date.UTC(2023, 6, 3, 0, 0);
export const HH = 1_800_000;

export function sineSignals(startMs: number, slots: number, seed = 1): Signals {
  const r = new SeededRandom(seed);
  const price: number[] = [];
  const intensity: number[] = [];
  for (let s = 0; s < slots; s++) {
    const day = (2 * Math.PI * s) / 48;
    price.push(90 + 40 * Math.sin(day - 1) + 10 * (r.next() - 0.5));
    intensity.push(160 + 70 * Math.sin(day + 0.5) + 10 * (r.next() - 0.5));
  }
  return { startMs, priceGbpPerMwh: price, intensityGPerKwh: intensity };
}

export function randomJobs(n: number, seed: number, opts: { t0?: number; horizonSlots?: number; site?: SiteConfig; maxPowerKw?: number } = {}): Job[] {
  const r = new SeededRandom(seed);
  const t0 = opts.t0 ?? T0;
  const slots = opts.horizonSlots ?? 96;
  const jobs: Job[] = [];
  for (let i = 0; i < n; i++) {
    const runtimeMin = 15 + r.int(0, 16) * 15;
    const release = t0 + r.int(0, Math.floor(slots * 0.6)) * HH + r.int(0, 29) * 60_000;
    const slack = r.next() < 0.6 ? r.int(4, 24) * HH : r.int(1, 3) * HH;
    const releaseSlot = Math.ceil(release / HH) * HH;
    jobs.push({
      id: `j${i}`,
      class: r.next() < 0.5 ? 'training' : 'batch-inference',
      powerKw: 50 * r.int(1, opts.maxPowerKw ? Math.floor(opts.maxPowerKw / 50) : 40),
      runtimeMin,
      earliestStartMs: release,
      deadlineMs: releaseSlot + runtimeMin * 60_000 + slack,
      slaClass: (['gold', 'silver', 'bronze'] as const)[r.int(0, 2)]!,
      preemptible: r.next() < 0.4,
    });
  }
  return jobs;
}

export function input(jobs: ReadonlyArray<PlanJob>, extra: Partial<PlanInput> = {}): PlanInput {
  const site = extra.site ?? siteConfig();
  return { nowMs: T0, site, jobs, signals: sineSignals(T0, 96), batterySocKwh: 2500, ...extra };
}
