/**
 * The simulated-clock harness every policy runs in: half-hour by half-hour, jobs arrive at
 * their release, the policy plans the next 48 h from the signals it is given (forecasts, or
 * the actuals for the oracle), the first half-hour of its plan is executed, and cost and
 * carbon are booked on the ACTUAL signals.
 */
import type { Job, SiteConfig } from '../../agents/compute/jobs/index.ts';
import { type PlanInput, type PlanJob, type PlanResult, type Signals, validatePlan } from '../../agents/compute/planner/index.ts';
import { HALF_HOUR_MS as SLOT_MS, HOUR_MS } from '../../core/time/index.ts';


export interface Policy {
  readonly name: string;
  /** Which signals the policy plans with. */
  readonly sees: 'forecast' | 'actual';
  plan(input: PlanInput): Promise<PlanResult>;
}

export interface SimConfig {
  readonly site: SiteConfig;
  readonly startMs: number;
  /** Half-hours in which jobs may arrive; the run continues until every job has finished. */
  readonly slots: number;
  readonly jobs: ReadonlyArray<Job>;
  /** Actual signals from startMs, long enough for the run plus a 48 h horizon. */
  readonly actual: Signals;
  /** The forecast available at time t, covering 96 slots from t. */
  readonly forecastAt: (tMs: number) => Signals;
  readonly initialSocKwh: number;
  /** Extra half-hours allowed for the last jobs to finish (default 4 days). */
  readonly drainSlots?: number;
  /** How long before its release a job is known. Serving is base load, known a day ahead (default 24 h); others arrive at release. */
  readonly knownAheadMs?: (job: Job) => number;
  readonly onStep?: (step: number, plan: PlanResult) => void;
}

export interface SimResult {
  readonly policy: string;
  readonly energyCostGbp: number;
  readonly carbonT: number;
  readonly carbonCostGbp: number;
  readonly siteEnergyMwh: number;
  readonly deadlineMisses: number;
  /** Misses among jobs that could have finished on time had they started at the first slot after arrival. */
  readonly missesFeasibleOnArrival: number;
  readonly unfinished: number;
  readonly peakSiteKw: number;
  /** Discharged energy over usable capacity (equivalent full cycles). */
  readonly batteryCycles: number;
  readonly finalSocKwh: number;
  readonly planMs: number[];
  readonly planStatuses: Record<string, number>;
  readonly validationProblems: number;
  readonly firstProblems: string[];
  readonly steps: number;
  /** The first missed jobs (up to 20, by deadline), to tell a capacity squeeze from a planning error. */
  readonly missed: ReadonlyArray<MissedJob>;
}

export interface MissedJob {
  readonly jobId: string;
  readonly class: string;
  readonly powerKw: number;
  readonly runtimeMin: number;
  /** Deadline − earliest start − runtime. */
  readonly slackMin: number;
  /** How late it finished (Infinity: it never did). */
  readonly lateMin: number;
  readonly feasibleOnArrival: boolean;
}

interface JobState {
  readonly job: Job;
  doneMin: number;
  startedMs?: number;
  endMs?: number;
}

function feasibleOnArrival(j: Job): boolean {
  const first = Math.ceil(j.earliestStartMs / SLOT_MS) * SLOT_MS;
  return first + j.runtimeMin * 60_000 <= j.deadlineMs + 1;
}

function signalAt(s: Signals, tMs: number, key: 'priceGbpPerMwh' | 'intensityGPerKwh'): number {
  const i = Math.round((tMs - s.startMs) / SLOT_MS);
  const arr = s[key];
  return arr[Math.max(0, Math.min(arr.length - 1, i))]!;
}

