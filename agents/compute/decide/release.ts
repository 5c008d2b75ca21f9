import type { Decision } from '../../../core/runtime/index.ts';
import { eventOf } from '../../../core/runtime/index.ts';
import type { Principal } from '../../../core/identity/index.ts';
import type { DataOf } from '../../../schemas/index.ts';
import type { ReleaseJob } from '../../../schemas/index.ts';
import { JobReleasedV2 } from '../../../schemas/index.ts';
import { releaseProblems } from '../job-authority.ts';
import type { ComputeOut } from '../messages.ts';
import type { ComputeState } from '../state.ts';
import type { ComputeDeciderDeps } from './deps.ts';
import { overrideLimitRefusal, staleOverrideRefusal } from './overrides.ts';
import { refuse } from './refuse.ts';

export interface ReleaseRequest {
  readonly data: DataOf<typeof ReleaseJob>;
  /** Who sent it, as authenticated by the runtime: the submitter or an operator may release. */
  readonly by: Principal | undefined;
  /** When its sender says it was sent (the command's signed `time`). */
  readonly sentAtMs: number;
}

/**
 * A pin removed: the planner may move the job again. A release of a job that is not pinned
 * changes nothing: answered (ok, no events) and not recorded. A release that changes something
 * is held to maxOverridesPerJob (decide/overrides.ts).
 */
export function decideRelease(deps: Pick<ComputeDeciderDeps, 'maxOverridesPerJob'>, s: ComputeState, { data: d, by, sentAtMs }: ReleaseRequest): Decision<ComputeOut>[] {
  const r = s.jobs.get(d.jobId);
  if (!r) return refuse(d.jobId, [{ field: 'jobId', reason: s.retired.has(d.jobId) ? 'the job has finished' : 'no job with this id' }]);
  const problems = releaseProblems(r, by);
  if (problems.length) return refuse(d.jobId, problems);
  const stale = staleOverrideRefusal(r, sentAtMs);
  if (stale) return refuse(d.jobId, [stale]);
  if (r.pinnedStartMs === null) return [];
  const limit = overrideLimitRefusal(r, by, deps.maxOverridesPerJob);
  if (limit) return refuse(d.jobId, [limit]);
  return [{ stream: `job-${d.jobId}`, expected: r.revision, events: [eventOf(JobReleasedV2, { jobId: d.jobId, operator: d.operator, reason: d.reason ?? '', by: by ?? null })] }];
}
