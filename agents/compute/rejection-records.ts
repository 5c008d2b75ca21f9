import { CommandRefused, RateLimiter, type Decision, type RateLimit } from '../../core/runtime/index.ts';
import type { Principal } from '../../core/identity/index.ts';
import type { Logger } from '../../core/log/index.ts';
import type { ComputeOut } from './messages.ts';
import { JobRejected } from '../../schemas/index.ts';

/**
 * How many refused commands of one third party go on the ledger. Each is a small
 * `compute.job.rejected` event, so without a bound a registered tenant could grow the ledger
 * at its whole command rate with submissions it knows will fail. Past this rate a refusal is
 * still answered, with every problem, but as a `refused` reply (CommandRefused) that is not
 * recorded, as commands past the command rate are not. The site's own parties are not limited.
 */
export const DEFAULT_REJECTION_RECORDS: RateLimit = { perSecond: 1, burst: 50, maxSources: 10_000 };

const REJECTED = JobRejected.type;

export class RejectionRecords {
  private readonly limiter: RateLimiter;
  /** Parties whose refusals are going unrecorded now: logged once when it starts, forgotten when one is recorded again. */
  private readonly unrecorded = new Set<string>();

  constructor(readonly limit: RateLimit = DEFAULT_REJECTION_RECORDS) {
    this.limiter = new RateLimiter(limit);
  }

  /**
   * The decisions to record for a command of `by` at `nowMs`: as they are, unless they only
   * refuse it and `by`, a third party, is past its rate; then CommandRefused is thrown.
   */
  admit(decisions: Decision<ComputeOut>[], by: Principal | undefined, nowMs: number, log?: Pick<Logger, 'warn'>): Decision<ComputeOut>[] {
    if (by?.role !== 'third-party') return decisions;
    const events = decisions.flatMap((d) => d.events);
    const problems: Array<{ path: string; reason: string }> = [];
    for (const e of events) {
      if (e.type !== REJECTED) return decisions;
      for (const p of e.data.problems) problems.push({ path: p.field, reason: p.reason });
    }
    if (events.length === 0) return decisions;
    const d = this.limiter.take(by.party, nowMs, `party "${by.party.slice(0, 64)}"`);
    if (d.ok) {
      this.unrecorded.delete(by.party);
      return decisions;
    }
    // The operator hears of it once per spell, not once per refusal (that would be the flood again, in the log).
    if (!this.unrecorded.has(by.party) && this.unrecorded.size < (this.limit.maxSources ?? 10_000)) {
      this.unrecorded.add(by.party);
      log?.warn({ party: by.party, keyId: by.keyId }, 'refused commands of this party past its rate: answered, not recorded');
    }
    throw new CommandRefused(`refused: ${problems.map((p) => `${p.path}: ${p.reason}`).join('; ').slice(0, 512)} (not recorded: party "${by.party.slice(0, 64)}" has had ${this.limit.burst} refusals recorded, then ${this.limit.perSecond} a second; retry in ${d.retryAfterMs} ms once fixed)`, problems);
  }
}
