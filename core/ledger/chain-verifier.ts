import { GENESIS_HASH, MAX_COVERS, STREAM_NAME, type Envelope } from '../envelope/envelope.ts';
import type { KeyResolver } from './key-resolver.ts';
import { checkHash, checkSignature } from './seal.ts';
import type { SignatureCache } from './signature-cache.ts';

/** The last event of a stream that passed every check. */
export interface VerifiedHead {
  readonly revision: number;
  readonly hash: string;
}

export type ChainVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** An event and what was decided about it. */
export interface Judged {
  readonly event: Envelope;
  readonly verdict: ChainVerdict;
}

/** A stream's verified state between commits (see `ChainVerifier.closedState`). */
export interface StreamSnapshot {
  readonly head: VerifiedHead | undefined;
  readonly passedOver: VerifiedHead | undefined;
}

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
  /**
   * The open commit: unsigned events (`sig: ''`) whose hash and link are good, waiting for
   * the signed head that vouches for them. Never more than one commit long, and never more
   * than MAX_PENDING events: no head can cover more (see `push`).
   */
  pending: Envelope[];
}

/**
 * The most unsigned events a stream may have waiting: a signed head covers at most
 * MAX_COVERS events, itself included, so an unsigned event with this many after it can
 * never be covered. Anyone who can append (no key needed) can write a long unsigned chain;
 * without this bound a reader held all of it until a head that never comes.
 */
export const MAX_PENDING = MAX_COVERS - 1;

/** Streams with no verified event a verifier keeps (see ChainVerifier.headless). */
export const MAX_HEADLESS = 10_000;

const OK: ChainVerdict = { ok: true };
const fail = (reason: string): ChainVerdict => ({ ok: false, reason });

/**
 * Verify-on-read, one event at a time in ledger order: its own hash, the revision after the
 * stream's last verified event, `prevHash` equal to that event's hash, and a signature by a
 * registered key of its source — its own, or its commit's.
 *
 * Signatures are per commit (docs/ledger.md): an event with `sig: ''` waits (`push` returns
 * nothing for it yet) until the signed head of its commit comes; that head's signature, over
 * a hash that chains over the waiting events, decides them all, and `push` returns them
 * with it, in order. The head says in `covers` how many events it vouches for, and vouches
 * only for events of its own source. A commit is contiguous in every read the stores give
 * (one JetStream message, consecutive SQLite rows), so an open commit that is followed by
 * anything but its own next event has lost its head: its events are refused then, and at
 * the end of a read (`flush`) whatever is still waiting is refused.
 *
 * A refused event does not move the stream's head, so the next good event is judged against
 * the last good one and a forgery cannot make readers (or the writer) chain on it. Pure: no
 * I/O, one instance per reader.
 */
export class ChainVerifier {
  private readonly streams = new Map<string, StreamState>();
  /**
   * Streams with no verified event, oldest first: at most MAX_HEADLESS are kept (and only while
   * no commit of theirs is open). Forged events under new stream names each made an entry that
   * was never dropped: ~1 MB of a reader's memory per forged message of 1,024 such events, for
   * the life of every live reader. One forgotten costs only its passed-over successor's link.
   */
  private readonly headless = new Set<string>();
  /** The stream whose commit is open (has pending events), if any. */
  private open: string | undefined;

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

  /** Events waiting for their commit's signed head (at most one commit's worth, and at most MAX_PENDING). */
  get pendingCount(): number {
    return this.open === undefined ? 0 : this.streams.get(this.open)!.pending.length;
  }

  /**
   * Start `stream` from a head verified elsewhere (a reader that begins after the start of
   * the ledger learns each stream's head before judging its first event). `undefined`
   * means the stream had no verified event before.
   */
  seed(stream: string, head: VerifiedHead | undefined): void {
    this.streams.set(stream, { head, passedOver: undefined, pending: [] });
    this.noteHead(stream, head);
  }

