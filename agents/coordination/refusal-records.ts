import { RateLimiter, type RateLimit } from '../../core/runtime/index.ts';
import type { RejectionData } from './intake.ts';

/**
 * How many refusals are recorded one by one, per who sent them. Every refusal is answered; each
 * recorded one is a `beckn.request.rejected` event, so without a bound anyone who can reach the
 * BPP, signing nothing, could grow the ledger by one event per junk request (4,000 in 19 s,
 * measured). Past the rate, refusals are counted, and the count goes on the ledger as one
 * summary before the next refusal of the same sender that is recorded (or when the doors close).
 */
export interface RefusalRecordLimits {
  /** Refusals of requests whose signature was not verified (no, bad or unknown signature; 404; 413), all senders together. */
  readonly unverified: RateLimit;
  /** Refusals of each verified signer (a registered BAP: it can be told, and its key revoked). */
  readonly perSigner: RateLimit;
}

export const DEFAULT_REFUSAL_RECORD_LIMITS: RefusalRecordLimits = {
  unverified: { perSecond: 0.2, burst: 20 },
  perSigner: { perSecond: 1, burst: 50, maxSources: 10_000 },
};

/** The bucket of every refusal whose sender was not verified. */
export const UNVERIFIED = '(unverified)';

interface Unrecorded {
  count: number;
  readonly firstMs: number;
  lastMs: number;
  lastReason: string;
}

export class RefusalRecords {
  private readonly unverified: RateLimiter;
  private readonly perSigner: RateLimiter;
  /** Refusals answered but not recorded, by sender (verified signers are registered keys, so few; bounded all the same). */
  private readonly unrecorded = new Map<string, Unrecorded>();

  constructor(private readonly limits: RefusalRecordLimits = DEFAULT_REFUSAL_RECORD_LIMITS) {
    this.unverified = new RateLimiter(limits.unverified);
    this.perSigner = new RateLimiter(limits.perSigner);
  }

  /**
   * What to record for a refusal of `signer`'s request (null: not verified) at `nowMs`: nothing
   * (over the rate: counted), the refusal, or the summary of those not recorded before it and then it.
   * `startedSuppressing` is true for the first refusal not recorded since the last summary (to log once).
   */
  admit(r: RejectionData, signer: string | null, nowMs: number): { readonly record: RejectionData[]; readonly startedSuppressing: boolean } {
    const key = signer ?? UNVERIFIED;
    const d = signer === null ? this.unverified.take(UNVERIFIED, nowMs) : this.perSigner.take(signer, nowMs);
    if (!d.ok) {
      const u = this.unrecorded.get(key);
      if (u) {
        u.count++;
        u.lastMs = nowMs;
        u.lastReason = r.reason;
        return { record: [], startedSuppressing: false };
      }
      // More senders than buckets is junk anyway: the oldest count is recorded rather than lost.
      const flushed = this.unrecorded.size >= (this.limits.perSigner.maxSources ?? 10_000) ? this.flushOldest() : [];
      this.unrecorded.set(key, { count: 1, firstMs: nowMs, lastMs: nowMs, lastReason: r.reason });
      return { record: flushed, startedSuppressing: true };
    }
    const u = this.unrecorded.get(key);
    if (!u) return { record: [r], startedSuppressing: false };
    this.unrecorded.delete(key);
    return { record: [this.summary(key, u), r], startedSuppressing: false };
  }

  /** Summaries of every count not yet recorded (the doors are closing), oldest first. */
  drain(): RejectionData[] {
    const out = [...this.unrecorded].map(([k, u]) => this.summary(k, u));
    this.unrecorded.clear();
    return out;
  }

  private flushOldest(): RejectionData[] {
    const [k, u] = this.unrecorded.entries().next().value!;
    this.unrecorded.delete(k);
    return [this.summary(k, u)];
  }

  private summary(key: string, u: Unrecorded): RejectionData {
    const limit = key === UNVERIFIED ? this.limits.unverified : this.limits.perSigner;
    const who = key === UNVERIFIED ? 'requests without a verified signature' : `requests signed by "${key.slice(0, 64)}"`;
    const span = u.firstMs === u.lastMs ? `at ${iso(u.firstMs)}` : `from ${iso(u.firstMs)} to ${iso(u.lastMs)}`;
    const reason = `${u.count} refusal${u.count === 1 ? '' : 's'} of ${who} ${span} answered but not recorded one by one (over ${limit.perSecond} a second, burst ${limit.burst}); the last: ${u.lastReason}`;
    return {
      action: '(none)',
      messageId: null,
      transactionId: null,
      bapId: key === UNVERIFIED ? null : key.slice(0, 256),
      httpStatus: 429,
      code: 'unrecorded-refusals',
      reason,
      path: null,
    };
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
