import type { Decision } from '../../../core/runtime/index.ts';
import { eventOf } from '../../../core/runtime/index.ts';
import type { Principal } from '../../../core/identity/index.ts';
import { STREAM_NAME } from '../../../core/envelope/index.ts';
import type { DataOf } from '../../../schemas/index.ts';
import { JobPlanned, type SubmitJob } from '../../../schemas/index.ts';
import { JobSubmittedV2 } from '../../../schemas/index.ts';
import { deadlineProblems, finishableProblems, validateJob, type Job, type JobProblem } from '../jobs/index.ts';
import { SLA_CEILING_ENV, slaAbove } from '../sla-ceiling.ts';
import { provisionalPlacement } from '../placement.ts';
import type { ComputeOut } from '../messages.ts';
import type { ComputeState } from '../state.ts';
import { RuntimeFeaturesError, type ComputeDeciderDeps, type RuntimePrediction } from './deps.ts';
import { refuse } from './refuse.ts';

export interface Submission {
  readonly data: DataOf<typeof SubmitJob>;
  /** Who sent it, as authenticated by the runtime. */
  readonly by: Principal | undefined;
  readonly nowMs: number;
}

/** The jobs of `party` not yet done, and their kW, each at the power it was accepted with: one pass over the open jobs. */
function openOf(s: ComputeState, party: string): { readonly jobs: number; readonly kw: number } {
  let jobs = 0;
  let kw = 0;
  for (const id of s.active) {
    const r = s.jobs.get(id);
    if (r?.submittedBy?.party !== party) continue;
    jobs++;
    kw += r.job.powerKw;
  }
  return { jobs, kw };
}

/**
 * The runtime model's prediction, or the problem with the features: a throw here used to fail
 * the whole decision, and the runtime retried the agent with back-off (~1.6 s) before giving
 * the command up, holding every other tenant's commands meanwhile, for one unknown job type.
 */
async function predict(deps: Pick<ComputeDeciderDeps, 'predictRuntime' | 'log'>, features: Readonly<Record<string, string | number>>): Promise<RuntimePrediction | { readonly problem: JobProblem } | null> {
  try {
    return (await deps.predictRuntime!(features)) ?? null;
  } catch (err) {
    if (err instanceof RuntimeFeaturesError) return { problem: { field: err.field, reason: err.reason } };
    // The model's own failure: its text is for the operator's log, not for the submitter.
    deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'runtime model failed on a submitted job\'s features; the job is refused');
    return { problem: { field: 'features', reason: 'the runtime model failed on these features; give runtimeMin' } };
  }
}

/** Round for a reason a person reads (sums of fractional kW would print long tails). */
const kwText = (kw: number): string => `${Math.round(kw * 1000) / 1000} kW`;

/** A job's field as the submit command names it (schemas/compute.ts SubmitJob). */
const SUBMIT_FIELD: Partial<Record<keyof Job, string>> = { id: 'jobId', earliestStartMs: 'earliestStart', deadlineMs: 'deadline' };
const submitField = (f: keyof Job): string => SUBMIT_FIELD[f] ?? f;

/**
 * A job submitted: refused on the intake stream with each problem's field named, or accepted
 * with its power and runtime resolved (from GPUs, from the runtime model) and given a
 * provisional place at once, in a new stream of its own.
 */
