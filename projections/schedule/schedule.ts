import { BucketMap } from './bucket-map.ts';
import { evolverOf, projection, type FoldEvent } from '../kit.ts';
import { JobCompleted, JobDeadlineMissed, JobPinnedV2, JobPlanned, JobPreempted, JobRejected, JobReleasedV2, JobStarted, JobSubmittedV2, PlanPublished, type DataOf } from '../../schemas/index.ts';

/**
 * The schedule read model: every job with its planned and actual run (for a Gantt chart), its
 * status, and the site plan last published. Folded from `compute.*` events; anything else
 * leaves the state as it is.
 */

export type JobClass = DataOf<typeof JobSubmittedV2>['class'];
export const JOB_CLASSES: ReadonlyArray<JobClass> = ['training', 'batch-inference', 'serving'];

export type JobStatus = 'submitted' | 'planned' | 'running' | 'paused' | 'completed';

export interface RunSegment {
  readonly start: string;
  /** Null while the job is still running. */
  readonly end: string | null;
  readonly kw: number;
}

/** Expected (or realised) cost and carbon, as the planner publishes them. */
export type Money = DataOf<typeof JobPlanned>['expected'];

export interface ScheduledJob {
  readonly jobId: string;
  readonly class: JobClass;
  readonly slaClass: string;
  readonly powerKw: number;
  readonly runtimeMin: number;
  readonly preemptible: boolean;
  readonly earliestStart: string;
  readonly deadline: string;
  readonly submittedAt: string | null;
  readonly status: JobStatus;
  /** The plan as it stands (the last `compute.job.planned`). */
  readonly plannedStart: string | null;
  readonly plannedEnd: string | null;
  readonly plannedSlots: ReadonlyArray<{ readonly start: string; readonly kw: number }>;
  /** Where the first plan put it: how far re-planning moved it. */
  readonly firstPlannedStart: string | null;
  readonly plans: number;
  readonly planId: string | null;
  readonly forecastId: string | null;
  readonly reason: string | null;
  readonly expected: Money | null;
  readonly runNow: Money | null;
  readonly pinned: boolean;
  readonly flexOrderIds: ReadonlyArray<string>;
  readonly actualStart: string | null;
  readonly actualEnd: string | null;
  readonly runs: ReadonlyArray<RunSegment>;
  readonly deadlineMissed: boolean;
  readonly late: boolean;
  /** On completion: what it used and cost on the realised signals. */
  readonly used: (Money & { readonly energyKwh: number }) | null;
  /**
   * The last plan found no room for it (it will miss its deadline as things stand): that
   * plan's start. Its planned place, if any, is an earlier plan's.
   */
  readonly unplacedSince: string | null;
  /** Id of the last ledger event about the job. */
  readonly lastEventId: string | null;
}

export interface SitePlan {
  readonly planId: string;
  readonly forecastId: string | null;
  readonly startsAt: string;
  readonly publishedAt: string | null;
  readonly trigger: string;
  readonly solverStatus: string;
  /** How the planner solved it (a full optimisation, an incremental repair, ...). */
  readonly solverMode: string | null;
  readonly jobs: number;
  readonly itKw: ReadonlyArray<number>;
  readonly siteKw: ReadonlyArray<number>;
  readonly batteryChargeKw: ReadonlyArray<number>;
  readonly batteryDischargeKw: ReadonlyArray<number>;
  readonly batterySocKwh: ReadonlyArray<number>;
  readonly importCapKw: ReadonlyArray<number>;
  readonly expected: Money;
  /** Jobs this plan found no room for: how many, and the ids it names (at most 100). */
  readonly unplaced: { readonly count: number; readonly jobIds: ReadonlyArray<string> } | null;
}

export interface ScheduleState {
  readonly jobs: BucketMap<ScheduledJob>;
  readonly plan: SitePlan | null;
  readonly plansPublished: number;
  readonly rejected: number;
  /** The latest rejections, newest last (bounded). */
  readonly recentRejections: ReadonlyArray<{ readonly jobId: string; readonly problems: ReadonlyArray<{ readonly field: string; readonly reason: string }> }>;
  /** Events about jobs never submitted (kept as a count; the ledger has the details). */
  readonly orphanEvents: number;
  /** Jobs whose `unplacedSince` is set, to clear when a plan that names every unplaced job does not name them. */
  readonly unplacedFlagged: ReadonlyArray<string>;
}

export const MAX_REJECTIONS_KEPT = 50;

export const initialSchedule: ScheduleState = { jobs: BucketMap.empty(), plan: null, plansPublished: 0, rejected: 0, recentRejections: [], orphanEvents: 0, unplacedFlagged: [] };

function closeRun(runs: ReadonlyArray<RunSegment>, at: string): ReadonlyArray<RunSegment> {
  const last = runs[runs.length - 1];
  if (!last || last.end !== null) return runs;
  return [...runs.slice(0, -1), { ...last, end: at }];
}

function update(s: ScheduleState, jobId: string, e: FoldEvent, f: (j: ScheduledJob) => ScheduledJob): ScheduleState {
  const j = s.jobs.get(jobId);
  if (!j) return { ...s, orphanEvents: s.orphanEvents + 1 };
  return { ...s, jobs: s.jobs.set(jobId, { ...f(j), lastEventId: e.id ?? j.lastEventId }) };
}

/**
 * Flag the jobs a plan names as unplaced (since the first plan in a row that did) and clear
 * those flagged before that it does not name, unless it names fewer than it counts: a job past
 * the names it lists may still be unplaced, so its flag is kept (and a job never named is
 * counted on the plan only). Not an update: the flag is about the plan, not an event of the job's.
 */
