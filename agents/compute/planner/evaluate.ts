/** A schedule → the PlanResult the agent acts on: per slot totals, per job costs, counterfactuals, flexibility. */
import { type Horizon, type Item, SLOT_H, SLOT_MS, remainingMin, runFractions } from './horizon.ts';
import type { Schedule } from './schedule.ts';
import type { JobPlan, PlanJob, PlanResult, PlanStatus, SlotPlan, SolveInfo } from './types.ts';
import { flexibility } from './flexibility.ts';
import { HOUR_MS } from '../../../core/time/index.ts';

/**
 * Below this a job's kW in a slot may be the solver's rounding, not work: HiGHS leaves pieces
 * of about 1/3000 kW in slots it otherwise keeps empty. The ledger records kW to 0.001, so such
 * a run was dispatched, started and shown as running at 0 kW (the Gantt painted idle
 * half-hours). Half the ledger's precision: a 1 W job at full power is still a run.
 */
export const MIN_RUN_KW = 0.0005;

/**
 * The most energy the residue dropped from one job may carry, kWh: half of what the plan's
 * validation tolerates missing (validate-plan.ts, 1e-3 kWh), so dropping it never fails a plan.
 */
const MAX_RESIDUE_KWH = 5e-4;

/**
 * The slots a job runs in. Pieces below MIN_RUN_KW are dropped only as residue: beside a run
 * that carries the job's work, and carrying next to none of it. A job whose work is that small
 * (1 W for ten minutes) keeps its pieces, or it would never be dispatched.
 */
function runSlots(runKw: Float64Array): number[] {
  const all: number[] = [];
  let real = false;
  let residueKwh = 0;
  for (let s = 0; s < runKw.length; s++) {
    const kw = runKw[s]!;
    if (kw <= 1e-9) continue;
    all.push(s);
    if (kw >= MIN_RUN_KW) real = true;
    else residueKwh += kw * SLOT_H;
  }
  return real && residueKwh <= MAX_RESIDUE_KWH ? all.filter((s) => runKw[s]! >= MIN_RUN_KW) : all;
}

/** £ and kg of running `kw[s]` IT load in the horizon's slots, at the site (×PUE). */
function costOf(h: Horizon, runKw: ArrayLike<number>, price: ArrayLike<number> = h.price, intensity: ArrayLike<number> = h.intensity): { costGbp: number; carbonKg: number } {
  let costGbp = 0;
  let carbonKg = 0;
  for (let s = 0; s < h.n; s++) {
    const kwh = runKw[s]! * SLOT_H * h.site.pue;
    if (kwh === 0) continue;
    costGbp += (kwh * price[s]!) / 1000;
    carbonKg += (kwh * intensity[s]!) / 1000;
  }
  return { costGbp, carbonKg };
}

/**
 * Per slot, the average price and intensity of what the site draws once on-site supply (cheapest
 * first, up to each tier's kW) has displaced the first kW of import: the jobs in a slot share
 * its discount pro rata. Null when no slot has on-site supply (then the grid's signals are it).
 */
function effectiveSignals(h: Horizon, jobsById: ReadonlyMap<string, PlanJob>, sched: Schedule): { price: Float64Array; intensity: Float64Array } | null {
  if (!h.onsite.some((tiers) => tiers.length > 0)) return null;
  const price = Float64Array.from(h.price);
  const intensity = Float64Array.from(h.intensity);
  const it = new Float64Array(h.n);
  for (const [id, js] of sched.jobs) if (jobsById.has(id)) for (let s = 0; s < h.n; s++) it[s]! += js.runKw[s]!;
  for (let s = 0; s < h.n; s++) {
    const siteKw = it[s]! * h.site.pue + sched.chargeKw[s]! - sched.dischargeKw[s]!;
    if (siteKw <= 1e-9) continue;
    let left = siteKw;
    let p = siteKw * h.price[s]!;
    let c = siteKw * h.intensity[s]!;
    for (const t of h.onsite[s]!) {
      const take = Math.min(left, t.kw);
      p += take * (t.price - h.price[s]!);
      c += take * (t.intensity - h.intensity[s]!);
      left -= take;
    }
    price[s] = p / siteKw;
    intensity[s] = c / siteKw;
  }
  return { price, intensity };
}

/** What running the job from its earliest slot, contiguous at full power, would cost. */
export function counterfactual(h: Horizon, job: PlanJob): JobPlan['counterfactual'] {
  const rem = remainingMin(job);
  const first = job.startedMs !== undefined && !job.preemptible ? 0 : Math.max(0, Math.ceil((job.earliestStartMs - h.t0) / SLOT_MS - 1e-9));
  const frac = runFractions(rem);
  const kw = new Float64Array(h.n);
  let tailKwh = 0;
  for (let k = 0; k < frac.length; k++) {
    if (first + k < h.n) kw[first + k] = job.powerKw * frac[k]!;
    else tailKwh += job.powerKw * frac[k]! * SLOT_H * h.site.pue;
  }
  const c = costOf(h, kw);
  // Beyond the horizon the signals are unknown: price the tail at the horizon's mean.
  let meanPrice = 0;
  let meanI = 0;
  for (let s = 0; s < h.n; s++) {
    meanPrice += h.price[s]! / h.n;
    meanI += h.intensity[s]! / h.n;
  }
  return { startMs: h.t0 + first * SLOT_MS, costGbp: c.costGbp + (tailKwh * meanPrice) / 1000, carbonKg: c.carbonKg + (tailKwh * meanI) / 1000 };
}