  /**
   * The stream's state while no commit of it is open, to carry on from later (`seedState`):
   * its last verified event and the refused one a successor may chain on. Undefined while a
   * commit is open (its events wait for a head not yet read) or the stream is unknown.
   */
  closedState(stream: string): StreamSnapshot | undefined {
    const st = this.streams.get(stream);
    if (!st || st.pending.length > 0) return undefined;
    return { head: st.head, passedOver: st.passedOver };
  }

  /** Start `stream` from a state `closedState` gave (this process's own verdicts, not a caller's claim). */
  seedState(stream: string, state: StreamSnapshot): void {
    this.streams.set(stream, { head: state.head, passedOver: state.passedOver, pending: [] });
    this.noteHead(stream, state.head);
  }

  /**
   * Start `stream` where `other` has it, open commit included: a reader that begins in the
   * middle of a commit carries on with the events before its start still waiting, so the
   * commit's head decides them (the caller does not hand them on again).
   */
  seedFrom(other: ChainVerifier, stream: string): void {
    const st = other.streams.get(stream);
    if (!st) return this.seed(stream, undefined);
    this.streams.set(stream, { head: st.head, passedOver: st.passedOver, pending: [...st.pending] });
    this.noteHead(stream, st.head);
    // Opened by the next push on this stream (which first ends any other open commit).
  }

  /** Keep `headless` in step with a stream's head, forgetting the oldest headless streams past the bound. */
  private noteHead(stream: string, head: VerifiedHead | undefined): void {
    if (head) {
      this.headless.delete(stream);
      return;
    }
    this.headless.delete(stream);
    this.headless.add(stream);
    if (this.headless.size <= MAX_HEADLESS) return;
    for (const old of this.headless) {
      if (this.headless.size <= MAX_HEADLESS) break;
      if (old === this.open || old === stream) continue;
      this.headless.delete(old);
      this.streams.delete(old);
    }
  }

