import type { EventToAppend } from '../../core/runtime/agent.ts';
import { truncateText } from '../../core/runtime/input-limits.ts';
import type { JobProblem } from './jobs/index.ts';

const JOB_ID = /^[A-Za-z0-9_:-]{1,128}$/;
const MAX_PROBLEMS = 8;

/**
 * A `compute.job.rejected` event: a bounded summary of a refusal, never the submission. The
 * job id is kept only when it is a valid one (anything else is what was refused), at most 8
 * problems, fields of 64 and reasons of 256 characters: well under 1 KB whatever was sent.
 */
export function rejection(jobId: unknown, problems: ReadonlyArray<JobProblem>): EventToAppend {
  const kept = problems.slice(0, MAX_PROBLEMS).map((p) => ({ field: truncateText(p.field || '(unknown)', 64), reason: truncateText(p.reason || 'refused', 256) }));
  if (problems.length > MAX_PROBLEMS) kept[MAX_PROBLEMS - 1] = { field: kept[MAX_PROBLEMS - 1]!.field, reason: `${truncateText(kept[MAX_PROBLEMS - 1]!.reason, 200)} (and ${problems.length - MAX_PROBLEMS} more)` };
  return { type: 'compute.job.rejected', data: { jobId: typeof jobId === 'string' && JOB_ID.test(jobId) ? jobId : '', problems: kept } };
}
