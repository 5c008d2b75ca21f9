/**
 * How much of the event loop one outside party may take by way of the JSON Schemas it announced:
 * the milliseconds spent compiling them and checking its facts against them. Those run
 * synchronously on the loop the site's agents, relay and gateway share, and the schema is the
 * party's own (a `pattern` such as `^(a+)+$` makes every check run to its time limit), so the
 * time is charged to the party, not only bounded per check.
 *
 * A bucket per party that holds `ms` and fills at `ms` per `windowMs`; a party may start work
 * while its bucket holds anything, and what the work took is taken out afterwards, into debt if
 * it cost more than was left. So over any stretch a party uses at most `ms` plus what one window
 * refills, however its requests are timed. Pure apart from the times it is given.
 */
export interface SchemaCpuBudget {
  /** Milliseconds of schema work a party may use at once, and per `windowMs` after that. */
  readonly ms: number;
  /** The window the budget refills over, in milliseconds. */
  readonly windowMs: number;
}

/** One second of schema work a minute per party (1.7 % of a core), the whole second at once. */
export const DEFAULT_SCHEMA_CPU_BUDGET: SchemaCpuBudget = { ms: 1000, windowMs: 60_000 };

/**
 * The site's own schema time, for compiling again a schema a party had compiled before and that
 * was evicted from the validators kept since (by other parties' schemas as much as its own): the
 * party is not charged for it, up to 5 s a minute for all parties together (8 % of a core, when
 * more schemas are in use than are kept). Past it such a compile is charged to the party again,
 * so that however many schemas are in use, the time they take stays bounded.
 */
export const REFILL_CPU_BUDGET: SchemaCpuBudget = { ms: 5000, windowMs: 60_000 };

/** Parties remembered at most; past it those whose buckets are full (who owe nothing) are forgotten. */
const MAX_PARTIES = 10_000;

export class SchemaCpuMeter {
  private readonly parties = new Map<string, { balance: number; atMs: number }>();

  constructor(readonly budget: SchemaCpuBudget) {
    if (!(budget.ms > 0) || !(budget.windowMs > 0)) throw new Error('schema CPU budget: ms and windowMs must be > 0');
  }

  /** Whether `party` may start schema work at `nowMs`; if not, what it has used and when it may again. */
  check(party: string, nowMs: number): { ok: true } | { ok: false; owedMs: number; retryAfterMs: number } {
    const b = this.bucket(party, nowMs);
    if (b.balance > 0) return { ok: true };
    const owedMs = -b.balance;
    return { ok: false, owedMs, retryAfterMs: Math.max(1, Math.ceil(((owedMs + 1) * this.budget.windowMs) / this.budget.ms)) };
  }

  /** Take `ms` of schema work out of `party`'s bucket (into debt if it had less). */
  charge(party: string, ms: number, nowMs: number): void {
    const b = this.bucket(party, nowMs);
    b.balance -= Math.max(0, ms);
    if (this.parties.size > MAX_PARTIES) this.forgetFull(nowMs);
  }

  /** What `party` has left at `nowMs` (negative: what it owes). */
  balance(party: string, nowMs: number): number {
    return this.bucket(party, nowMs).balance;
  }

  private bucket(party: string, nowMs: number): { balance: number; atMs: number } {
    let b = this.parties.get(party);
    if (!b) {
      b = { balance: this.budget.ms, atMs: nowMs };
      this.parties.set(party, b);
      return b;
    }
    if (nowMs > b.atMs) {
      b.balance = Math.min(this.budget.ms, b.balance + ((nowMs - b.atMs) * this.budget.ms) / this.budget.windowMs);
      b.atMs = nowMs;
    }
    return b;
  }

  private forgetFull(nowMs: number): void {
    for (const party of [...this.parties.keys()]) if (this.bucket(party, nowMs).balance >= this.budget.ms) this.parties.delete(party);
  }
}