  /** Judge the next event in ledger order; returns every event decided by it (it, and any it releases or ends). */
  push(e: Envelope): Judged[] {
    const out: Judged[] = [];
    // Commits are contiguous: an event of another stream ends the open commit.
    if (this.open !== undefined && this.open !== e.stream) this.failOpen(out, this.open, `no signed head follows it: its commit ends at revision ${this.tipRevision(this.open)} without a signature`);
    // No store takes such a name (it becomes a NATS subject token), so no such event is
    // genuine; refused before it is given a place, or sends a reader to learn its history (on
    // JetStream `>` read as a wildcard over the whole ledger).
    if (typeof e.stream !== 'string' || !STREAM_NAME.test(e.stream)) {
      out.push({ event: e, verdict: fail(`stream name ${JSON.stringify(String(e.stream).slice(0, 64))} is not one a store accepts (letters, digits, "_", ":" and "-", at most 200)`) });
      return out;
    }
    let s = this.streams.get(e.stream);
    if (!s) {
      s = { head: undefined, passedOver: undefined, pending: [] };
      this.streams.set(e.stream, s);
      this.noteHead(e.stream, undefined);
    }
    let link: string | null | 'passed-over';
    const tip = s.pending.length > 0 ? s.pending[s.pending.length - 1]! : undefined;
    if (tip && e.revision === tip.revision + 1 && e.prevHash === tip.hash) link = null;
    else {
      if (tip) this.failOpen(out, e.stream, `no signed head follows it: its commit ends at revision ${tip.revision} without a signature (the next event, revision ${String(e.revision)}, does not continue it)`);
      link = linkProblem(e, s);
    }
    if (link !== null && link !== 'passed-over') {
      out.push({ event: e, verdict: fail(link) });
      return out;
    }
    const own = checkHash(e);
    if (own !== null) {
      // In place but not genuine: its successor may still vouch for it (see passedOver).
      if (s.pending.length > 0) this.failOpen(out, e.stream, `its commit's chain is broken at revision ${String(e.revision)}, before the signed head`);
      s.passedOver = typeof e.hash === 'string' && Number.isInteger(e.revision) ? { revision: e.revision, hash: e.hash } : undefined;
      out.push({ event: e, verdict: fail(own) });
      return out;
    }
    if (e.sig === '') {
      // Vouched for by its commit's head, which is still to come.
      s.pending.push(e);
      this.open = e.stream;
      if (s.pending.length > MAX_PENDING) {
        // Its oldest event can no longer be covered by any head: refused now, as a head
        // would refuse it ("not covered"), so the wait stays bounded. The rest still wait.
        const old = s.pending.shift()!;
        out.push({ event: old, verdict: fail(`not covered by a signature: ${MAX_PENDING} unsigned events follow it on stream ${String(e.stream).slice(0, 200)} (revisions ${old.revision + 1} to ${e.revision}), and a signed head covers at most ${MAX_COVERS} events, itself included`) });
      }
      return out;
    }
    const sigProblem = checkSignature(e, this.keys, this.cache);
    if (sigProblem !== null) {
      if (s.pending.length > 0) this.failOpen(out, e.stream, `the signed head of its commit (revision ${e.revision}) is refused: ${sigProblem}`);
      s.passedOver = { revision: e.revision, hash: e.hash };
      out.push({ event: e, verdict: fail(sigProblem) });
      return out;
    }
    // A good signature over a hash that chains over every pending event: it decides them.
    const firstCovered = e.revision - (e.covers ?? 1) + 1;
    for (const p of s.pending) {
      if (p.revision < firstCovered) out.push({ event: p, verdict: fail(`not covered by a signature: the signed head at revision ${e.revision} covers revisions ${firstCovered} to ${e.revision}`) });
      else if (p.source !== e.source) out.push({ event: p, verdict: fail(`its commit's head (revision ${e.revision}) is signed for source "${e.source.slice(0, 64)}", not "${p.source.slice(0, 64)}"`) });
      else out.push({ event: p, verdict: OK });
    }
    s.pending = [];
    this.open = undefined;
    s.head = { revision: e.revision, hash: e.hash };
    this.headless.delete(e.stream);
    s.passedOver = undefined;
    out.push({ event: e, verdict: OK });
    return out;
  }

  /** The end of a read: the open commit's events have no signed head after them, and are refused. */
  flush(): Judged[] {
    const out: Judged[] = [];
    // Normally one open commit; a stream seeded open (seedFrom) and never pushed is one more.
    for (const [stream, st] of this.streams) if (st.pending.length > 0) this.failOpen(out, stream, `no signed head follows it: its commit ends at revision ${this.tipRevision(stream)} without a signature`);
    return out;
  }

  /**
   * `push` for a caller that judges one event at a time and needs its verdict now (a
   * one-event commit, or an old ledger's event): the verdict on `e`, or a refusal saying it
   * waits for its commit's head. Events it releases or ends are not reported: use `push`.
   */
  check(e: Envelope): ChainVerdict {
    const judged = this.push(e);
    for (const j of judged) if (j.event === e) return j.verdict;
    return fail('unsigned: waits for its commit\'s signed head');
  }

  private tipRevision(stream: string): number {
    const p = this.streams.get(stream)!.pending;
    return p[p.length - 1]!.revision;
  }

  private failOpen(out: Judged[], stream: string, reason: string): void {
    const s = this.streams.get(stream)!;
    if (s.pending.length === 0) return;
    const verdict = fail(reason);
    for (const p of s.pending) out.push({ event: p, verdict });
    // In place but not proven: a signed successor may still chain on it, as on a tampered row.
    const tip = s.pending[s.pending.length - 1]!;
    s.passedOver = { revision: tip.revision, hash: tip.hash };
    s.pending = [];
    if (this.open === stream) this.open = undefined;
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
