import { CommandRefused, RateLimiter, type Decision, type RateLimit } from '../../core/runtime/index.ts';
import type { Principal } from '../../core/identity/index.ts';
import type { Logger } from '../../core/log/index.ts';
import type { ComputeOut } from './messages.ts';
import { JobRejected } from '../../schemas/index.ts';
import { rejection } from './rejection.ts';

/**
 * How many refused commands of one third party go on the ledger. Each is a small
 * `compute.job.rejected` event, so without a bound a registered tenant could grow the ledger
 * at its whole command rate with submissions it knows will fail. Past this rate a refusal is
 * still answered, with every problem, but as a `refused` reply (CommandRefused) that is not
 * recorded, as commands past the command rate are not. The site's own parties are not limited.
 * The refusals not recorded are counted, and the count goes on the ledger as one more
 * `compute.job.rejected` (field "(unrecorded refusals)") before that party's next recorded
 * refusal, so an audit of the ledger still shows that a party was refused, how often and when.
 */
export const DEFAULT_REJECTION_RECORDS: RateLimit = { perSecond: 1, burst: 50, maxSources: 10_000 };

const REJECTED = JobRejected.type;

/** The field a summary of unrecorded refusals names. */
export const UNRECORDED_FIELD = '(unrecorded refusals)';

interface Spell {
  count: number;
  readonly firstMs: number;
  lastMs: number;
  last: string;
}

export class RejectionRecords {
  private readonly limiter: RateLimiter;
  /** Parties whose refusals are going unrecorded now: logged once when it starts, counted, summarised when one is recorded again. */
  private readonly unrecorded = new Map<string, Spell>();

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
      const spell = this.unrecorded.get(by.party);
      if (spell === undefined) return decisions;
      this.unrecorded.delete(by.party);
      const [first, ...rest] = decisions;
      return [{ ...first!, events: [this.summary(by.party, spell), ...first!.events] }, ...rest];
    }
    const last = problems.map((p) => `${p.path}: ${p.reason}`).join('; ');
    const spell = this.unrecorded.get(by.party);
    if (spell !== undefined) {
      spell.count++;
      spell.lastMs = nowMs;
      spell.last = last;
    } else if (this.unrecorded.size < (this.limit.maxSources ?? 10_000)) {
      this.unrecorded.set(by.party, { count: 1, firstMs: nowMs, lastMs: nowMs, last });
      // The operator hears of it once per spell, not once per refusal (that would be the flood again, in the log).
      log?.warn({ party: by.party, keyId: by.keyId }, 'refused commands of this party past its rate: answered, not recorded');
    }
    throw new CommandRefused(`refused: ${problems.map((p) => `${p.path}: ${p.reason}`).join('; ').slice(0, 512)} (not recorded: party "${by.party.slice(0, 64)}" has had ${this.limit.burst} refusals recorded, then ${this.limit.perSecond} a second; retry in ${d.retryAfterMs} ms once fixed)`, problems);
  }

  /** Bounded like any rejection (at most 256 characters of reason): the count and the span first, the last refusal as far as it fits. */
  private summary(party: string, spell: Spell) {
    const span = spell.firstMs === spell.lastMs ? `at ${iso(spell.firstMs)}` : `from ${iso(spell.firstMs)} to ${iso(spell.lastMs)}`;
    const reason = `${spell.count} refusal${spell.count === 1 ? '' : 's'} of party "${party.slice(0, 64)}" ${span} answered, not recorded (over ${this.limit.perSecond} a second after ${this.limit.burst}); the last: ${spell.last}`;
    return rejection('', [{ field: UNRECORDED_FIELD, reason }]);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
