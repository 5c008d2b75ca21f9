import { PartyUsage, usageBudgetFromEnv } from '../runtime/index.ts';

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

/**
 * `CACO_GATEWAY_PARTY_BUDGET` = `<events>:<bytes>` a party may add in 24 h, bytes with an
 * optional unit (`64MiB`, `100MB`); `off` for none. Default `50000:64MiB`. A bad value names the variable.
 */
export function partyBudgetFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): PartyBudget | undefined {
  const b = usageBudgetFromEnv(env, PARTY_BUDGET_ENV, { count: DEFAULT_PARTY_BUDGET.events, bytes: DEFAULT_PARTY_BUDGET.bytes }, { noun: 'events', what: 'a party may add to the ledger', example: '50000:64MiB' });
  return b && { events: b.count, bytes: b.bytes };
}

/** A party's use of its ledger budget (the shared sliding window, counting events). */
export function ledgerUsage(budget: PartyBudget): PartyUsage {
  return new PartyUsage({ count: budget.events, bytes: budget.bytes, ...(budget.windowMs !== undefined ? { windowMs: budget.windowMs } : {}) });
}
