import { OPERATOR_ROLES, type Principal } from '../identity/key-entry.ts';
import type { AdmissionRefusal } from './command-admission.ts';
import { DAY_MS, KeyedUsage, usageBudgetFromEnv, windowText } from './party-budget.ts';

/**
 * What one party may have the runtime take from the bus over a sliding window: commands that
 * passed intake, and their messages' bytes. The command rate (CACO_COMMAND_RATE) bounds how
 * fast a key sends; this bounds how much a party's commands can add to the ledger in a day,
 * since each one the intake takes is decided and recorded.
 */
export interface CommandPartyBudget {
  readonly commands: number;
  readonly bytes: number;
  /** The window, in milliseconds (default 24 h). */
  readonly windowMs?: number;
}

export const DEFAULT_COMMAND_PARTY_BUDGET: CommandPartyBudget = { commands: 20_000, bytes: 64 * 1024 * 1024 };
export const COMMAND_PARTY_BUDGET_ENV = 'CACO_COMMAND_PARTY_BUDGET';

/**
 * `CACO_COMMAND_PARTY_BUDGET` = `<commands>:<bytes>` a party may send in 24 h, bytes with an
 * optional unit (`64MiB`, `100MB`), as `CACO_GATEWAY_PARTY_BUDGET`; `off` for none. Default
 * `20000:64MiB`. A bad value is a ConfigError naming the variable.
 */
export function commandPartyBudgetFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): CommandPartyBudget | undefined {
  const fallback = { count: DEFAULT_COMMAND_PARTY_BUDGET.commands, bytes: DEFAULT_COMMAND_PARTY_BUDGET.bytes };
  const b = usageBudgetFromEnv(env, COMMAND_PARTY_BUDGET_ENV, fallback, { noun: 'commands', what: 'a party may send', example: '20000:64MiB' });
  return b && { commands: b.count, bytes: b.bytes };
}

/**
 * The command budget of every party, in memory (a restart starts every party afresh). Keys of
 * an operator's or admin's role are not charged, as they are not held to the per-job pin limit:
 * the site's own people must be able to act however much outsiders have sent.
 */
export class CommandBudgets {
  private readonly parties: KeyedUsage;

  constructor(
    readonly budget: CommandPartyBudget,
    private readonly now: () => number,
  ) {
    if (!(budget.commands >= 1) || !(budget.bytes >= 1)) throw new Error('command budget: commands and bytes must be at least 1');
    this.parties = new KeyedUsage({ count: budget.commands, bytes: budget.bytes, windowMs: budget.windowMs ?? DAY_MS });
  }

  /** Charge one command of `bytes` from `principal` to its party, or refuse it (uncharged) when that would pass the budget. */
  take(principal: Principal, bytes: number): AdmissionRefusal | undefined {
    if (OPERATOR_ROLES.has(principal.role)) return undefined;
    const now = this.now();
    const c = this.parties.check(principal.party, now, bytes);
    if (c.ok) {
      this.parties.add(principal.party, now, bytes);
      return undefined;
    }
    const window = windowText(this.parties.windowMs);
    return {
      reason: `command budget: party "${principal.party.slice(0, 128)}" has sent ${c.used.count} commands (${c.used.bytes} bytes) that were taken in the last ${window}; a party may send ${this.budget.commands} commands or ${this.budget.bytes} bytes in ${window} (${COMMAND_PARTY_BUDGET_ENV}); retry in ${c.retryAfterMs} ms`,
      retryAfterMs: c.retryAfterMs,
    };
  }

  /** Parties whose use is held (a test counts them: quiet ones are forgotten). */
  get size(): number {
    return this.parties.size;
  }
}
