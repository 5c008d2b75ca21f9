import { ConfigError, envValue } from '../errors/errors.ts';

/**
 * What one party may do over a sliding window: how many (ledger events the gateway appends for
 * it, commands the runtime takes from it, requests the BPP accepts from a BAP) and how many
 * bytes. Shared by the gateway's ledger budget (core/gateway/ledger-budget.ts), the runtime's
 * command budget (command-budget.ts) and the BPP's budget per BAP (agents/coordination/intake.ts).
 */
export interface UsageBudget {
  readonly count: number;
  readonly bytes: number;
  /** The window, in milliseconds (default 24 h). */
  readonly windowMs?: number;
}

export const DAY_MS = 24 * 60 * 60 * 1000;
/** The window is counted in this many slots: an item counts until its slot has left the window (at most one slot longer). */
const SLOTS = 24;

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3 };

/** A window as a refusal names it: `24 h`, or seconds when it is not whole hours (a test's). */
export function windowText(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${Math.round(ms / 1000)} s`;
}

/** How a budget variable is described when its value is refused. */
export interface BudgetWords {
  /** What is counted, plural: `events`, `commands`. */
  readonly noun: string;
  /** Who does what, before `in 24 h`: `a party may add to the ledger`. */
  readonly what: string;
  /** A good value: `50000:64MiB`. */
  readonly example: string;
}

/**
 * A `<count>:<bytes>` budget per 24 h from `env[name]`, bytes with an optional unit (`64MiB`,
 * `100MB`); `off` for none; unset or empty for `fallback`. A bad value is a ConfigError naming
 * the variable.
 */
export function usageBudgetFromEnv(env: Readonly<Record<string, string | undefined>>, name: string, fallback: UsageBudget, words: BudgetWords): UsageBudget | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return fallback;
  if (raw.trim().toLowerCase() === 'off') return undefined;
  const m = /^\s*(\d{1,12})\s*:\s*(\d{1,15})\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? UNITS[m[3]!.toLowerCase()] : undefined;
  const count = m ? Number(m[1]) : NaN;
  const bytes = m && unit ? Number(m[2]) * unit : NaN;
  if (!m || unit === undefined || !(count >= 1) || !(bytes >= 1024) || !Number.isSafeInteger(bytes)) {
    throw new ConfigError(name, `"${raw}" must be <${words.noun}>:<bytes> ${words.what} in 24 h, e.g. ${words.example} (${words.noun} at least 1, bytes at least 1KiB), or off`);
  }
  return { count, bytes };
}

/** Whether one more item fits a budget; if not, the use so far and in how long it will. */
export type UsageCheck = { ok: true } | { ok: false; used: { count: number; bytes: number }; retryAfterMs: number };

/** One party's use of its budget: a count and bytes by slot of the window. Pure. */
export class PartyUsage {
  /** Slot number → use in it, oldest first; only slots still in the window are kept. */
  private readonly slots: { slot: number; count: number; bytes: number }[] = [];

  constructor(private readonly budget: UsageBudget) {}

  private get slotMs(): number {
    return Math.max(1, Math.floor((this.budget.windowMs ?? DAY_MS) / SLOTS));
  }

  /** Count one item of `bytes` at `atMs`. */
  add(atMs: number, bytes: number): void {
    const slot = Math.floor(atMs / this.slotMs);
    const last = this.slots[this.slots.length - 1];
    if (last && last.slot === slot) {
      last.count++;
      last.bytes += bytes;
    } else if (!last || last.slot < slot) {
      this.slots.push({ slot, count: 1, bytes });
      // Learnt from a long stream, in order: slots that have left the window go as it moves.
      this.expire(atMs);
    } else {
      // Out of order (a clock set back, another gateway's event): counted in the slot it names.
      const s = this.slots.find((x) => x.slot === slot);
      if (s) {
        s.count++;
        s.bytes += bytes;
      } else {
        this.slots.push({ slot, count: 1, bytes });
        this.slots.sort((a, b) => a.slot - b.slot);
      }
    }
  }

  /** What was counted in the window ending at `nowMs`. */
  used(nowMs: number): { count: number; bytes: number } {
    this.expire(nowMs);
    let count = 0;
    let bytes = 0;
    for (const s of this.slots) {
      count += s.count;
      bytes += s.bytes;
    }
    return { count, bytes };
  }

  /** Whether one more item of `bytes` fits at `nowMs`; if not, the use so far and when it will. */
  check(nowMs: number, bytes: number): UsageCheck {
    const used = this.used(nowMs);
    const fits = (u: { count: number; bytes: number }) => u.count + 1 <= this.budget.count && u.bytes + bytes <= this.budget.bytes;
    if (fits(used)) return { ok: true };
    // The first slot whose leaving the window makes room.
    const left = { ...used };
    for (const s of this.slots) {
      left.count -= s.count;
      left.bytes -= s.bytes;
      if (fits(left)) return { ok: false, used, retryAfterMs: Math.max(1, (s.slot + SLOTS) * this.slotMs - nowMs) };
    }
    return { ok: false, used, retryAfterMs: this.budget.windowMs ?? DAY_MS };
  }

  private expire(nowMs: number): void {
    const first = Math.floor(nowMs / this.slotMs) - SLOTS + 1;
    let drop = 0;
    while (drop < this.slots.length && this.slots[drop]!.slot < first) drop++;
    if (drop > 0) this.slots.splice(0, drop);
  }
}

/**
 * Every key's use of one budget (a party's, a BAP's), in memory: a restart starts every key
 * afresh. Pure: the time is the caller's, so one clock serves the check and the charge.
 */
export class KeyedUsage {
  private readonly usage = new Map<string, PartyUsage>();
  private lastSweepMs = -Infinity;

  constructor(readonly budget: UsageBudget) {}

  get windowMs(): number {
    return this.budget.windowMs ?? DAY_MS;
  }

  /** Whether one more item of `bytes` from `key` fits at `nowMs`. Charges nothing: `add` does, so a caller may charge only what it went on to take. */
  check(key: string, nowMs: number, bytes: number): UsageCheck {
    this.sweep(nowMs);
    return this.of(key).check(nowMs, bytes);
  }

  /** Charge one item of `bytes` to `key` at `nowMs`. */
  add(key: string, nowMs: number, bytes: number): void {
    this.of(key).add(nowMs, bytes);
  }

  /** Keys whose use is held (a test counts them: quiet ones are forgotten). */
  get size(): number {
    return this.usage.size;
  }

  private of(key: string): PartyUsage {
    let u = this.usage.get(key);
    if (!u) {
      u = new PartyUsage(this.budget);
      this.usage.set(key, u);
    }
    return u;
  }

  // The callers' keys are registered ones (parties, BAPs: bounded by the registry or the key
  // directory), but one that has gone quiet for a window holds nothing worth keeping: forgotten,
  // at most once per slot of the window so a check stays cheap.
  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < this.windowMs / SLOTS) return;
    this.lastSweepMs = nowMs;
    for (const [key, u] of this.usage) if (u.used(nowMs).count === 0) this.usage.delete(key);
  }
}