export function evaluate(
  h: Horizon,
  jobsById: ReadonlyMap<string, PlanJob>,
  items: ReadonlyArray<Item>,
  sched: Schedule,
  socInitKwh: number,
  status: PlanStatus,
  solver: SolveInfo,
  lastFullMs: number,
): PlanResult {
  const { n, site } = h;
  const etaC = Math.sqrt(site.battery.roundTripEfficiency);
  const it = new Float64Array(n);
  const jobs: JobPlan[] = [];
  let lateJobs = 0;
  let unplacedJobs = 0;
  let latenessPenaltyGbp = 0;
  const eff = effectiveSignals(h, jobsById, sched);
  for (const [id, js] of sched.jobs) {
    const job = jobsById.get(id);
    if (!job) continue;
    let first = -1;
    let last = -1;
    const runs = [];
    for (const s of runSlots(js.runKw)) {
      const kw = js.runKw[s]!;
      it[s]! += kw;
      runs.push({ slot: s, kw });
      if (first < 0) first = s;
      last = s;
    }
    let endMs: number | null = null;
    if (js.kind === 'scheduled' && js.deferredKwh <= 1e-9) {
      if (!job.preemptible && js.startSlot !== null) {
        const startMs = job.startedMs ?? h.t0 + js.startSlot * SLOT_MS;
        endMs = startMs + job.runtimeMin * 60_000;
      } else if (last >= 0) {
        // The job finishes inside its last slot: at the slot's start plus the time its last piece takes.
        endMs = h.t0 + last * SLOT_MS + Math.min(SLOT_MS, (js.runKw[last]! / job.powerKw) * SLOT_MS);
      }
    }
    const latenessH = js.kind === 'unplaced' ? Math.max(0, h.t0 + n * SLOT_MS - job.deadlineMs) / HOUR_MS : endMs !== null ? Math.max(0, endMs - job.deadlineMs) / HOUR_MS : 0;
    if (js.kind === 'unplaced') unplacedJobs++;
    if (latenessH > 1e-9 || js.kind === 'unplaced') {
      lateJobs++;
      latenessPenaltyGbp += site.slaPenaltyGbpPerH[job.slaClass] * (1 + latenessH);
    }
    const c = eff ? costOf(h, js.runKw, eff.price, eff.intensity) : costOf(h, js.runKw);
    jobs.push({
      jobId: id,
      kind: js.kind,
      preemptible: job.preemptible,
      startMs: first >= 0 ? (job.startedMs !== undefined && !job.preemptible ? job.startedMs : h.t0 + first * SLOT_MS) : null,
      endMs,
      runs,
      deferredKwh: js.deferredKwh,
      latenessH,
      expectedCostGbp: c.costGbp,
      expectedCarbonKg: c.carbonKg,
      counterfactual: counterfactual(h, job),
    });
  }
  const slots: SlotPlan[] = [];
  let soc = socInitKwh;
  let energyCostGbp = 0;
  let carbonKg = 0;
  let siteEnergyKwh = 0;
  let peakSiteKw = 0;
  for (let s = 0; s < n; s++) {
    const ch = sched.chargeKw[s]!;
    const dis = sched.dischargeKw[s]!;
    soc += SLOT_H * (etaC * ch - dis / etaC);
    const siteKw = it[s]! * site.pue + ch - dis;
    const kwh = siteKw * SLOT_H;
    let costGbp = (kwh * h.price[s]!) / 1000;
    let kg = (kwh * h.intensity[s]!) / 1000;
    // On-site supply (cheapest first) displaces the first kW of the slot's import.
    let left = Math.max(0, siteKw);
    for (const t of h.onsite[s]!) {
      const take = Math.min(left, t.kw);
      costGbp += (take * SLOT_H * (t.price - h.price[s]!)) / 1000;
      kg += (take * SLOT_H * (t.intensity - h.intensity[s]!)) / 1000;
      left -= take;
    }
    energyCostGbp += costGbp;
    carbonKg += kg;
    siteEnergyKwh += kwh;
    peakSiteKw = Math.max(peakSiteKw, siteKw);
    slots.push({
      startMs: h.t0 + s * SLOT_MS,
      itKw: it[s]!,
      siteKw,
      chargeKw: ch,
      dischargeKw: dis,
      socKwh: soc,
      importCapKw: h.importCapKw[s]!,
      priceGbpPerMwh: h.price[s]!,
      intensityGPerKwh: h.intensity[s]!,
      costGbp,
      carbonKg: kg,
    });
  }
  jobs.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  return {
    status,
    nowMs: h.t0,
    slotMs: SLOT_MS,
    horizonSlots: n,
    jobs,
    slots,
    flexibility: flexibility(h, items, sched, slots, socInitKwh),
    totals: {
      energyCostGbp,
      carbonKg,
      carbonCostGbp: (carbonKg / 1000) * site.carbonPriceGbpPerT,
      latenessPenaltyGbp,
      siteEnergyKwh,
      peakSiteKw,
      lateJobs,
      unplacedJobs,
    },
    solver,
    lastFullMs,
  };
}
