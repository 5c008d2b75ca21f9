import { ConfigError } from '../errors/errors.ts';

/**
 * What one outside party may add to the ledger through the gateway (its announcements and
 * facts, in its stream `ext-<name>`) over a sliding window: events and bytes (each event's
 * stored JSON, envelope and signature included).
 */
export interface PartyBudget {
  readonly events: number;
  readonly bytes: number;
  /** The window, in milliseconds (default 24 h). */
  readonly windowMs?: number;
}

export const DEFAULT_PARTY_BUDGET: PartyBudget = { events: 50_000, bytes: 64 * 1024 * 1024 };
export const PARTY_BUDGET_ENV = 'CACO_GATEWAY_PARTY_BUDGET';
const DAY_MS = 24 * 60 * 60 * 1000;
/** The window is counted in this many slots: an event counts until its slot has left the window (at most one slot longer). */
const SLOTS = 24;

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3 };

/**
 * `CACO_GATEWAY_PARTY_BUDGET` = `<events>:<bytes>` a party may add in 24 h, bytes with an
 * optional unit (`64MiB`, `100MB`); `off` for none. Default `50000:64MiB`. A bad value names the variable.
 */
export function partyBudgetFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): PartyBudget | undefined {
  const raw = env[PARTY_BUDGET_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_PARTY_BUDGET;
  if (raw.trim().toLowerCase() === 'off') return undefined;
  const m = /^\s*(\d{1,12})\s*:\s*(\d{1,15})\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? UNITS[m[3]!.toLowerCase()] : undefined;
  const events = m ? Number(m[1]) : NaN;
  const bytes = m && unit ? Number(m[2]) * unit : NaN;
  if (!m || unit === undefined || !(events >= 1) || !(bytes >= 1024) || !Number.isSafeInteger(bytes)) {
    throw new ConfigError(PARTY_BUDGET_ENV, `"${raw}" must be <events>:<bytes> a party may add to the ledger in 24 h, e.g. 50000:64MiB (events at least 1, bytes at least 1KiB), or off`);
  }
  return { events, bytes };
}

/** One party's use of its budget: events and bytes by slot of the window. Pure. */
export class PartyUsage {
  /** Slot number → use in it, oldest first; only slots still in the window are kept. */
  private readonly slots: { slot: number; events: number; bytes: number }[] = [];

  constructor(private readonly budget: PartyBudget) {}

  private get slotMs(): number {
    return Math.max(1, Math.floor((this.budget.windowMs ?? DAY_MS) / SLOTS));
  }

  /** Count an event of `bytes` added at `atMs`. */
  add(atMs: number, bytes: number): void {
    const slot = Math.floor(atMs / this.slotMs);
    const last = this.slots[this.slots.length - 1];
    if (last && last.slot === slot) {
      last.events++;
      last.bytes += bytes;
    } else if (!last || last.slot < slot) {
      this.slots.push({ slot, events: 1, bytes });
      // Learnt from a long stream, in order: slots that have left the window go as it moves.
      this.expire(atMs);
    } else {
      // Out of order (a clock set back, another gateway's event): counted in the slot it names.
      const s = this.slots.find((x) => x.slot === slot);
      if (s) {
        s.events++;
        s.bytes += bytes;
      } else {
        this.slots.push({ slot, events: 1, bytes });
        this.slots.sort((a, b) => a.slot - b.slot);
      }
    }
  }

  /** What was added in the window ending at `nowMs`. */
  used(nowMs: number): { events: number; bytes: number } {
    this.expire(nowMs);
    let events = 0;
    let bytes = 0;
    for (const s of this.slots) {
      events += s.events;
      bytes += s.bytes;
    }
    return { events, bytes };
  }

  /** Whether one more event of `bytes` fits at `nowMs`; if not, the use so far and when it will. */
  check(nowMs: number, bytes: number): { ok: true } | { ok: false; used: { events: number; bytes: number }; retryAfterMs: number } {
    const used = this.used(nowMs);
    const fits = (u: { events: number; bytes: number }) => u.events + 1 <= this.budget.events && u.bytes + bytes <= this.budget.bytes;
    if (fits(used)) return { ok: true };
    // The first slot whose leaving the window makes room.
    const left = { ...used };
    for (const s of this.slots) {
      left.events -= s.events;
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