function markUnplaced(s: ScheduleState, now: { readonly count: number; readonly jobIds: ReadonlyArray<string> } | undefined, startsAt: string): ScheduleState {
  const listed = now?.jobIds ?? [];
  if (s.unplacedFlagged.length === 0 && listed.length === 0) return s;
  const named = new Set(listed);
  const complete = (now?.count ?? 0) <= listed.length;
  let jobs = s.jobs;
  for (const id of complete ? s.unplacedFlagged : []) {
    const j = jobs.get(id);
    if (j && !named.has(id) && j.unplacedSince !== null) jobs = jobs.set(id, { ...j, unplacedSince: null });
  }
  for (const id of named) {
    const j = jobs.get(id);
    if (j && j.unplacedSince === null) jobs = jobs.set(id, { ...j, unplacedSince: startsAt });
  }
  return { ...s, jobs, unplacedFlagged: complete ? listed : [...new Set([...s.unplacedFlagged, ...listed])] };
}

// The v2 definitions name the same types as v1 and add only who did it, which the schedule does not read.
const HANDLES = [JobSubmittedV2, JobRejected, JobPlanned, JobStarted, JobPreempted, JobCompleted, JobDeadlineMissed, JobPinnedV2, JobReleasedV2, PlanPublished] as const;

export const scheduleProjection = projection({
  name: 'schedule',
  handles: HANDLES,
  initial: initialSchedule,
  evolve(s: ScheduleState, e): ScheduleState {
    switch (e.type) {
      case 'compute.job.submitted': {
        const d = e.data;
        // A resubmission of the same job (replay, at-least-once) keeps what is known of it.
        if (s.jobs.has(d.jobId)) return s;
        const job: ScheduledJob = {
          jobId: d.jobId,
          class: d.class,
          slaClass: d.slaClass,
          powerKw: d.powerKw,
          runtimeMin: d.runtimeMin,
          preemptible: d.preemptible,
          earliestStart: d.earliestStart,
          deadline: d.deadline,
          submittedAt: e.time ?? null,
          status: 'submitted',
          plannedStart: null,
          plannedEnd: null,
          plannedSlots: [],
          firstPlannedStart: null,
          plans: 0,
          planId: null,
          forecastId: null,
          reason: null,
          expected: null,
          runNow: null,
          pinned: false,
          flexOrderIds: [],
          actualStart: null,
          actualEnd: null,
          runs: [],
          deadlineMissed: false,
          late: false,
          used: null,
          unplacedSince: null,
          lastEventId: e.id ?? null,
        };
        return { ...s, jobs: s.jobs.set(d.jobId, job) };
      }
      case 'compute.job.rejected':
        return { ...s, rejected: s.rejected + 1, recentRejections: [...s.recentRejections.slice(-(MAX_REJECTIONS_KEPT - 1)), { jobId: e.data.jobId, problems: e.data.problems }] };
      case 'compute.job.planned': {
        const d = e.data;
        return update(s, d.jobId, e, (j) => ({
          ...j,
          status: j.status === 'submitted' ? 'planned' : j.status,
          plannedStart: d.plannedStart,
          plannedEnd: d.plannedEnd,
          plannedSlots: d.slots,
          firstPlannedStart: j.firstPlannedStart ?? d.plannedStart,
          plans: j.plans + 1,
          planId: d.planId,
          forecastId: d.forecastId,
          reason: d.reason,
          expected: d.expected,
          runNow: d.runNow,
          pinned: d.pinned,
          flexOrderIds: d.flexOrderIds,
        }));
      }
      case 'compute.job.started': {
        const d = e.data;
        return update(s, d.jobId, e, (j) => ({ ...j, status: 'running', actualStart: j.actualStart ?? d.at, runs: [...closeRun(j.runs, d.at), { start: d.at, end: null, kw: d.kw }] }));
      }
      case 'compute.job.preempted': {
        const d = e.data;
        return update(s, d.jobId, e, (j) => ({ ...j, status: 'paused', runs: closeRun(j.runs, d.at) }));
      }
      case 'compute.job.completed': {
        const d = e.data;
        return update(s, d.jobId, e, (j) => ({
          ...j,
          status: 'completed',
          unplacedSince: null,
          actualEnd: d.at,
          runs: closeRun(j.runs, d.at),
          late: d.late,
          used: { energyKwh: d.energyKwh, costGbp: d.costGbp, carbonKg: d.carbonKg },
        }));
      }
      case 'compute.job.deadline-missed':
        return update(s, e.data.jobId, e, (j) => ({ ...j, deadlineMissed: true }));
      case 'compute.job.pinned':
        return update(s, e.data.jobId, e, (j) => ({ ...j, pinned: true }));
      case 'compute.job.released':
        return update(s, e.data.jobId, e, (j) => ({ ...j, pinned: false }));
      case 'compute.plan.published': {
        const d = e.data;
        const plan: SitePlan = {
          planId: d.planId,
          forecastId: d.forecastId,
          startsAt: d.startsAt,
          publishedAt: e.time ?? null,
          trigger: d.trigger,
          solverStatus: d.solver.status,
          solverMode: d.solver.mode,
          jobs: d.jobs,
          itKw: d.itKw,
          siteKw: d.siteKw,
          batteryChargeKw: d.batteryChargeKw,
          batteryDischargeKw: d.batteryDischargeKw,
          batterySocKwh: d.batterySocKwh,
          importCapKw: d.importCapKw,
          expected: d.expected,
          unplaced: d.unplaced ?? null,
        };
        return { ...markUnplaced(s, d.unplaced, d.startsAt), plan, plansPublished: s.plansPublished + 1 };
      }
      default: {
        const _never: never = e;
        return _never;
      }
    }
  },
});

/** Fold one event of any type; those the schedule does not read leave it as it is. */
export const evolveSchedule = evolverOf(scheduleProjection);
