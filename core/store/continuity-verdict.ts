/**
 * What the start-up checks of every store's ledger (ledger-continuity.ts for JetStream,
 * table-ledger-continuity.ts for SQLite and PostgreSQL) decide, in a module of its own so a
 * table ledger's check does not load the JetStream client.
 */
import { CacoError } from '../errors/errors.ts';

export type ContinuityVerdict =
  | { readonly ok: true; readonly action: 'continue' | 'create' }
  /** `--init` on a missing or empty ledger: start it, and set these checkpoints back to 0. */
  | { readonly ok: true; readonly action: 'init'; readonly reset: ReadonlyArray<string> }
  | { readonly ok: false; readonly reason: string };

/** The site would run on a ledger its checkpoints do not belong to. */
export class LedgerContinuityError extends CacoError {
  override readonly _tag = 'LedgerContinuityError';
}
