import { JOB_CLASSES, type JobClass, type JobStatus, type ScheduleState, type ScheduledJob } from './schedule.ts';

const ms = (iso: string | null): number => (iso === null ? NaN : Date.parse(iso));

/** When the job runs (or is planned to, or may first): what a Gantt chart sorts by. */
export function jobStartMs(j: ScheduledJob): number {
  const t = ms(j.actualStart ?? j.plannedStart ?? j.earliestStart);
  return Number.isNaN(t) ? Infinity : t;
}

/** The end of everything known about the job: its last run, its plan, or its deadline. */
export function jobEndMs(j: ScheduledJob): number {
  const ends = [ms(j.actualEnd), ms(j.plannedEnd), ...j.runs.map((r) => ms(r.end ?? r.start))].filter((x) => !Number.isNaN(x));
  return ends.length ? Math.max(...ends) : jobStartMs(j);
}

export function allJobs(s: ScheduleState): ScheduledJob[] {
  return [...s.jobs.values()].sort((a, b) => jobStartMs(a) - jobStartMs(b) || (a.jobId < b.jobId ? -1 : 1));
}

export interface GanttQuery {
  readonly fromMs: number;
  readonly toMs: number;
  /** At most this many rows; the rest are counted, not returned. */
  readonly limit?: number;
}

/** Jobs whose plan or runs touch [fromMs, toMs), in start order. */
export function ganttJobs(s: ScheduleState, q: GanttQuery): { readonly jobs: ScheduledJob[]; readonly total: number } {
  const hits = allJobs(s).filter((j) => jobStartMs(j) < q.toMs && jobEndMs(j) >= q.fromMs);
  return { jobs: q.limit === undefined ? hits : hits.slice(0, q.limit), total: hits.length };
}

export interface ScheduleSummary {
  readonly jobs: number;
  readonly byStatus: Readonly<Record<JobStatus, number>>;
  readonly byClass: Readonly<Record<JobClass, number>>;
  readonly rejected: number;
  readonly deadlineMisses: number;
  readonly late: number;
  /** Jobs whose first run started later than the first plan put them (moved by re-planning). */
  readonly moved: number;
  readonly completed: { readonly energyKwh: number; readonly costGbp: number; readonly carbonKg: number };
  readonly plansPublished: number;
}

export function scheduleSummary(s: ScheduleState): ScheduleSummary {
  const byStatus: Record<JobStatus, number> = { submitted: 0, planned: 0, running: 0, paused: 0, completed: 0 };
  const byClass = Object.fromEntries(JOB_CLASSES.map((c) => [c, 0])) as Record<JobClass, number>;
  let misses = 0, late = 0, moved = 0, energyKwh = 0, costGbp = 0, carbonKg = 0;
  for (const j of s.jobs.values()) {
    byStatus[j.status]++;
    if (j.class in byClass) byClass[j.class]++;
    if (j.deadlineMissed) misses++;
    if (j.late) late++;
    if (j.firstPlannedStart && j.actualStart && ms(j.actualStart) > ms(j.firstPlannedStart)) moved++;
    if (j.used) {
      energyKwh += j.used.energyKwh;
      costGbp += j.used.costGbp;
      carbonKg += j.used.carbonKg;
    }
  }
  return { jobs: s.jobs.size, byStatus, byClass, rejected: s.rejected, deadlineMisses: misses, late, moved, completed: { energyKwh, costGbp, carbonKg }, plansPublished: s.plansPublished };
}

/**
 * Jobs that missed their deadline or finished after it, each once: the SLA misses the results
 * table and the report state. (Apart from scheduleSummary, whose shape old ledgers' recorded
 * replays pin: test/fixtures/ledger-v1.)
 */
export function missedOrLate(s: ScheduleState): number {
  let n = 0;
  for (const j of s.jobs.values()) if (j.deadlineMissed || j.late) n++;
  return n;
}
