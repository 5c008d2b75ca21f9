/**
 * The start-up check of core/store/ledger-continuity.ts for ledgers kept in a table
 * (SQLite, PostgreSQL), whose positions number events: before a site writes, is this the
 * ledger its checkpoints were written against? An events table emptied, cut short or
 * restored from an older backup while the checkpoints were not would have the relay and the
 * agents, whose checkpoints lie past the table's head, skip the next events silently: the
 * table would hand out positions they have already passed.
 */
import { LedgerContinuityError, type ContinuityVerdict } from './continuity-verdict.ts';
import { isCheckpointTag } from './checkpoint-value.ts';

export interface TableLedgerState {
  /** The ledger, as an operator would name it (`ledger.db at …`, `PostgreSQL schema …`). */
  readonly where: string;
  /** The last event's position; 0 when the table is empty. */
  readonly head: number;
  /** Every checkpoint above 0, by name. */
  readonly checkpoints: ReadonlyArray<{ readonly key: string; readonly position: number }>;
}

/** Pure: may the site write to this ledger, and how? */
export function judgeTableLedger(state: TableLedgerState, opts: { readonly init: boolean }): ContinuityVerdict {
  const { where, head, checkpoints } = state;
  const past = checkpoints.filter((c) => c.position > head);
  if (opts.init) {
    if (head > 0) return { ok: false, reason: `--init starts a new ledger, but ${where} holds events up to position ${head}; --init is only for an empty ledger (nothing was changed)` };
    return { ok: true, action: 'init', reset: checkpoints.map((c) => c.key) };
  }
  if (past.length === 0) return { ok: true, action: 'continue' };
  const shown = past.slice(0, 3).map((c) => `${c.key} at position ${c.position}`).join(', ') + (past.length > 3 ? ` and ${past.length - 3} more` : '');
  return {
    ok: false,
    reason:
      `${where} ${head === 0 ? 'is empty' : `ends at position ${head}`}, but the site's checkpoints say it was read further (${shown}): its events were deleted, cut short or restored from an older backup, or the checkpoints were moved (whoever can write them can). ` +
      'Not starting, so that no event is written at a position its readers have passed. Run caco audit verify: if the ledger is whole and matches its anchor, set those checkpoints back to its head (docs/operations.md, "Checkpoints past the ledger\'s end"); otherwise restore the events, or start a new, empty ledger with --init, which resets the checkpoints.',
  };
}

/** What the check reads and, with --init, writes. */
export interface TableLedger {
  headPosition(): Promise<number>;
  listCheckpoints(): Promise<ReadonlyArray<{ key: string; position: number }>>;
  put(name: string, position: number): Promise<void>;
}

/**
 * Refuse (LedgerContinuityError) to write to a ledger its checkpoints do not belong to; with
 * `init` on an empty ledger, set its checkpoints back to 0.
 */
export async function checkTableLedgerContinuity(store: TableLedger, site: string, where: string, opts: { readonly init: boolean }): Promise<ContinuityVerdict & { ok: true }> {
  const checkpoints = (await store.listCheckpoints()).filter((c) => !isCheckpointTag(c.key));
  const verdict = judgeTableLedger({ where, head: await store.headPosition(), checkpoints }, opts);
  if (!verdict.ok) throw new LedgerContinuityError(`site ${site}: ${verdict.reason}`);
  if (verdict.action === 'init') for (const key of verdict.reset) await store.put(key, 0);
  return verdict;
}
