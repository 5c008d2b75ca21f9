import type { Decision } from '../../../core/runtime/index.ts';
import { eventOf } from '../../../core/runtime/index.ts';
import type { Principal } from '../../../core/identity/index.ts';
import type { DataOf } from '../../../schemas/index.ts';
import type { PinJob } from '../../../schemas/index.ts';
import { JobPinnedV2 } from '../../../schemas/index.ts';
import { overrideRefusal, pinProblems } from '../job-authority.ts';
import { iso } from '../ledger-format.ts';
import type { ComputeOut } from '../messages.ts';
import type { ComputeState } from '../state.ts';
import type { ComputeDeciderDeps } from './deps.ts';
import { overrideLimitRefusal, staleOverrideRefusal } from './overrides.ts';
import { refuse } from './refuse.ts';

export interface PinRequest {
  readonly data: DataOf<typeof PinJob>;
  /** Who sent it, as authenticated by the runtime: the submitter or an operator may pin. */
  readonly by: Principal | undefined;
  /** The Clock's time when the command is decided. */
  readonly nowMs: number;
  /** When its sender says it was sent (the command's signed `time`). */
  readonly sentAtMs: number;
}

/**
 * An override: the job starts at `startAt`, whatever the plan says, if its sender may and the job
 * can. A pin to the start the job is pinned to already changes nothing: it is answered (ok, no
 * events) and not recorded, its operator and reason neither, so re-sending it costs the ledger
 * nothing. A change is held to maxOverridesPerJob (decide/overrides.ts).
 */
export function decidePin(deps: Pick<ComputeDeciderDeps, 'maxOverridesPerJob'>, s: ComputeState, { data: d, by, nowMs, sentAtMs }: PinRequest): Decision<ComputeOut>[] {
  const r = s.jobs.get(d.jobId);
  if (!r) return refuse(d.jobId, [{ field: 'jobId', reason: s.retired.has(d.jobId) ? 'the job has finished' : 'no job with this id' }]);
  const who = overrideRefusal('pin', r, by);
  if (who) return refuse(d.jobId, [who]);
  const stale = staleOverrideRefusal(r, sentAtMs);
  if (stale) return refuse(d.jobId, [stale]);
  const at = Date.parse(d.startAt);
  if (r.status !== 'done' && r.pinnedStartMs !== null && r.pinnedStartMs === at) return [];
  const problems = pinProblems(r, at, by, nowMs);
  if (problems.length) return refuse(d.jobId, problems);
  const limit = overrideLimitRefusal(r, by, deps.maxOverridesPerJob);
  if (limit) return refuse(d.jobId, [limit]);
  return [{ stream: `job-${d.jobId}`, expected: r.revision, events: [eventOf(JobPinnedV2, { jobId: d.jobId, startAt: iso(at), operator: d.operator, reason: d.reason ?? '', by: by ?? null })] }];
}
