import { GENESIS_HASH, type Envelope } from '../envelope.ts';
import type { KeyResolver } from './key-resolver.ts';
import { checkEvent } from './seal.ts';
import type { SignatureCache } from './signature-cache.ts';

/** The last event of a stream that passed every check. */
export interface VerifiedHead {
  readonly revision: number;
  readonly hash: string;
}

export type ChainVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

interface StreamState {
  head: VerifiedHead | undefined;
  /**
   * The last refused event that sat exactly where the next event belonged (right revision,
   * right prevHash). Its successor may chain on its stored hash: that successor is signed
   * by a registered key, whose holder vouches for the predecessor it hashed over. This is
   * what lets a stream go on after one row was tampered with in place (SQLite), while a
   * forged event beside the real one (JetStream) is simply passed over.
   */
  passedOver: VerifiedHead | undefined;
}

/**
 * Verify-on-read, one event at a time in ledger order: its own hash and signature (by a
 * registered key of its source), the revision after the stream's last verified event, and
 * `prevHash` equal to that event's hash. A refused event does not move the stream's head,
 * so the next good event is judged against the last good one and a forgery cannot make
 * readers (or the writer) chain on it. Pure: no I/O, one instance per reader.
 */
export class ChainVerifier {
  private readonly streams = new Map<string, StreamState>();

  constructor(
    private readonly keys: KeyResolver,
    private readonly cache?: SignatureCache,
  ) {}

  /** Whether this verifier has seen (or been told) anything of `stream`. */
  knows(stream: string): boolean {
    return this.streams.has(stream);
  }

  /** The stream's last verified event, if any. */
  head(stream: string): VerifiedHead | undefined {
    return this.streams.get(stream)?.head;
  }

  /** Every stream with a verified event, and its head. */
  *heads(): IterableIterator<[string, VerifiedHead]> {
    for (const [stream, st] of this.streams) if (st.head) yield [stream, st.head];
  }

  /**
   * Start `stream` from a head verified elsewhere (a reader that begins after the start of
   * the ledger learns each stream's head before judging its first event). `undefined`
   * means the stream had no verified event before.
   */
  seed(stream: string, head: VerifiedHead | undefined): void {
    this.streams.set(stream, { head, passedOver: undefined });
  }

  check(e: Envelope): ChainVerdict {
    let s = this.streams.get(e.stream);
    if (!s) {
      s = { head: undefined, passedOver: undefined };
      this.streams.set(e.stream, s);
    }
    const linkReason = linkProblem(e, s);
    const ownReason = linkReason === null || linkReason === 'passed-over' ? checkEvent(e, this.keys, this.cache) : null;
    if ((linkReason === null || linkReason === 'passed-over') && ownReason === null) {
      s.head = { revision: e.revision, hash: e.hash };
      s.passedOver = undefined;
      return { ok: true };
    }
    if (ownReason !== null) {
      // In place but not genuine: its successor may still vouch for it (see passedOver).
      s.passedOver = typeof e.hash === 'string' && Number.isInteger(e.revision) ? { revision: e.revision, hash: e.hash } : undefined;
      return { ok: false, reason: ownReason };
    }
    return { ok: false, reason: linkReason! };
  }
}

/** null: follows the head; 'passed-over': follows the refused event in the head's place; else why not. */
function linkProblem(e: Envelope, s: StreamState): string | null | 'passed-over' {
  const expectedRevision = s.head ? s.head.revision + 1 : 0;
  const expectedPrev = s.head ? s.head.hash : GENESIS_HASH;
  if (e.revision === expectedRevision && e.prevHash === expectedPrev) return null;
  const p = s.passedOver;
  if (p && e.revision === p.revision + 1 && e.prevHash === p.hash) return 'passed-over';
  // The wording `caco audit verify` has always used: "previous" is the last verified event.
  if (e.revision !== expectedRevision) return `revision ${String(e.revision)} follows ${s.head ? s.head.revision : 'the start of the stream'} (expected ${expectedRevision})`;
  return `prevHash ${String(e.prevHash).slice(0, 12)}… does not match the previous event's hash ${expectedPrev.slice(0, 12)}…`;
}
