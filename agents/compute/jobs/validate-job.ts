import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { JOB_CLASSES, SLA_CLASSES, type Job, type SiteConfig } from './job.ts';

/** Why a job cannot be accepted: the field at fault and a reason a submitter can act on. */
export interface JobProblem {
  readonly field: string;
  readonly reason: string;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The longest runtime the site plans: 30 days. A job's planned event lists each half-hour of
 * its run, so a runtime without a bound (a few bytes of a command) would be a ledger event, and
 * a list in memory, without a bound: 1.5 MB at two years, more than memory at 8,000.
 */
export const MAX_RUNTIME_MIN = 30 * 24 * 60;

/**
 * The least power and runtime a job may ask for: 1 W and a minute. Anything above 0 let through
 * 5e-324 kW (a denormal: half a slot of it rounds to 0 kWh, every on-time slot of the job cost
 * 0/0 in the plan, HiGHS refused the model and every re-plan of the site fell back to the greedy
 * one until that job's deadline), and a runtime of seconds counted as done at once, so the job
 * sat open for good, neither planned nor completed.
 */
export const MIN_POWER_KW = 0.001;
export const MIN_RUNTIME_MIN = 1;

/**
 * How far ahead of now a deadline may lie: 90 days, room for the longest runtime (30 days) with
 * as much again of slack and more. A job due in the year 9999 would otherwise be open, in the
 * compute agent's state and in every re-plan, for good.
 */
export const MAX_DEADLINE_AHEAD_DAYS = 90;

/**
 * Check a submitted job's deadline against now (the Clock's time when it arrives): one already
 * past could never be met, and one beyond MAX_DEADLINE_AHEAD_DAYS is refused. `field` is the
 * name the submitter used. Pure; an empty list means the deadline can be planned.
 */
export function deadlineProblems(deadlineMs: number, nowMs: number, field = 'deadline', now = 'now'): JobProblem[] {
  if (!isFiniteNumber(deadlineMs) || !isFiniteNumber(nowMs)) return [];
  if (deadlineMs <= nowMs) return [{ field, reason: `deadline ${iso(deadlineMs)} is not after ${now} (${iso(nowMs)}): the job could never finish on time` }];
  const latest = nowMs + MAX_DEADLINE_AHEAD_DAYS * 86_400_000;
  if (deadlineMs > latest) return [{ field, reason: `deadline ${iso(deadlineMs)} is more than ${MAX_DEADLINE_AHEAD_DAYS} days after ${now} (${iso(nowMs)}); the site takes jobs due by ${iso(latest)}` }];
  return [];
}

/**
 * Check that a job can still finish by its deadline from the earliest start the site can give
 * it: the first half-hour at or after both now and its release, for jobs are planned and started
 * on the half-hour. The window from release to deadline (validateJob) may hold the runtime while
 * the time left of it, or the part from the next half-hour, does not: such a job was accepted as
 * a certain miss, counted against the site and re-planned until its deadline. Pure; an empty
 * list means it can finish. A deadline already past is deadlineProblems'.
 */
export function finishableProblems(job: Pick<Job, 'runtimeMin' | 'earliestStartMs' | 'deadlineMs'>, nowMs: number): JobProblem[] {
  if (![job.runtimeMin, job.earliestStartMs, job.deadlineMs, nowMs].every(isFiniteNumber) || nowMs >= job.deadlineMs) return [];
  const from = Math.max(nowMs, job.earliestStartMs);
  const start = Math.ceil(from / HALF_HOUR_MS) * HALF_HOUR_MS;
  const finish = start + job.runtimeMin * 60_000;
  if (finish <= job.deadlineMs + 1e-6) return [];
  // Short: a rejection's data is bounded (290 bytes with the job id), and this must fit.
  return [{ field: 'deadline', reason: `jobs start on the half-hour: the earliest here is ${iso(start)}, and ${job.runtimeMin} min from it end at ${iso(finish)}, after the deadline ${iso(job.deadlineMs)}` }];
}

/**
 * Check a job against the site. Pure; an empty list means the job can be planned. Every
 * problem is reported, not only the first, so a submitter fixes them in one go, under the
 * name the submitter gave the field (`fieldName`: a submit's `deadline`, a CSV's
 * `deadline_utc`), not the job's own (`deadlineMs`), which a client cannot map back.
 */
export function validateJob(job: Job, site: SiteConfig, fieldName: (field: keyof Job) => string = (f) => f): JobProblem[] {
  const out: JobProblem[] = [];
  const p = (field: keyof Job, reason: string) => out.push({ field: fieldName(field), reason });

  if (typeof job.id !== 'string' || job.id.trim() === '') p('id', 'must be a non-empty string');
  if (!(JOB_CLASSES as readonly string[]).includes(job.class)) p('class', `must be one of ${JOB_CLASSES.join(', ')}`);
  if (!(SLA_CLASSES as readonly string[]).includes(job.slaClass)) p('slaClass', `must be one of ${SLA_CLASSES.join(', ')}`);
  if (typeof job.preemptible !== 'boolean') p('preemptible', 'must be true or false');

  if (!isFiniteNumber(job.powerKw)) p('powerKw', 'must be a finite number');
  else if (job.powerKw < 0) p('powerKw', `must not be negative (got ${job.powerKw} kW)`);
  else if (job.powerKw < MIN_POWER_KW) p('powerKw', `must be at least ${MIN_POWER_KW} kW (1 W; got ${job.powerKw} kW)`);
  else if (job.powerKw > site.itCapacityKw) p('powerKw', `${job.powerKw} kW is above the site's IT capacity of ${site.itCapacityKw} kW`);

  if (job.gpuCount !== undefined) {
    if (!Number.isInteger(job.gpuCount) || job.gpuCount <= 0) p('gpuCount', 'must be a positive integer');
    else if (isFiniteNumber(job.powerKw)) {
      const perGpu = job.perGpuKw ?? site.perGpuKw;
      const expected = job.gpuCount * perGpu;
      if (Math.abs(expected - job.powerKw) > 1e-6 * Math.max(1, expected)) {
        p('powerKw', `${job.powerKw} kW does not match gpuCount × perGpuKw = ${job.gpuCount} × ${perGpu} = ${expected} kW`);
      }
    }
  }
  if (job.perGpuKw !== undefined && (!isFiniteNumber(job.perGpuKw) || job.perGpuKw <= 0)) p('perGpuKw', 'must be above 0 kW');

  if (!isFiniteNumber(job.runtimeMin)) p('runtimeMin', 'must be a finite number');
  else if (job.runtimeMin < MIN_RUNTIME_MIN) p('runtimeMin', `must be at least ${MIN_RUNTIME_MIN} minute (got ${job.runtimeMin})`);
  else if (job.runtimeMin > MAX_RUNTIME_MIN) p('runtimeMin', `runtime ${job.runtimeMin} min is above the longest runtime the site plans (${MAX_RUNTIME_MIN} min, 30 days)`);

  const releaseOk = isFiniteNumber(job.earliestStartMs);
  const deadlineOk = isFiniteNumber(job.deadlineMs);
  if (!releaseOk) p('earliestStartMs', 'must be a finite time in ms');
  if (!deadlineOk) p('deadlineMs', 'must be a finite time in ms');
  if (releaseOk && deadlineOk) {
    if (job.deadlineMs <= job.earliestStartMs) {
      p('deadlineMs', `deadline ${iso(job.deadlineMs)} is not after the release ${iso(job.earliestStartMs)}`);
    } else if (isFiniteNumber(job.runtimeMin) && job.runtimeMin > 0) {
      const windowMin = (job.deadlineMs - job.earliestStartMs) / 60_000;
      if (job.runtimeMin > windowMin + 1e-9) {
        p('runtimeMin', `runtime ${job.runtimeMin} min is longer than the window from release to deadline (${round(windowMin)} min)`);
      }
    }
  }
  if (job.class === 'serving' && job.preemptible === true) p('preemptible', 'serving load is base load and cannot be preempted');
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();
const round = (v: number) => Math.round(v * 100) / 100;
