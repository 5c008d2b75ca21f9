import type { RateLimit } from '../runtime/rate-limit.ts';
import { FifoMap } from '../collections/fifo-map.ts';

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Token buckets of work rather than of requests: a request may spend many tokens (a read, one
 * per event it scans or verifies), and learns first how many it may spend, so it can stop
 * there. Pure apart from the time it is given.
 */
export class WorkLimiter {
  private readonly buckets: FifoMap<string, Bucket>;

  constructor(readonly limit: RateLimit) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new Error('work limit: perSecond must be > 0 and burst >= 1');
    this.buckets = new FifoMap(limit.maxSources ?? 10_000);
  }

  /** The whole tokens `who` may spend at `nowMs`. */
  available(who: string, nowMs: number): number {
    return Math.floor(this.refill(who, nowMs).tokens);
  }

  /** Spend `n` tokens of `who`'s (after asking `available`). */
  spend(who: string, n: number, nowMs: number): void {
    const b = this.refill(who, nowMs);
    b.tokens = Math.max(0, b.tokens - n);
  }

  /** Milliseconds until `who` has a whole token again. */
  retryAfterMs(who: string, nowMs: number): number {
    const b = this.refill(who, nowMs);
    return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) * 1000) / this.limit.perSecond);
  }

  private refill(who: string, nowMs: number): Bucket {
    let b = this.buckets.get(who);
    if (!b) {
      b = { tokens: this.limit.burst, atMs: nowMs };
      this.buckets.set(who, b);
    }
    const elapsed = Math.max(0, nowMs - b.atMs);
    b.tokens = Math.min(this.limit.burst, b.tokens + (elapsed * this.limit.perSecond) / 1000);
    b.atMs = Math.max(b.atMs, nowMs);
    return b;
  }
}
