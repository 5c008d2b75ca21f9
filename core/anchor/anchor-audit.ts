import type { AnchorCheckpoint } from './checkpoint.ts';
import { LedgerTracker, positionGap, type PositionGap, type PositionLayout, type Positioned } from './ledger-tracker.ts';

/** The anchor a ledger is held to: where it was read and its checked checkpoints. */
export interface AnchorInput {
  readonly where: string;
  /**
   * Checkpoints whose chain and signatures hold (checkAnchorChain), in order. Taken once, one
   * at a time as the ledger's read passes their positions: an array, or checked as the anchor
   * is read (readAnchor's CheckedAnchor), so the audit never holds them all.
   */
  readonly checkpoints: Iterable<AnchorCheckpoint>;
  /** Why the rest of the anchor could not be used (a bad line, a broken link, a bad signature); read once `checkpoints` is used up. */
  readonly problem?: string | undefined;
  /** `problem` unless it is only a last line cut short by a crash (CheckedAnchor); absent, `problem` counts whole. */
  readonly integrityProblem?: string | undefined;
  /**
   * The root `finish(expectHead)` will be given, known up front so the checkpoint that has it
   * is noted as it goes past. Needed unless `checkpoints` is an array (searched at the end).
   */
  readonly expectHead?: string;
}

export interface AnchorVerdict {
  readonly where: string;
  readonly checkpoints: number;
  /** Checkpoints the ledger matches, from the first. */
  readonly matched: number;
  readonly ok: boolean;
  readonly problem?: string;
  /**
   * Said, not a break: the log's last line was cut short by a crash while it was written (never
   * reported written; the site's next checkpoint cuts it off). The audit called it BROKEN, while
   * the docs and /health say it is not.
   */
  readonly note?: string;
  /** The last checkpoint the ledger matches. */
  readonly lastMatched?: { readonly seq: number; readonly position: number; readonly events: number; readonly root: string; readonly time: string };
}

export interface ExpectHeadVerdict {
  readonly expected: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface LedgerFold {
  readonly position: number;
  readonly events: number;
  readonly root: string;
  readonly logHash: string;
  readonly anchor?: AnchorVerdict;
  readonly expectHead?: ExpectHeadVerdict;
}

/**
 * Follows a full read of the ledger in position order and holds it to what lies outside it:
 * the store's position layout (nothing missing between two events) and the anchor's
 * checkpoints (each compared once the read has passed its position).
 */
export class AnchorAuditor {
  readonly tracker = new LedgerTracker();
  /** The checkpoints not yet compared, and the next one taken from them. */
  private readonly source: Iterator<AnchorCheckpoint> | undefined;
  private ahead: AnchorCheckpoint | undefined;
  private taken = 0;
  private last: AnchorCheckpoint | undefined;
  private lastMatched: AnchorCheckpoint | undefined;
  private readonly expectRoot: string | undefined;
  /** The first checkpoint whose root is `expectRoot`, and whether the ledger matched it. */
  private expectSeen: { readonly cp: AnchorCheckpoint; readonly matched: boolean } | undefined;
  private matched = 0;
  private mismatch: string | undefined;
  /** The first mismatching checkpoint, when the ledger had as many events there as it anchors. */
  private sameCount: { readonly cp: AnchorCheckpoint; readonly since: string } | undefined;

  constructor(
    private readonly layout: PositionLayout | undefined,
    private readonly anchor: AnchorInput | undefined,
  ) {
    this.source = anchor?.checkpoints[Symbol.iterator]();
    if (anchor?.expectHead !== undefined) this.expectRoot = normalRoot(anchor.expectHead);
  }

  /** Compare every checkpoint before `position` (all of them when undefined), taking them one at a time. */
  private compareBefore(position: number | undefined): void {
    for (;;) {
      if (!this.ahead) {
        const r = this.source?.next();
        if (!r || r.done) return;
        this.ahead = r.value;
      }
      const cp = this.ahead;
      if (position !== undefined && cp.position >= position) return;
      this.ahead = undefined;
      this.taken++;
      this.last = cp;
      const before = this.matched;
      this.compare(cp, position === undefined);
      if (this.expectSeen === undefined && cp.root === this.expectRoot) this.expectSeen = { cp, matched: this.matched > before };
    }
  }

