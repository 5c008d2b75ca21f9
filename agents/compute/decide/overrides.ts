import type { Principal } from '../../../core/identity/index.ts';
import type { JobProblem } from '../jobs/index.ts';
import { OVERRIDE_ROLES } from '../job-authority.ts';
import type { JobRecord } from '../state.ts';
import { iso } from '../ledger-format.ts';

/**
 * How many pins and releases one job takes from its submitter. Each is an event on the job's
 * stream of up to ~9 KB (a reason of 2,048 code points, an operator name of 256), and a third
 * party may send commands at the site's whole command rate: without a bound, one key re-pinning
 * its own job grew the ledger by ~39 GB a day (and `GET /jobs/<id>` reads the whole stream).
 * A pin or a release that changes nothing is not recorded at all (decidePin, decideRelease);
 * this bounds the ones that do: with 10, a job's overrides are at most ~93 KB, and a submitter
 * still has room to pin, change its mind and release a few times. Counted from the job's own
 * stream (`JobRecord.overrides`, every pin and release recorded on it, operators' included), so
 * a replay decides the same; operators and admins are not held to it.
 */
export const DEFAULT_MAX_OVERRIDES_PER_JOB = 10;

/**
 * The refusal of a pin or release sent (its signed `time`) before the job's latest recorded one,
 * or null. A pin or release that changes nothing records nothing, so the site remembers it as
 * handled only until it restarts: re-sent then (a captured command, or a client retrying an old
 * one), it was decided again against the job as it had become, and undid a later pin (a
 * helper's review). One sent before the last change is stale whoever sends it.
 */
export function staleOverrideRefusal(r: JobRecord, sentAtMs: number): JobProblem | null {
  // The sender's clock against the site's: a pin and then a release from a sender 2 s behind
  // had the release refused (a helper's review). A replay needs the old command sent more than
  // this before the change it would undo.
  if (r.lastOverrideMs === null || !(sentAtMs < r.lastOverrideMs - OVERRIDE_CLOCK_SKEW_MS)) return null;
  return { field: 'time', reason: `sent at ${iso(sentAtMs)}, more than ${OVERRIDE_CLOCK_SKEW_MS / 1000} s before the job's latest pin or release (recorded ${iso(r.lastOverrideMs)}): an old command sent again, or a clock behind the site's; send a new one` };
}

/** How far a sender's clock may be behind the site's before its pin or release reads as older than the last one (ms). */
export const OVERRIDE_CLOCK_SKEW_MS = 30_000;

/** The refusal of a pin or release by `by` when the job has had `max` overrides, or null when it may have another. */
export function overrideLimitRefusal(r: JobRecord, by: Principal | undefined, max: number): JobProblem | null {
  if (by && OVERRIDE_ROLES.has(by.role)) return null;
  if (r.overrides < max) return null;
  // Short, the limit first: a rejection keeps ~290 bytes with the job id (rejection.ts).
  return { field: 'jobId', reason: `the job has had ${r.overrides} pins and releases, the most one job takes from its submitter (maxOverridesPerJob ${max}); an operator still may` };
}
