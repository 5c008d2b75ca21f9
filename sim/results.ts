import type { EventStore } from '../core/store/index.ts';
import type { Job, SiteConfig } from '../agents/compute/jobs/index.ts';
import { oraclePolicy, runOnArrivalPolicy, simulate, type SimResult } from './policies/index.ts';
import type { Signals } from '../agents/compute/planner/index.ts';
import { combine, foldAsync } from '../projections/index.ts';
import { carbonProjection, carbonTotals } from '../projections/carbon/index.ts';
import { costPeriods, costProjection, costTotals } from '../projections/cost/index.ts';
import { flexOrders, flexTotals, flexibilityProjection } from '../projections/flexibility/index.ts';
import { missedOrLate, scheduleProjection } from '../projections/schedule/index.ts';

/** One row of the summary table. */
export interface PolicyTotals {
  readonly policy: string;
  /** Bought at the meter over the run (raw: the battery's end state not counted). */
  readonly energyCostGbp: number;
  readonly carbonT: number;
  readonly avgGPerKwh: number;
  readonly siteEnergyMwh: number;
  readonly flexDeliveredMwh: number;
  readonly flexEarnedGbp: number;
  /** Contracted MWh of the orders settled, and how many there were: delivery ratio = delivered / contracted. */
  readonly flexContractedMwh: number;
  readonly flexOrdersSettled: number;
  /**
   * Distinct jobs that missed their deadline: finished after it, or not finished when it
   * passed. The same for every row (CACO: a job with `compute.job.deadline-missed` or
   * completed `late`; the harness: a job whose end is after its deadline).
   */
  readonly slaMisses: number;
  /** Energy cost less flexibility earned, per GPU-hour; battery-adjusted once `adjustForBattery` has run. */
  readonly gbpPerGpuHour: number;
  /** The battery's charge at the start and at the end of the run, kWh (absent: not known, not valued). */
  readonly startSocKwh?: number;
  readonly finalSocKwh?: number;
  /** The battery's end state valued (`adjustForBattery`); absent until then. */
  readonly battery?: BatteryAdjustment;
}

export interface BatteryAdjustment {
  /** Import at the meter that restores the start charge (negative: a surplus spares that much). */
  readonly meterKwh: number;
  readonly gbp: number;
  readonly carbonT: number;
  /** Energy £ and carbon t with the battery's end state valued: the raw figures + the above. */
  readonly adjustedEnergyCostGbp: number;
  readonly adjustedCarbonT: number;
}

export function gpuHours(jobs: ReadonlyArray<Job>, perGpuKw: number): number {
  return jobs.reduce((a, j) => a + ((j.gpuCount ?? j.powerKw / perGpuKw) * j.runtimeMin) / 60, 0);
}

/** What the CACO row reads of the ledger: the same projections the report and the dashboard show. */
const cacoView = combine({ cost: costProjection, carbon: carbonProjection, flexibility: flexibilityProjection, schedule: scheduleProjection }, 'caco-totals');

/**
 * CACO's totals from its own ledger, through the projections (the latest read of each
 * half-hour, the latest settlement of each order, each job once), so a repeated event is not
 * counted twice. `startSocKwh`: the battery's charge when the run began (the compute agent's
 * default, half the battery).
 */
export async function cacoTotals(store: EventStore, jobs: ReadonlyArray<Job>, site: SiteConfig, startSocKwh = site.battery.energyKwh * 0.5): Promise<PolicyTotals> {
  const m = await foldAsync(cacoView, store.readAll());
  const cost = costTotals(m.cost);
  const carbon = carbonTotals(m.carbon);
  const flex = flexTotals(m.flexibility);
  const misses = missedOrLate(m.schedule);
  const last = costPeriods(m.cost).at(-1);
  const gh = gpuHours(jobs, site.perGpuKw);
  return {
    policy: 'CACO (agents, forecasts, market)',
    energyCostGbp: cost.costGbp,
    carbonT: carbon.carbonKg / 1000,
    avgGPerKwh: carbon.avgGPerKwh,
    siteEnergyMwh: cost.importMwh,
    flexDeliveredMwh: flex.deliveredMwh,
    flexEarnedGbp: flex.netGbp,
    flexContractedMwh: flex.contractedSettledMwh,
    flexOrdersSettled: flexOrders(m.flexibility).filter((o) => o.settled !== null).length,
    slaMisses: misses,
    gbpPerGpuHour: gh > 0 ? (cost.costGbp - flex.netGbp) / gh : 0,
    startSocKwh,
    finalSocKwh: last?.batterySocKwh ?? startSocKwh,
  };
}