  /** Call for every event in position order; returns a gap before it, if there is one. */
  observe(e: Positioned): PositionGap | null {
    const gap = this.layout ? positionGap(this.layout, this.tracker.position, e.position) : null;
    this.compareBefore(e.position);
    this.tracker.observe(e);
    return gap;
  }

  /** Call for a stored message that is not an event, in position order with the events (see LedgerTracker.passOver). */
  passOver(position: number): PositionGap | null {
    const gap = this.layout ? positionGap(this.layout, this.tracker.position, position) : null;
    this.compareBefore(position);
    this.tracker.passOver(position);
    return gap;
  }

  /**
   * After the read: does the store's own idea of its last position show events missing at the
   * end? `lastPosition` is the first position of the store's last commit (JetStream) or its
   * last position (SQLite).
   */
  endGap(lastPosition: number): PositionGap | null {
    if (!this.layout || lastPosition <= this.tracker.position) return null;
    const gap = positionGap(this.layout, this.tracker.position, this.layout === 'jetstream' ? lastPosition + 1024 : lastPosition + 1);
    return gap && { from: gap.from, reason: `${gap.reason}, at the end of the ledger` };
  }

  finish(expectHead?: string): LedgerFold {
    this.compareBefore(undefined);
    const snap = this.tracker.snapshot();
    let anchor: AnchorVerdict | undefined;
    if (this.anchor) {
      const last = this.last;
      // Read after the checkpoints are used up: a checked-as-read anchor knows its problem then.
      const found = (last && this.renumberedDeletion(last, snap)) ?? this.mismatch;
      // Both when both: a record passed over (junk in the anchor) must not hide what the
      // checkpoints after it say about the ledger, nor be hidden by it.
      const own = 'integrityProblem' in this.anchor ? this.anchor.integrityProblem : this.anchor.problem;
      const cutShort = own === undefined ? this.anchor.problem : undefined;
      const problem = found !== undefined && own !== undefined && found !== own ? `${found}; and ${own}` : (found ?? own);
      const lastMatched = this.lastMatched;
      anchor = {
        where: this.anchor.where,
        checkpoints: this.taken,
        matched: this.matched,
        // An anchor with no checkpoint yet (a site that has not reached its first) holds the
        // ledger to nothing, like no anchor at all; the report says so.
        ok: problem === undefined,
        ...(problem !== undefined ? { problem } : {}),
        ...(cutShort !== undefined ? { note: `${cutShort}: cut short by a crash while it was written, never reported written; the site's next checkpoint removes it` } : {}),
        ...(lastMatched ? { lastMatched: { seq: lastMatched.seq, position: lastMatched.position, events: lastMatched.events, root: lastMatched.root, time: lastMatched.time } } : {}),
      };
    }
    return {
      position: snap.position,
      events: snap.events,
      root: snap.root,
      logHash: snap.logHash,
      ...(anchor ? { anchor } : {}),
      ...(expectHead !== undefined ? { expectHead: this.expectHead(normalRoot(expectHead), snap) } : {}),
    };
  }

  private compare(cp: AnchorCheckpoint, atEnd: boolean): void {
    if (this.mismatch !== undefined) return;
    const t = this.tracker;
    if (t.position === cp.position && t.events === cp.events && t.logHash === cp.logHash) {
      this.matched++;
      this.lastMatched = cp;
      return;
    }
    const before = this.lastMatched;
    const since = before ? `position ${before.position}` : 'the start';
    let what: string;
    if (atEnd && t.position < cp.position && t.events < cp.events) {
      const d = cp.events - t.events;
      what = `the ledger ends at position ${t.position} with ${t.events} events, but the anchor holds ${cp.events} events up to position ${cp.position}: ${d} event${d === 1 ? ' was' : 's were'} deleted (after ${since})`;
    } else if (t.events < cp.events) {
      const d = cp.events - t.events;
      what = `${d} of the ${cp.events} events anchored up to position ${cp.position} ${d === 1 ? 'is' : 'are'} gone (deleted between ${since} and position ${cp.position})`;
    } else if (t.events > cp.events) {
      const d = t.events - cp.events;
      what = `${d} event${d === 1 ? '' : 's'} more than the ${cp.events} anchored up to position ${cp.position} (inserted between ${since} and position ${cp.position})`;
    } else if (t.headsHash() === cp.headsHash) {
      what = `the same events and stream heads, in another order: events between ${since} and position ${cp.position} were reordered (moved across streams)`;
    } else {
      // As many events, other heads. In as many streams, one was changed in place; in more or
      // fewer, events came or went across the checkpoint (finish may say which, from the end).
      const streams = t.snapshot().streams;
      what = streams === cp.streams
        ? `an event between ${since} and position ${cp.position} was changed and re-sealed: the streams' heads differ from the anchored heads`
        : `as many events up to position ${cp.position} as anchored, but in ${streams} streams where the anchor has ${cp.streams}: events between ${since} and position ${cp.position} were deleted or inserted and the positions after them renumbered, or moved across position ${cp.position}`;
      this.sameCount = { cp, since };
    }
    this.mismatch = `${this.checkpointWords(cp)} does not match the ledger: ${what}`;
  }

