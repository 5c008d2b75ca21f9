import { eventOf, type EventToAppend } from '../../core/runtime/index.ts';
import type { MessageOf } from '../../schemas/index.ts';
import { JOB_ID_PATTERN as JOB_ID, JobRejected } from '../../schemas/index.ts';
import { truncateText } from '../../core/runtime/index.ts';
import type { JobProblem } from './jobs/index.ts';

const MAX_PROBLEMS = 8;
/**
 * The most the data of a rejection may take, in bytes of JSON. With the envelope (ids of up
 * to 128 characters, hashes, a signature: at most ~730 bytes) a refusal stays within 1 KB.
 */
export const MAX_REJECTION_DATA_BYTES = 290;

const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

/**
 * A `compute.job.rejected` event: a bounded summary of a refusal, never the submission. The
 * job id is kept only when it is a valid one (anything else is what was refused); problems
 * are kept in order while they fit the budget, the first one always (its reason cut to fit).
 */
export function rejection(jobId: unknown, problems: ReadonlyArray<JobProblem>): EventToAppend<MessageOf<typeof JobRejected>> {
  const id = typeof jobId === 'string' && JOB_ID.test(jobId) ? jobId : '';
  const kept: Array<{ field: string; reason: string }> = [];
  for (const p of problems.slice(0, MAX_PROBLEMS)) {
    const field = truncateText(p.field || '(unknown)', 64);
    let reason = truncateText(p.reason || 'refused', 256);
    if (size({ jobId: id, problems: [...kept, { field, reason }] }) <= MAX_REJECTION_DATA_BYTES) {
      kept.push({ field, reason });
      continue;
    }
    if (kept.length > 0) break;
    // The first problem always stays: shorten its reason until it fits.
    while (reason.length > 1 && size({ jobId: id, problems: [{ field, reason }] }) > MAX_REJECTION_DATA_BYTES) {
      reason = truncateText(reason, Math.max(1, Array.from(reason).length - Math.max(1, size({ jobId: id, problems: [{ field, reason }] }) - MAX_REJECTION_DATA_BYTES)));
    }
    kept.push({ field, reason });
  }
  if (kept.length === 0) kept.push({ field: '(unknown)', reason: 'refused' });
  return eventOf(JobRejected, { jobId: id, problems: kept });
}