export async function decideSubmit(deps: Pick<ComputeDeciderDeps, 'site' | 'predictRuntime' | 'log' | 'maxOpenJobsPerParty' | 'maxOpenKwPerParty' | 'slaCeiling'>, s: ComputeState, input: Submission): Promise<Decision<ComputeOut>[]> {
  const { data: d, by } = input;
  const site = deps.site;
  if (!STREAM_NAME.test(`job-${d.jobId}`)) return refuse(d.jobId, [{ field: 'jobId', reason: 'use letters, digits, "_", ":" and "-" only (1 to 128 characters)' }]);
  if (s.jobs.has(d.jobId) || s.retired.has(d.jobId)) return refuse(d.jobId, [{ field: 'jobId', reason: 'a job with this id was already submitted' }]);
  if (by?.role === 'third-party' && deps.slaCeiling !== undefined) {
    const ceiling = deps.slaCeiling.parties.get(by.party) ?? deps.slaCeiling.default;
    if (slaAbove(d.slaClass, ceiling)) {
      return refuse(d.jobId, [{ field: 'slaClass', reason: `party "${by.party.slice(0, 64)}" may ask for service class ${ceiling} at most here (asked ${d.slaClass}; ${SLA_CEILING_ENV})` }]);
    }
  }
  const open = by?.role === 'third-party' ? openOf(s, by.party) : undefined;
  if (by && open) {
    if (open.jobs >= deps.maxOpenJobsPerParty) {
      return refuse(d.jobId, [{ field: 'source', reason: `party "${by.party.slice(0, 64)}" has ${open.jobs} jobs not yet done, the most one third party may have open here (maxOpenJobsPerParty); submit more as they finish` }]);
    }
  }
  const problems: JobProblem[] = [];
  const powerKw = d.powerKw ?? (d.gpuCount !== undefined ? d.gpuCount * site.perGpuKw : undefined);
  if (powerKw === undefined) problems.push({ field: 'powerKw', reason: 'give powerKw or gpuCount' });
  let runtime: { minutes: number; source: 'given' | 'predicted'; model: string | null } | undefined = d.runtimeMin !== undefined ? { minutes: d.runtimeMin, source: 'given', model: null } : undefined;
  if (!runtime) {
    const p = d.features && deps.predictRuntime ? await predict(deps, d.features) : null;
    // Runtimes are planned in whole minutes; round up, as under-prediction is what breaks deadlines.
    if (p && 'problem' in p) problems.push(p.problem);
    else if (p && !(Number.isFinite(p.minutes) && p.minutes > 0)) problems.push({ field: 'runtimeMin', reason: `the runtime model predicted ${String(p.minutes)} minutes from the features, which no job runs for: give runtimeMin` });
    else if (p) runtime = { minutes: Math.max(1, Math.ceil(p.minutes)), source: 'predicted', model: p.model };
    else problems.push({ field: 'runtimeMin', reason: d.features ? 'no runtime given and the runtime model could not predict one from the features' : 'give runtimeMin, or features for the runtime model' });
  }
  if (powerKw === undefined || !runtime || problems.length) return refuse(d.jobId, problems);
  const job: Job = {
    id: d.jobId,
    class: d.class,
    powerKw,
    ...(d.gpuCount !== undefined ? { gpuCount: d.gpuCount } : {}),
    runtimeMin: runtime.minutes,
    runtimeSource: runtime.source,
    earliestStartMs: Date.parse(d.earliestStart),
    deadlineMs: Date.parse(d.deadline),
    slaClass: d.slaClass,
    preemptible: d.preemptible,
  };
  const invalid = [...validateJob(job, site, submitField), ...deadlineProblems(job.deadlineMs, input.nowMs)];
  // Only a job sound on its own is held to the time left: one problem for one fault.
  if (invalid.length === 0) invalid.push(...finishableProblems(job, input.nowMs));
  if (invalid.length) return refuse(d.jobId, invalid);
  // The count limit alone let one tenant fill the site: 200 non-preemptible 50 kW jobs are the
  // whole 10 MW, and every other tenant's jobs then miss their deadlines. So a third party's open
  // jobs are also held to a power, counted with this job's resolved kW (from gpuCount too), after
  // validation so a malformed power gets its own reason. The site's own parties are not limited.
  if (by && open && deps.maxOpenKwPerParty !== undefined) {
    const openKw = open.kw;
    if (openKw + job.powerKw > deps.maxOpenKwPerParty) {
      return refuse(d.jobId, [{ field: 'powerKw', reason: `party "${by.party.slice(0, 64)}" has ${kwText(openKw)} of jobs not yet done; this job's ${kwText(job.powerKw)} would take it past ${kwText(deps.maxOpenKwPerParty)}, the most one third party may have open here (maxOpenKwPerParty, CACO_MAX_OPEN_KW_PER_PARTY); submit it as others finish` }]);
    }
  }
  const submitted = eventOf(JobSubmittedV2, {
    jobId: job.id,
    class: job.class,
    powerKw: job.powerKw,
    gpuCount: job.gpuCount ?? null,
    runtimeMin: job.runtimeMin,
    runtimeSource: runtime.source,
    runtimeModel: runtime.model,
    earliestStart: d.earliestStart,
    deadline: d.deadline,
    slaClass: job.slaClass,
    preemptible: job.preemptible,
    submittedBy: by ?? null,
  });
  const planned = eventOf(JobPlanned, provisionalPlacement(site, s, job, input.nowMs));
  return [{ stream: `job-${job.id}`, expected: 'no-stream', events: [submitted, planned] }];
}
