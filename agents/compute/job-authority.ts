import { OPERATOR_ROLES, type Principal } from '../../core/identity/index.ts';
import type { JobProblem } from './jobs/index.ts';
import type { JobRecord } from './state.ts';
import { HALF_HOUR_MS as SLOT_MS, nextHalfHourAfter } from '../../core/time/index.ts';
import { DONE_EPS_MIN } from './progress.ts';
import { iso } from './ledger-format.ts';


/** Roles that may pin or release anyone's job: the same that the runtime's command budget does not charge. */
export const OVERRIDE_ROLES: ReadonlySet<Principal['role']> = OPERATOR_ROLES;

/**
 * Who may override the plan for a job: the party that submitted it, or an operator. A job
 * whose submitter was not recorded (a v1 event) is left to operators. Returns the refusal,
 * or null when allowed.
 */
export function overrideRefusal(action: 'pin' | 'release', r: JobRecord, by: Principal | undefined): JobProblem | null {
  if (!by) return { field: 'source', reason: `an unauthenticated ${action} is refused: sign the command with a registered key` };
  if (OVERRIDE_ROLES.has(by.role)) return null;
  if (r.submittedBy && r.submittedBy.party === by.party) return null;
  const owner = r.submittedBy ? `its submitter ("${r.submittedBy.party}")` : 'its submitter (not recorded for this job)';
  return { field: 'source', reason: `party "${by.party}" (key "${by.keyId}", role ${by.role}) may not ${action} job "${r.job.id}": only ${owner} or an operator may` };
}

/**
 * A pin must leave the job able to finish: it is for a job that has not finished, on the
 * half-hour, not before the next half-hour the site plans (strictly after `nowMs`: the one
 * under way, even one starting now, is dispatched already), inside the job's window (no earlier than its release, no
 * later than its deadline minus the work left), and never on a running job that cannot be
 * preempted (it would be stopped and could not resume).
 */
export function pinProblems(r: JobRecord, atMs: number, by: Principal | undefined, nowMs: number): JobProblem[] {
  const who = overrideRefusal('pin', r, by);
  if (who) return [who];
  if (r.status === 'done') return [{ field: 'jobId', reason: 'the job has finished' }];
  const problems: JobProblem[] = [];
  if (r.status === 'running' && !r.job.preemptible) {
    problems.push({ field: 'jobId', reason: `the job is running (since ${r.startedMs === null ? 'this half-hour' : iso(r.startedMs)}) and is not preemptible: a pin would stop it and it could not resume` });
  }
  if (!Number.isFinite(atMs)) return [...problems, { field: 'startAt', reason: 'not a time' }];
  if (atMs % SLOT_MS !== 0) problems.push({ field: 'startAt', reason: 'jobs start on the half-hour; use a time ending :00 or :30' });
  // A pin to a half-hour gone by was recorded, answered ok and then never applied (a helper's
  // review): the planner takes pins from the half-hour it plans, and the job ran where it was.
  const firstPlannable = nextHalfHourAfter(nowMs);
  if (atMs < firstPlannable) problems.push({ field: 'startAt', reason: `before the next half-hour the site can plan (${iso(firstPlannable)}; it is ${iso(nowMs)})` });
  else if (atMs < r.job.earliestStartMs) problems.push({ field: 'startAt', reason: `before the job's release ${iso(r.job.earliestStartMs)}` });
  const leftMin = Math.max(0, r.job.runtimeMin - r.doneMin);
  const endMs = atMs + leftMin * 60_000;
  if (leftMin > DONE_EPS_MIN && endMs > r.job.deadlineMs) {
    const latest = Math.floor((r.job.deadlineMs - leftMin * 60_000) / SLOT_MS) * SLOT_MS;
    const window = latest >= r.job.earliestStartMs ? `its window is ${iso(r.job.earliestStartMs)} to ${iso(latest)}` : 'no half-hour start meets the deadline any more';
    problems.push({ field: 'startAt', reason: `the job would end at ${iso(endMs)}, after its deadline ${iso(r.job.deadlineMs)} (${Math.round(leftMin * 10) / 10} min of work left); ${window}` });
  }
  return problems;
}

/** Who may release: the same as who may pin. A release of a job not pinned is no refusal: it changes nothing (decideRelease). */
export function releaseProblems(r: JobRecord, by: Principal | undefined): JobProblem[] {
  const who = overrideRefusal('release', r, by);
  return who ? [who] : [];
}
