import type { Logger } from '../../core/log/index.ts';
import { plan as runPlanner, validatePlan, type PlanInput, type PlanJob, type PlanOptions, type PlanResult } from './planner/index.ts';
import { isDone } from './progress.ts';
import type { ComputeState, JobRecord } from './state.ts';

/** The jobs still to run from `t` as the planner sees them, with their records by id. */
export function jobsToPlan(s: ComputeState, t: number, doneAfter: ReadonlyMap<string, number>): { jobs: PlanJob[]; records: Map<string, JobRecord> } {
  const jobs: PlanJob[] = [];
  const records = new Map<string, JobRecord>();
  for (const id of s.active) {
    const r = s.jobs.get(id)!;
    const done = doneAfter.get(id) ?? r.doneMin;
    if (isDone(done, r.job.runtimeMin)) continue;
    records.set(id, r);
    let job: PlanJob = { ...r.job, doneMin: done };
    // A pinned job that has started runs straight through, as a non-preemptible one does. Only
    // the pin's first half-hour held it before: from the next the pin lay in the past, and the
    // job went back to being preemptible and was stopped for a cheaper slot (a helper's review).
    const pinStarted = r.pinnedStartMs !== null && r.pinnedStartMs < t && r.status === 'running' && r.startedMs !== null;
    if (r.status === 'running' && !r.job.preemptible && r.startedMs !== null) job = { ...job, startedMs: r.startedMs };
    else if (pinStarted) job = { ...job, startedMs: r.startedMs!, preemptible: false, deadlineMs: Math.max(r.job.deadlineMs, r.pinnedStartMs! + r.job.runtimeMin * 60_000) };
    else if (r.pinnedStartMs !== null && r.pinnedStartMs >= t) {
      // A pin: the job may start only then, and must run straight through.
      job = { ...job, earliestStartMs: r.pinnedStartMs, deadlineMs: Math.max(r.job.deadlineMs, r.pinnedStartMs + (r.job.runtimeMin - done) * 60_000), preemptible: false, pinned: true };
    }
    jobs.push(job);
  }
  return { jobs, records };
}

export interface SitePlan {
  readonly result: PlanResult;
  /** What went wrong on the way (a plan that failed validation), for the plan's `solver.note`; '' when nothing did. */
  readonly note: string;
}

/**
 * The planner as the compute agent calls it: HiGHS (through `planner/`), every plan checked by
 * the independent validator, the greedy plan when the solver's fails it.
 *
 * It keeps the last plan, for a warm start: an incremental re-plan keeps that plan's
 * still-valid starts, so it shapes the next plan. This is memory of the agent instance, not
 * state: it is not on the ledger, a restart loses it, and the first plan after a restart is a
 * cold, full one (it costs a solve, never a half-hour of work). `forget()` makes the next plan
 * cold on purpose.
 */
export class SitePlanner {
  private previous: PlanResult | undefined;

  constructor(
    private readonly options: PlanOptions = {},
    /** Called with each plan (for benchmarks and the dashboard); not part of the ledger. */
    private readonly onPlan?: (plan: PlanResult) => void,
  ) {}

  /** The next plan starts from scratch (something changed that the previous plan's starts did not see). */
  forget(): void {
    this.previous = undefined;
  }

  async plan(input: Omit<PlanInput, 'previous'>, log: Logger): Promise<SitePlan> {
    const { site, jobs, signals, batterySocKwh } = input;
    let result = await runPlanner(this.previous ? { ...input, previous: this.previous } : input, this.options);
    let problems = validatePlan(result, jobs, site, signals, { batterySocKwh });
    let note = '';
    if (problems.length) {
      log.warn({ problems: problems.slice(0, 3).map((p) => p.message), status: result.status }, 'plan failed validation; using the greedy plan');
      note = `solver plan failed validation (${problems[0]!.message}); greedy plan used`;
      result = await runPlanner(input, { ...this.options, mode: 'greedy' });
      problems = validatePlan(result, jobs, site, signals, { batterySocKwh });
      if (problems.length) note += `; greedy plan has ${problems.length} problem(s) too: ${problems[0]!.message}`;
    }
    this.previous = result;
    this.onPlan?.(result);
    log.debug({ status: result.status, mode: result.solver.mode, solveMs: Math.round(result.solver.totalMs), gap: result.solver.gap, jobs: jobs.length }, 'planned');
    return { result, note };
  }
}
