import { BucketMap } from './bucket-map.ts';

/**
 * The schedule read model: every job with its planned and actual run (for a Gantt chart), its
 * status, and the site plan last published. Folded from `compute.*` events; anything else
 * leaves the state as it is.
 */

export type JobClass = 'training' | 'batch-inference' | 'serving';
export const JOB_CLASSES: ReadonlyArray<JobClass> = ['training', 'batch-inference', 'serving'];

export type JobStatus = 'submitted' | 'planned' | 'running' | 'paused' | 'completed';

export interface RunSegment {
  readonly start: string;
  /** Null while the job is still running. */
  readonly end: string | null;
  readonly kw: number;
}

export interface Money {
  readonly costGbp: number;
  readonly carbonKg: number;
}

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
}

export interface FoldEvent {
  readonly type: string;
  readonly data: unknown;
  readonly time?: string;
  readonly id?: string;
}

export const MAX_REJECTIONS_KEPT = 50;

export const initialSchedule: ScheduleState = { jobs: BucketMap.empty(), plan: null, plansPublished: 0, rejected: 0, recentRejections: [], orphanEvents: 0 };

type D = Record<string, unknown>;

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

/** Fold one event. Never throws; unknown types leave the state unchanged. */
export function evolveSchedule(s: ScheduleState, e: FoldEvent): ScheduleState {
  if (!e.type.startsWith('compute.')) return s;
  const d = (e.data ?? {}) as D;
  const jobId = typeof d['jobId'] === 'string' ? d['jobId'] : '';
  switch (e.type) {
    case 'compute.job.submitted': {
      const prev = s.jobs.get(jobId);
      // A resubmission of the same job (replay, at-least-once) keeps what is known of it.
      if (prev) return s;
      const job: ScheduledJob = {
        jobId,
        class: d['class'] as JobClass,
        slaClass: String(d['slaClass']),
        powerKw: Number(d['powerKw']),
        runtimeMin: Number(d['runtimeMin']),
        preemptible: d['preemptible'] === true,
        earliestStart: String(d['earliestStart']),
        deadline: String(d['deadline']),
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
        lastEventId: e.id ?? null,
      };
      return { ...s, jobs: s.jobs.set(jobId, job) };
    }
    case 'compute.job.rejected': {
      const problems = Array.isArray(d['problems']) ? (d['problems'] as Array<{ field: string; reason: string }>) : [];
      return { ...s, rejected: s.rejected + 1, recentRejections: [...s.recentRejections.slice(-(MAX_REJECTIONS_KEPT - 1)), { jobId, problems }] };
    }
    case 'compute.job.planned':
      return update(s, jobId, e, (j) => ({
        ...j,
        status: j.status === 'submitted' ? 'planned' : j.status,
        plannedStart: String(d['plannedStart']),
        plannedEnd: String(d['plannedEnd']),
        plannedSlots: (d['slots'] as ScheduledJob['plannedSlots']) ?? [],
        firstPlannedStart: j.firstPlannedStart ?? String(d['plannedStart']),
        plans: j.plans + 1,
        planId: (d['planId'] as string) ?? null,
        forecastId: (d['forecastId'] as string | null) ?? null,
        reason: (d['reason'] as string) ?? null,
        expected: (d['expected'] as Money) ?? null,
        runNow: (d['runNow'] as Money) ?? null,
        pinned: d['pinned'] === true,
        flexOrderIds: (d['flexOrderIds'] as string[]) ?? [],
      }));
    case 'compute.job.started':
      return update(s, jobId, e, (j) => ({
        ...j,
        status: 'running',
        actualStart: j.actualStart ?? String(d['at']),
        runs: [...closeRun(j.runs, String(d['at'])), { start: String(d['at']), end: null, kw: Number(d['kw']) }],
      }));
    case 'compute.job.preempted':
      return update(s, jobId, e, (j) => ({ ...j, status: 'paused', runs: closeRun(j.runs, String(d['at'])) }));
    case 'compute.job.completed':
      return update(s, jobId, e, (j) => ({
        ...j,
        status: 'completed',
        actualEnd: String(d['at']),
        runs: closeRun(j.runs, String(d['at'])),
        late: d['late'] === true,
        used: { energyKwh: Number(d['energyKwh']), costGbp: Number(d['costGbp']), carbonKg: Number(d['carbonKg']) },
      }));
    case 'compute.job.deadline-missed':
      return update(s, jobId, e, (j) => ({ ...j, deadlineMissed: true }));
    case 'compute.job.pinned':
      return update(s, jobId, e, (j) => ({ ...j, pinned: true }));
    case 'compute.job.released':
      return update(s, jobId, e, (j) => ({ ...j, pinned: false }));
    case 'compute.plan.published': {
      const solver = (d['solver'] ?? {}) as D;
      const plan: SitePlan = {
        planId: String(d['planId']),
        forecastId: (d['forecastId'] as string | null) ?? null,
        startsAt: String(d['startsAt']),
        publishedAt: e.time ?? null,
        trigger: String(d['trigger']),
        solverStatus: String(solver['status']),
        solverMode: typeof solver['mode'] === 'string' ? solver['mode'] : null,
        jobs: Number(d['jobs']),
        itKw: (d['itKw'] as number[]) ?? [],
        siteKw: (d['siteKw'] as number[]) ?? [],
        batteryChargeKw: (d['batteryChargeKw'] as number[]) ?? [],
        batteryDischargeKw: (d['batteryDischargeKw'] as number[]) ?? [],
        batterySocKwh: (d['batterySocKwh'] as number[]) ?? [],
        importCapKw: (d['importCapKw'] as number[]) ?? [],
        expected: (d['expected'] as Money) ?? { costGbp: 0, carbonKg: 0 },
      };
      return { ...s, plan, plansPublished: s.plansPublished + 1 };
    }
    default:
      return s;
  }
}

export function projectSchedule(events: Iterable<FoldEvent>, from: ScheduleState = initialSchedule): ScheduleState {
  let s = from;
  for (const e of events) s = evolveSchedule(s, e);
  return s;
}
