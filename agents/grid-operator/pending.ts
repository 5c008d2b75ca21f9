/**
 * Requests the grid operator has asked of the BPP and not yet had answered. They are not facts
 * (nothing is decided until the BPP confirms), so they are not in the ledger state; they live
 * beside it in the agent's memory, as before, and are lost on a restart (a change is asked
 * again on the next forecast, a rating on the next COMPLETED). Immutable: every decider
 * returns the next one.
 */
export interface Pending {
  /** Changes (cancel or reduce) asked for, by order id, with the reason to record when done. */
  readonly changes: ReadonlyMap<string, string>;
  /** Ratings sent and not yet answered, so a repeated COMPLETED does not rate twice. */
  readonly ratings: ReadonlySet<string>;
}

export const NOTHING_PENDING: Pending = Object.freeze({ changes: new Map<string, string>(), ratings: new Set<string>() });

export const withChange = (p: Pending, orderId: string, reason: string): Pending => ({ ...p, changes: new Map(p.changes).set(orderId, reason) });

export function withoutChange(p: Pending, orderId: string): Pending {
  if (!p.changes.has(orderId)) return p;
  const changes = new Map(p.changes);
  changes.delete(orderId);
  return { ...p, changes };
}

export const withRating = (p: Pending, orderId: string): Pending => ({ ...p, ratings: new Set(p.ratings).add(orderId) });

export function withoutRating(p: Pending, orderId: string): Pending {
  if (!p.ratings.has(orderId)) return p;
  const ratings = new Set(p.ratings);
  ratings.delete(orderId);
  return { ...p, ratings };
}
