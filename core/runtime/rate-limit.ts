/**
 * Per-source token buckets: each source may send `burst` commands at once and `perSecond`
 * after that. Pure apart from the time it is given, so tests drive it with any clock.
 */
export interface RateLimit {
  /** Sustained commands per second per source. */
  readonly perSecond: number;
  /** Commands a source may send at once after being quiet. */
  readonly burst: number;
  /** Sources remembered at most; the least recently seen is forgotten first (a full bucket again). */
  readonly maxSources?: number;
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxSources: number;
  /**
   * Walks the buckets oldest first and is kept between evictions. A fresh `keys().next()` per
   * eviction would walk every entry deleted since the table was last rebuilt (V8 leaves them as
   * holes, and every take re-inserts its source), ~6 µs a take at 10,000 sources and ~17 at
   * 50,000: a sender cycling through addresses would make each request cost that. Every key
   * behind this iterator has been evicted or re-inserted (which puts it ahead again), so the
   * next key it yields is the least recently seen, and it passes each hole once.
   */
  private oldest: Iterator<string> | undefined;

  /** `unit`: what a token buys, in the refusal's words (`commands`, or `requests` for reads and HTTP). */
  constructor(
    readonly limit: RateLimit,
    private readonly unit = 'commands',
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new Error('rate limit: perSecond must be > 0 and burst >= 1');
    this.maxSources = limit.maxSources ?? 10_000;
  }

  /** Take one token for `source` at `nowMs`, or say why not (naming it as `label`) and when to retry. */
  take(source: string, nowMs: number, label = `source "${source.slice(0, 64)}"`): RateDecision {
    const b = this.bucket(source, nowMs);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    const retryAfterMs = this.retryOf(b);
    return { ok: false, reason: `rate limit: ${label} may send ${this.limit.perSecond} ${this.unit} a second (burst ${this.limit.burst}); retry in ${retryAfterMs} ms`, retryAfterMs };
  }

  /**
   * The whole tokens `source` may spend at `nowMs`, for work that costs many (a read, one per
   * event it scans or verifies): ask first, do at most that much, then `spend` what it cost.
   */
  available(source: string, nowMs: number): number {
    return Math.floor(this.bucket(source, nowMs).tokens);
  }

  /** Spend `n` of `source`'s tokens (after asking `available`). */
  spend(source: string, n: number, nowMs: number): void {
    const b = this.bucket(source, nowMs);
    b.tokens = Math.max(0, b.tokens - n);
  }

  /** Milliseconds until `source` has a whole token again. */
  retryAfterMs(source: string, nowMs: number): number {
    return this.retryOf(this.bucket(source, nowMs));
  }

  /** `source`'s bucket refilled to `nowMs`, made the most recently seen. */
  private bucket(source: string, nowMs: number): Bucket {
    let b = this.buckets.get(source);
    if (b) this.buckets.delete(source);
    else {
      b = { tokens: this.limit.burst, atMs: nowMs };
      if (this.buckets.size >= this.maxSources) this.evictOldest();
    }
    // Map order is insertion order: re-inserting keeps the most recently seen last.
    this.buckets.set(source, b);
    const elapsed = Math.max(0, nowMs - b.atMs);
    b.tokens = Math.min(this.limit.burst, b.tokens + (elapsed * this.limit.perSecond) / 1000);
    b.atMs = Math.max(b.atMs, nowMs);
    return b;
  }

  private retryOf(b: Bucket): number {
    return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) * 1000) / this.limit.perSecond);
  }

  get size(): number {
    return this.buckets.size;
  }

  private evictOldest(): void {
    let next = this.oldest?.next();
    if (!next || next.done) {
      this.oldest = this.buckets.keys();
      next = this.oldest.next();
    }
    if (!next.done) this.buckets.delete(next.value);
  }
}