function fromSim(name: string, r: SimResult, jobs: ReadonlyArray<Job>, site: SiteConfig, startSocKwh: number): PolicyTotals {
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
    // Distinct jobs whose end is after their deadline (or unfinished past it): `slaMisses` above.
    slaMisses: r.deadlineMisses,
    gbpPerGpuHour: gh > 0 ? r.energyCostGbp / gh : 0,
    startSocKwh,
    finalSocKwh: r.finalSocKwh,
  };
}

/**
 * The price and carbon intensity at which a battery's end state is valued, and why.
 *
 * Every row starts with the same charge but ends with its own, and what it drew from the
 * battery (or left in it) was bought outside the bill. We value the difference at the mean
 * actual import price and the mean actual intensity over the simulated half-hours: a figure
 * every row shares, observed rather than forecast, that rewards no row's timing (refilling at
 * the week's cheapest half-hours would flatter the row that drained the battery; a next-day
 * forecast would make the adjustment hang on one day's weather). At the meter a kWh of
 * missing charge takes 1/η kWh to restore and a kWh of surplus gives back η, η = √(round-trip
 * efficiency), as the battery model charges and discharges.
 */
export interface StoredEnergyValue {
  readonly priceGbpPerMwh: number;
  readonly intensityGPerKwh: number;
  /** One-way efficiency √(round-trip). */
  readonly eta: number;
}

export function storedEnergyValue(actual: Signals, slots: number, site: SiteConfig): StoredEnergyValue {
  const n = Math.max(1, Math.min(slots, actual.priceGbpPerMwh.length, actual.intensityGPerKwh.length));
  const mean = (xs: ReadonlyArray<number>) => xs.slice(0, n).reduce((a, x) => a + x, 0) / n;
  return { priceGbpPerMwh: mean(actual.priceGbpPerMwh), intensityGPerKwh: mean(actual.intensityGPerKwh), eta: Math.sqrt(site.battery.roundTripEfficiency) };
}

/**
 * A row with its battery's end state valued: what restoring the start charge would cost at the
 * meter (or a surplus would spare) is added to its energy £ and carbon t; £/GPU-h is recomputed
 * on the adjusted £. The raw figures stay in the row.
 */
export function adjustForBattery(t: PolicyTotals, v: StoredEnergyValue, jobs: ReadonlyArray<Job>, site: SiteConfig): PolicyTotals {
  const missingKwh = t.startSocKwh !== undefined && t.finalSocKwh !== undefined ? t.startSocKwh - t.finalSocKwh : 0;
  const meterKwh = missingKwh >= 0 ? missingKwh / v.eta : missingKwh * v.eta;
  const gbp = (meterKwh * v.priceGbpPerMwh) / 1000;
  const carbonT = (meterKwh * v.intensityGPerKwh) / 1e6;
  const adjustedEnergyCostGbp = t.energyCostGbp + gbp;
  const gh = gpuHours(jobs, site.perGpuKw);
  return {
    ...t,
    gbpPerGpuHour: gh > 0 ? (adjustedEnergyCostGbp - t.flexEarnedGbp) / gh : 0,
    battery: { meterKwh, gbp, carbonT, adjustedEnergyCostGbp, adjustedCarbonT: t.carbonT + carbonT },
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
  return [fromSim('run on arrival (baseline)', arrival, p.jobs, p.site, p.initialSocKwh), fromSim('perfect-foresight optimum', oracle, p.jobs, p.site, p.initialSocKwh)];
}

/** The line under the table that says how the battery's end state was valued. */
export function batteryNote(startSocKwh: number, v: StoredEnergyValue): string {
  return `battery: every row starts at ${Math.round(startSocKwh).toLocaleString('en-GB')} kWh; adj. £ and t add restoring that charge (or credit a surplus) at the run's mean import price £${v.priceGbpPerMwh.toFixed(2)}/MWh and ${v.intensityGPerKwh.toFixed(1)} gCO2/kWh, ${(v.eta * 100).toFixed(1)} % efficient each way; £/GPU-h is on adj. £`;
}

/** The flexibility line under the table: orders settled, delivery ratio, net revenue per week. */
export function flexSummary(t: Pick<PolicyTotals, 'flexDeliveredMwh' | 'flexContractedMwh' | 'flexEarnedGbp' | 'flexOrdersSettled'>, days: number): string {
  const ratio = t.flexContractedMwh > 0 ? `${((100 * t.flexDeliveredMwh) / t.flexContractedMwh).toFixed(1)} %` : 'n/a (nothing contracted)';
  const perWeek = (t.flexEarnedGbp * 7) / days;
  return `flexibility: ${t.flexOrdersSettled} order(s) settled; delivered ${t.flexDeliveredMwh.toFixed(3)} of ${t.flexContractedMwh.toFixed(3)} MWh contracted (delivery ratio ${ratio}); net £${t.flexEarnedGbp.toFixed(2)} (£${perWeek.toFixed(2)} per week)`;
}