export async function simulate(policy: Policy, cfg: SimConfig): Promise<SimResult> {
  const { site } = cfg;
  const eta = Math.sqrt(site.battery.roundTripEfficiency);
  const jobs = [...cfg.jobs].sort((a, b) => a.earliestStartMs - b.earliestStartMs);
  const states = new Map<string, JobState>();
  let nextArrival = 0;
  const ahead = cfg.knownAheadMs ?? ((j: Job) => (j.class === 'serving' ? 24 * HOUR_MS : 0));
  // Sorted by the time each job becomes known.
  jobs.sort((a, b) => a.earliestStartMs - ahead(a) - (b.earliestStartMs - ahead(b)));
  let soc = cfg.initialSocKwh;
  let previous: PlanResult | undefined;
  let energyCostGbp = 0;
  let carbonKg = 0;
  let siteKwhTotal = 0;
  let peakSiteKw = 0;
  let dischargedKwh = 0;
  let validationProblems = 0;
  const firstProblems: string[] = [];
  const planMs: number[] = [];
  const planStatuses: Record<string, number> = {};
  const maxSteps = cfg.slots + (cfg.drainSlots ?? 192);
  let step = 0;
  for (; step < maxSteps; step++) {
    const t = cfg.startMs + step * SLOT_MS;
    while (nextArrival < jobs.length && jobs[nextArrival]!.earliestStartMs - ahead(jobs[nextArrival]!) <= t) {
      const j = jobs[nextArrival++]!;
      if (j.earliestStartMs < cfg.startMs + cfg.slots * SLOT_MS) states.set(j.id, { job: j, doneMin: 0 });
    }
    const active = [...states.values()].filter((s) => s.endMs === undefined);
    if (step >= cfg.slots && active.length === 0) break;
    const planJobs: PlanJob[] = active.map((s) => ({ ...s.job, doneMin: s.doneMin, ...(s.startedMs !== undefined && !s.job.preemptible ? { startedMs: s.startedMs } : {}) }));
    const signals = policy.sees === 'actual' ? cfg.actual : cfg.forecastAt(t);
    const input: PlanInput = { nowMs: t, site, jobs: planJobs, signals, batterySocKwh: soc, ...(previous ? { previous } : {}) };
    const t0 = performance.now();
    const plan = await policy.plan(input);
    planMs.push(performance.now() - t0);
    planStatuses[plan.status] = (planStatuses[plan.status] ?? 0) + 1;
    const problems = validatePlan(plan, planJobs, site, signals, { batterySocKwh: soc });
    if (problems.length) {
      validationProblems += problems.length;
      if (firstProblems.length < 5) firstProblems.push(`${new Date(t).toISOString()} ${problems[0]!.message}`);
    }
    cfg.onStep?.(step, plan);
    previous = plan;

    // Execute the first half-hour.
    let itKw = 0;
    const byId = new Map(plan.jobs.map((jp) => [jp.jobId, jp]));
    for (const s of active) {
      const jp = byId.get(s.job.id);
      const run = jp?.runs[0]?.slot === 0 ? jp.runs[0].kw : 0;
      const mustRun = !s.job.preemptible && s.startedMs !== undefined;
      const kw = mustRun ? s.job.powerKw * Math.min(1, (s.job.runtimeMin - s.doneMin) / 30) : Math.min(run, s.job.powerKw);
      if (kw <= 1e-9) continue;
      if (s.startedMs === undefined) s.startedMs = t;
      const runMin = 30 * (kw / s.job.powerKw);
      const left = s.job.runtimeMin - s.doneMin;
      if (runMin >= left - 1e-6) {
        // It runs at full power from the slot's start until done.
        s.endMs = t + left * 60_000;
        s.doneMin = s.job.runtimeMin;
      } else s.doneMin += runMin;
      itKw += kw;
    }
    const slot0 = plan.slots[0];
    let ch = slot0?.chargeKw ?? 0;
    let dis = slot0?.dischargeKw ?? 0;
    const bat = site.battery;
    // The battery does what the plan says within what it physically can.
    ch = Math.min(ch, bat.powerKw, Math.max(0, (bat.maxSocFraction * bat.energyKwh - soc) / (0.5 * eta)));
    dis = Math.min(dis, bat.powerKw, Math.max(0, (soc - bat.minSocFraction * bat.energyKwh) * eta / 0.5), itKw * site.pue + ch);
    soc += 0.5 * (eta * ch - dis / eta);
    dischargedKwh += dis * 0.5;
    const siteKw = itKw * site.pue + ch - dis;
    const kwh = siteKw * 0.5;
    energyCostGbp += (kwh * signalAt(cfg.actual, t, 'priceGbpPerMwh')) / 1000;
    carbonKg += (kwh * signalAt(cfg.actual, t, 'intensityGPerKwh')) / 1000;
    siteKwhTotal += kwh;
    peakSiteKw = Math.max(peakSiteKw, siteKw);
  }
  let misses = 0;
  let missesFeasible = 0;
  let unfinished = 0;
  const missed: MissedJob[] = [];
  const endT = cfg.startMs + step * SLOT_MS;
  for (const s of states.values()) {
    const end = s.endMs ?? Infinity;
    if (s.endMs === undefined) unfinished++;
    if (end > s.job.deadlineMs + 1 && (s.endMs !== undefined || s.job.deadlineMs < endT)) {
      misses++;
      const feasible = feasibleOnArrival(s.job);
      if (feasible) missesFeasible++;
      const j = s.job;
      missed.push({ jobId: j.id, class: j.class, powerKw: j.powerKw, runtimeMin: j.runtimeMin, slackMin: (j.deadlineMs - j.earliestStartMs) / 60_000 - j.runtimeMin, lateMin: (end - j.deadlineMs) / 60_000, feasibleOnArrival: feasible });
    }
  }
  missed.sort((a, b) => states.get(a.jobId)!.job.deadlineMs - states.get(b.jobId)!.job.deadlineMs);
  const usable = (site.battery.maxSocFraction - site.battery.minSocFraction) * site.battery.energyKwh;
  return {
    policy: policy.name,
    energyCostGbp,
    carbonT: carbonKg / 1000,
    carbonCostGbp: (carbonKg / 1000) * site.carbonPriceGbpPerT,
    siteEnergyMwh: siteKwhTotal / 1000,
    deadlineMisses: misses,
    missesFeasibleOnArrival: missesFeasible,
    unfinished,
    peakSiteKw,
    batteryCycles: dischargedKwh / usable,
    finalSocKwh: soc,
    planMs,
    planStatuses,
    validationProblems,
    firstProblems,
    steps: step,
    missed: missed.slice(0, 20),
  };
}
