import type { EventStore } from '../core/store/index.ts';
import { isOneOf } from '../core/envelope/index.ts';
import { JobDeadlineMissed, OrderFulfilled, SiteMetered } from '../schemas/index.ts';
import type { Job, SiteConfig } from '../agents/compute/jobs/index.ts';
import { oraclePolicy, runOnArrivalPolicy, simulate, type SimResult } from './policies/index.ts';
import type { Signals } from '../agents/compute/planner/index.ts';

/** One row of the summary table. */
export interface PolicyTotals {
  readonly policy: string;
  readonly energyCostGbp: number;
  readonly carbonT: number;
  readonly avgGPerKwh: number;
  readonly siteEnergyMwh: number;
  readonly flexDeliveredMwh: number;
  readonly flexEarnedGbp: number;
  /** Contracted MWh of the orders settled, and how many there were: delivery ratio = delivered / contracted. */
  readonly flexContractedMwh: number;
  readonly flexOrdersSettled: number;
  readonly slaMisses: number;
  readonly gbpPerGpuHour: number;
}

export function gpuHours(jobs: ReadonlyArray<Job>, perGpuKw: number): number {
  return jobs.reduce((a, j) => a + ((j.gpuCount ?? j.powerKw / perGpuKw) * j.runtimeMin) / 60, 0);
}

const counted = isOneOf([SiteMetered, JobDeadlineMissed, OrderFulfilled]);

/** CACO's totals from its own ledger: the meter, the job lifecycle and the settled orders. */
export async function cacoTotals(store: EventStore, jobs: ReadonlyArray<Job>, site: SiteConfig): Promise<PolicyTotals> {
  let costGbp = 0;
  let carbonKg = 0;
  let kwh = 0;
  let misses = 0;
  let flexMwh = 0;
  let flexGbp = 0;
  let flexContracted = 0;
  let flexOrders = 0;
  for await (const e of store.readAll()) {
    if (!counted(e)) continue;
    switch (e.type) {
      case 'site.meter.read':
        costGbp += (e.data.importKwh * e.data.priceGbpPerMwh) / 1000;
        carbonKg += (e.data.importKwh * e.data.carbonGPerKwh) / 1000;
        kwh += e.data.importKwh;
        break;
      case 'compute.job.deadline-missed':
        misses++;
        break;
      case 'flex.order.fulfilled':
        flexMwh += e.data.deliveredMwh;
        flexGbp += e.data.netGbp;
        flexContracted += e.data.contractedMwh;
        flexOrders++;
        break;
      default: {
        const _never: never = e;
      }
    }
  }
  const gh = gpuHours(jobs, site.perGpuKw);
  return {
    policy: 'CACO (agents, forecasts, market)',
    energyCostGbp: costGbp,
    carbonT: carbonKg / 1000,
    avgGPerKwh: kwh > 0 ? (carbonKg * 1000) / kwh : 0,
    siteEnergyMwh: kwh / 1000,
    flexDeliveredMwh: flexMwh,
    flexEarnedGbp: flexGbp,
    flexContractedMwh: flexContracted,
    flexOrdersSettled: flexOrders,
    slaMisses: misses,
    gbpPerGpuHour: gh > 0 ? (costGbp - flexGbp) / gh : 0,
  };
}

function fromSim(name: string, r: SimResult, jobs: ReadonlyArray<Job>, site: SiteConfig): PolicyTotals {
  const gh = gpuHours(jobs, site.perGpuKw);
  return {
    policy: name,
    energyCostGbp: r.energyCostGbp,
    carbonT: r.carbonT,
    avgGPerKwh: r.siteEnergyMwh > 0 ? (r.carbonT * 1e6) / (r.siteEnergyMwh * 1000) : 0,
    siteEnergyMwh: r.siteEnergyMwh,
    flexDeliveredMwh: 0,
    flexEarnedGbp: 0,
    flexContractedMwh: 0,
    flexOrdersSettled: 0,
    slaMisses: r.deadlineMisses,
    gbpPerGpuHour: gh > 0 ? r.energyCostGbp / gh : 0,
  };
}

/** Run-on-arrival and the perfect-foresight optimum on the same jobs and actual signals. */
export interface BaselineInput {
  readonly jobs: ReadonlyArray<Job>;
  readonly site: SiteConfig;
  readonly fromMs: number;
  readonly slots: number;
  readonly actual: Signals;
  readonly initialSocKwh: number;
}

export async function baselineTotals(
  p: BaselineInput & {
    /** Run-on-arrival's planned site kW for each half-hour it executes (for the report's load plot). */
    onArrivalSlot?: (startMs: number, siteKw: number) => void;
  },
): Promise<PolicyTotals[]> {
  const cfg = { site: p.site, startMs: p.fromMs, slots: p.slots, jobs: p.jobs, actual: p.actual, forecastAt: () => p.actual, initialSocKwh: p.initialSocKwh, knownAheadMs: () => 0 };
  const onStep = p.onArrivalSlot ? (_: number, plan: { slots: ReadonlyArray<{ startMs: number; siteKw: number }> }) => plan.slots[0] && p.onArrivalSlot!(plan.slots[0].startMs, plan.slots[0].siteKw) : undefined;
  const arrival = await simulate(runOnArrivalPolicy(), onStep ? { ...cfg, onStep } : cfg);
  // Deterministic work limits: the table must not depend on how busy the machine is.
  const oracle = await simulate(oraclePolicy({ deterministic: true }), cfg);
  return [fromSim('run on arrival (baseline)', arrival, p.jobs, p.site), fromSim('perfect-foresight optimum', oracle, p.jobs, p.site)];
}

/** The flexibility line under the table: orders settled, delivery ratio, net revenue per week. */
export function flexSummary(t: Pick<PolicyTotals, 'flexDeliveredMwh' | 'flexContractedMwh' | 'flexEarnedGbp' | 'flexOrdersSettled'>, days: number): string {
  const ratio = t.flexContractedMwh > 0 ? `${((100 * t.flexDeliveredMwh) / t.flexContractedMwh).toFixed(1)} %` : 'n/a (nothing contracted)';
  const perWeek = (t.flexEarnedGbp * 7) / days;
  return `flexibility: ${t.flexOrdersSettled} order(s) settled; delivered ${t.flexDeliveredMwh.toFixed(3)} of ${t.flexContractedMwh.toFixed(3)} MWh contracted (delivery ratio ${ratio}); net £${t.flexEarnedGbp.toFixed(2)} (£${perWeek.toFixed(2)} per week)`;
}
