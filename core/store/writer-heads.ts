import type { Envelope } from '../envelope/envelope.ts';
import { ChainVerifier, type VerifiedHead } from '../ledger/chain-verifier.ts';
import type { KeyResolver } from '../ledger/key-resolver.ts';
import { FifoMap } from '../collections/fifo-map.ts';
import type { UnreadableRecord } from './event-store.ts';
import { UnverifiedHeadError, type CorruptCommitError } from './jetstream-commit.ts';

/** A stream's last row as a table store reads it under its write lock. */
export interface StoredHead {
  readonly revision: number;
  readonly hash: string;
  /** Its global position (for the error that names it). */
  readonly position: number;
}

/** What the writer must read before it may seal on a stream's stored head. */
export type HeadCheck =
  /** The stored head is the one this writer knows verified (or the stream is new): seal on it. */
  | { readonly ok: VerifiedHead | undefined }
  /** Read the stream's rows with a revision above `after` (-1: all), in revision order, and `verify` them. */
  | { readonly after: number }
  /** Refused without a read. */
  | { readonly refused: CorruptCommitError };

/** Streams whose verified head a writer remembers (one evicted costs one read of what follows it). */
const DEFAULT_CAPACITY = 100_000;

/**
 * The heads a table store's writer may chain on (PostgreSQL, and any store that reads a
 * stream's head from a table it does not trust). A stream's last row is whatever the table
 * holds: a row put there by someone else (the next revision with a wrong prevHash, a revision
 * far ahead, a head changed in place) would, chained on, make every later real append one that
 * every reader refuses (verify-on-read judges it against the last *verified* event), and a
 * forged revision would fail every expected-revision append. So, as the JetStream writer's
 * `loadHead` does, the writer seals only on a head that verifies: its hash recomputed from its
 * content, its link (revision and prevHash) to the head this writer knew before, and the
 * signature of its commit by a registered key of its source — `ChainVerifier`, the check every
 * reader makes. Unlike JetStream (where a forged message sits beside the stream's events and
 * the writer can chain on the last verified one), a table holds one row per revision, so a head
 * that does not verify cannot be chained past: the append is refused (an `UnverifiedHeadError`, a `CorruptCommitError`
 * naming the stream and the row's position), never sealed on it.
 *
 * Each head this writer wrote or verified is remembered, so the common case (the stored head
 * is the one it wrote) costs no read. Pure: the store does the reading.
 */
export class WriterHeads {
  private readonly known: FifoMap<string, VerifiedHead>;

  constructor(
    private readonly keys: KeyResolver,
    /** Names the store in errors, e.g. `the PostgreSQL ledger in schema caco_london`. */
    private readonly ledger: string,
    capacity = DEFAULT_CAPACITY,
  ) {
    this.known = new FifoMap(capacity);
  }

  /** The verified head this writer knows for `stream`, if any. */
  knownHead(stream: string): VerifiedHead | undefined {
    return this.known.get(stream);
  }

  /** Is `stored` (the stream's last row; undefined: no row) a head to seal on, or what must be read to tell? */
  check(stream: string, stored: StoredHead | undefined): HeadCheck {
    const known = this.known.get(stream);
    if (stored === undefined) {
      if (known === undefined) return { ok: undefined };
      return { refused: this.refusal(stream, 0, `this writer sealed revision ${known.revision} of it (hash ${known.hash.slice(0, 12)}…), but the table holds no event of it now: its events were removed. Appends to it are refused rather than starting it again at revision 0`) };
    }
    if (known !== undefined && known.revision === stored.revision && known.hash === stored.hash) return { ok: known };
    if (known !== undefined && stored.revision <= known.revision) {
      return { refused: this.headRefusal(stream, stored, `it does not follow revision ${known.revision} (hash ${known.hash.slice(0, 12)}…), which this writer sealed or verified: events were removed or replaced`) };
    }
    return { after: known ? known.revision : -1 };
  }

  /**
   * Judge the rows `check` asked for (the stream's rows after the known head, in revision
   * order; unreadable ones as the store reports them) and return the head to seal on: the
   * stored head, if it verifies. Throws a CorruptCommitError naming the stream and the head's
   * position otherwise. A verified head is remembered.
   */
  verify(stream: string, stored: StoredHead, rows: Iterable<Envelope | UnreadableRecord>): VerifiedHead {
    const verifier = new ChainVerifier(this.keys);
    verifier.seed(stream, this.known.get(stream));
    let headReason: string | undefined;
    let firstReason: string | undefined;
    const refused = (position: number, revision: number | undefined, reason: string) => {
      if (position === stored.position || revision === stored.revision) headReason ??= reason;
      firstReason ??= `revision ${revision ?? '?'} at position ${position}: ${reason}`;
    };
    for (const row of rows) {
      if ('unreadable' in row) {
        refused(row.position, undefined, row.reason);
        continue;
      }
      for (const j of verifier.push(row)) if (!j.verdict.ok) refused(j.event.position, j.event.revision, j.verdict.reason);
    }
    for (const j of verifier.flush()) if (!j.verdict.ok) refused(j.event.position, j.event.revision, j.verdict.reason);
    const head = verifier.head(stream);
    if (head !== undefined && head.revision === stored.revision && head.hash === stored.hash) {
      this.known.set(stream, head);
      return head;
    }
    const known = this.known.get(stream);
    const why = headReason ?? firstReason ?? (known ? `it does not follow revision ${known.revision}, which this writer sealed or verified` : 'it does not verify');
    throw this.headRefusal(stream, stored, why);
  }

  /** Remember heads this writer sealed, once they are committed. */
  remember(stream: string, head: VerifiedHead): void {
    this.known.set(stream, { revision: head.revision, hash: head.hash });
  }

  private headRefusal(stream: string, stored: StoredHead, why: string): CorruptCommitError {
    return this.refusal(
      stream,
      stored.position,
      `its head in the table, revision ${stored.revision} at position ${stored.position}, does not verify (${why}). The writer does not seal on a head that does not verify: every reader would refuse what it sealed. Appends to it are refused until the row is removed or restored`,
    );
  }

  private refusal(stream: string, position: number, reason: string): CorruptCommitError {
    return new UnverifiedHeadError(this.ledger, position, `stream "${stream.slice(0, 128)}": ${reason}`);
  }
}
