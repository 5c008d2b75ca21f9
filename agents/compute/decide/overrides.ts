import type { Principal } from '../../../core/identity/index.ts';
import type { JobProblem } from '../jobs/index.ts';
import { OVERRIDE_ROLES } from '../job-authority.ts';
import type { JobRecord } from '../state.ts';

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

/** The refusal of a pin or release by `by` when the job has had `max` overrides, or null when it may have another. */
export function overrideLimitRefusal(r: JobRecord, by: Principal | undefined, max: number): JobProblem | null {
  if (by && OVERRIDE_ROLES.has(by.role)) return null;
  if (r.overrides < max) return null;
  // Short, the limit first: a rejection keeps ~290 bytes with the job id (rejection.ts).
  return { field: 'jobId', reason: `the job has had ${r.overrides} pins and releases, the most one job takes from its submitter (maxOverridesPerJob ${max}); an operator still may` };
}