  private checkpointWords(cp: AnchorCheckpoint): string {
    return `checkpoint #${cp.seq} (position ${cp.position}, ${cp.events} events, written ${cp.time})`;
  }

  /**
   * The first mismatch had as many events as anchored, and the ledger now ends short of the
   * last checkpoint: events were deleted and the positions after them renumbered (no hole
   * shows), and a whole stream with them if the ledger has fewer streams than that checkpoint.
   */
  private renumberedDeletion(last: AnchorCheckpoint, end: { position: number; events: number; streams: number }): string | undefined {
    const first = this.sameCount;
    if (!first || end.events >= last.events || end.position >= last.position) return undefined;
    const d = last.events - end.events;
    const gone = last.streams - end.streams;
    const who = gone > 0 ? `${gone === 1 ? 'a stream was' : `${gone} streams were`} removed and the positions after renumbered: ${d} anchored event${d === 1 ? '' : 's'} after ${first.since} ${d === 1 ? 'is' : 'are'} gone` : `${d} event${d === 1 ? ' was' : 's were'} deleted after ${first.since} and the positions after renumbered`;
    return `${this.checkpointWords(first.cp)} does not match the ledger: ${who} (the ledger ends at position ${end.position} with ${end.events} events in ${end.streams} streams; checkpoint #${last.seq} holds ${last.events} events in ${last.streams} streams up to position ${last.position})`;
  }

  /** The first checkpoint with this root, and whether the ledger matched it (checkpoints match from the first, so: is it among them). */
  private anchoredWithRoot(root: string): { readonly cp: AnchorCheckpoint; readonly matched: boolean } | undefined {
    if (!this.anchor) return undefined;
    if (root === this.expectRoot) return this.expectSeen;
    const cps = this.anchor.checkpoints;
    if (!Array.isArray(cps)) throw new Error('AnchorAuditor: the root given to finish() was not given up front (AnchorInput.expectHead), and the checkpoints read are not kept');
    const list = cps as ReadonlyArray<AnchorCheckpoint>;
    const i = list.findIndex((c) => c.root === root);
    return i >= 0 ? { cp: list[i]!, matched: i < this.matched } : undefined;
  }

  private expectHead(expected: string, snap: { position: number; events: number; root: string }): ExpectHeadVerdict {
    if (expected === snap.root) return { expected, ok: true, detail: `the ledger's head root at position ${snap.position} (${snap.events} events) is the expected one` };
    const found = this.anchoredWithRoot(expected);
    if (found?.matched) {
      const c = found.cp;
      return { expected, ok: true, detail: `the expected head is anchor checkpoint #${c.seq} (position ${c.position}, ${c.events} events) and the ledger matches it; ${snap.events - c.events} events were appended since` };
    }
    if (found) return { expected, ok: false, detail: `the expected head is anchor checkpoint #${found.cp.seq} (position ${found.cp.position}), which the ledger no longer matches` };
    return { expected, ok: false, detail: `the ledger's head root at position ${snap.position} (${snap.events} events) is ${snap.root}, not the expected ${expected}` };
  }
}

function normalRoot(root: string): string {
  return root.trim().toLowerCase();
}
