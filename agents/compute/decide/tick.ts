import type { Decision, EventToAppend } from '../../../core/runtime/index.ts';
import { eventOf } from '../../../core/runtime/index.ts';
import { JobCompleted, JobDeadlineMissed, JobPreempted, JobStarted, SiteMetered } from '../../../schemas/index.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../../../core/time/index.ts';
import { completionsOfLastRead, meterHalfHour } from '../metering.ts';
import { isDone } from '../progress.ts';
import { iso, round } from '../ledger-format.ts';
import type { ComputeOut } from '../messages.ts';
import type { ComputeState } from '../state.ts';
import type { ComputeDeciderDeps } from './deps.ts';
import { planSite } from './plan-site.ts';

/** A job's own events in lifecycle order: completed/missed first, then planned, preempted, started. */
const LIFECYCLE: ReadonlyArray<ComputeOut['type']> = ['compute.job.completed', 'compute.job.deadline-missed', 'compute.job.planned', 'compute.job.preempted', 'compute.job.started'];

/**
 * The half-hour tick at `t`: meter the half-hour just ended as dispatched, complete the jobs
 * that finished, record deadlines missed, re-plan from `t` and dispatch its first half-hour
 * (starting and preempting jobs). Appends go meter, jobs (by id), plan: the plan last, so a
 * plan for `t` on the ledger means the tick is complete, and a tick cut short is run again.
 */
export async function decideTick(deps: ComputeDeciderDeps, s: ComputeState, t: number): Promise<Decision<ComputeOut>[]> {
  if (s.dispatch !== null && s.dispatch.slotStartMs >= t) return [];
  const out: Decision<ComputeOut>[] = [];
  const jobEvents = new Map<string, EventToAppend<ComputeOut>[]>();
  const addJobEvent = (jobId: string, e: EventToAppend<ComputeOut>) => {
    const list = jobEvents.get(jobId);
    if (list) list.push(e);
    else jobEvents.set(jobId, [e]);
  };

  // 1. Meter the half-hour that just ended; or, if its read is on the ledger from a tick cut
  // short, complete the jobs that read finished.
  const metered = meterHalfHour(deps.site, s, t);
  const doneAfter = metered?.doneAfter ?? new Map<string, number>();
  const socKwh = metered?.socKwh ?? s.socKwh;
  if (metered) {
    out.push({ stream: 'meter-main', expected: s.meterRevision < 0 ? 'no-stream' : s.meterRevision, events: [eventOf(SiteMetered, metered.read)] });
    for (const c of metered.completed) addJobEvent(c.jobId, eventOf(JobCompleted, c));
  }
  for (const c of completionsOfLastRead(s, t)) addJobEvent(c.jobId, eventOf(JobCompleted, c));

  // 2. Deadlines that have passed with work left.
  for (const id of s.active) {
    const r = s.jobs.get(id)!;
    const done = doneAfter.get(id) ?? r.doneMin;
    if (!r.missed && r.job.deadlineMs <= t && !isDone(done, r.job.runtimeMin)) {
      addJobEvent(id, eventOf(JobDeadlineMissed, { jobId: id, deadline: iso(r.job.deadlineMs), remainingMin: round(r.job.runtimeMin - done), feasibleOnArrival: r.feasibleOnArrival }));
    }
  }

  // 3. Re-plan from now and dispatch the next half-hour.
  const prev = t - SLOT_MS;
  const planned = await planSite(deps, s, { t, socKwh, doneAfter, trigger: 'half-hourly re-plan', dispatch: true });
  const running = new Set(s.dispatch?.slotStartMs === prev ? s.dispatch.runs.map((r) => r.jobId) : []);
  const nowRunning = new Set(planned.dispatch.runs.map((r) => r.jobId));
  for (const run of planned.dispatch.runs) {
    const r = s.jobs.get(run.jobId);
    // (Not again when a tick cut short already started it at this half-hour.)
    if (r && (r.status !== 'running' || !running.has(run.jobId)) && !(r.status === 'running' && r.runningSinceMs === t)) {
      addJobEvent(run.jobId, eventOf(JobStarted, { jobId: run.jobId, at: iso(t), kw: run.kw }));
    }
  }
  for (const id of running) {
    const r = s.jobs.get(id);
    const done = doneAfter.get(id) ?? r?.doneMin ?? 0;
    if (r && r.status === 'running' && !nowRunning.has(id) && !isDone(done, r.job.runtimeMin)) {
      addJobEvent(id, eventOf(JobPreempted, { jobId: id, at: iso(t), remainingMin: round(r.job.runtimeMin - done) }));
    }
  }
  for (const [jobId, e] of planned.jobPlanned) addJobEvent(jobId, e);
  // Job events in a stable order (by job id), so the ledger does not depend on map order.
  for (const jobId of [...jobEvents.keys()].sort()) {
    const r = s.jobs.get(jobId);
    const events = jobEvents.get(jobId)!;
    events.sort((a, b) => LIFECYCLE.indexOf(a.type) - LIFECYCLE.indexOf(b.type));
    out.push({ stream: `job-${jobId}`, ...(r ? { expected: r.revision } : {}), events });
  }
  out.push(planned.planDecision);
  return out;
}
