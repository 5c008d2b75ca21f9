import type { StreamSnapshot, VerifiedHead } from '../ledger/chain-verifier.ts';

/**
 * A stream's verified state after its events up to `lastPosition`, at a point where no commit
 * of it was open: a reader that starts after `lastPosition` carries on from it instead of
 * verifying the stream from its first event. This process's own verdicts, never a caller's claim.
 */
export interface StreamCheckpoint {
  readonly lastPosition: number;
  readonly state: StreamSnapshot & { readonly head: VerifiedHead };
}

/** Revisions between a stream's anchored checkpoints: the most a reader verifies to reach any point of it. */
export const CHECKPOINT_EVERY = 1000;

/** Checkpoints kept in all (~200 bytes each); past it the streams checkpointed first are forgotten first. */
export const MAX_CHECKPOINTS = 100_000;

interface Checkpoints {
  /** One per `every` revisions (the first closed state at or after each multiple), by position. */
  readonly anchors: StreamCheckpoint[];
  /** The furthest state learnt, wherever it is: a paged reader carries on from exactly there. */
  furthest: StreamCheckpoint | undefined;
  /**
   * The state learnt last, wherever it is: a reader that stopped part-way (its budget spent)
   * carries on from exactly there next time, even behind the furthest.
   */
  latest: StreamCheckpoint | undefined;
}

/**
 * Where readers may start verifying each stream: anchors every `every` revisions, and the
 * furthest and the latest state learnt. With them, learning a stream's state before any position costs at
 * most `every` events (and a commit) however long the stream, and in whatever order readers
 * ask: one furthest state alone was no help to a reader starting before it, which verified the
 * stream from its first event again (a `gw.read` a little behind the last one did that on
 * every request). Pure; bounded by `capacity` checkpoints.
 */
export class StreamCheckpoints {
  private readonly streams = new Map<string, Checkpoints>();
  private count = 0;

  constructor(
    readonly every = CHECKPOINT_EVERY,
    readonly capacity = MAX_CHECKPOINTS,
  ) {
    if (!Number.isSafeInteger(every) || every < 1) throw new RangeError(`checkpoint spacing must be a positive integer; got ${String(every)}`);
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`checkpoint capacity must be a positive integer; got ${String(capacity)}`);
  }

  /** Checkpoints held, anchors and the furthest and latest states together. */
  get size(): number {
    return this.count;
  }

  /** The furthest checkpoint of `stream` strictly before `position`. */
  before(stream: string, position: number): StreamCheckpoint | undefined {
    return this.furthest(stream, (c) => c.lastPosition < position);
  }

  /** The furthest checkpoint of `stream` whose verified head is below `revision`. */
  belowRevision(stream: string, revision: number): StreamCheckpoint | undefined {
    return this.furthest(stream, (c) => c.state.head.revision < revision);
  }

  /** Whether a head moving from revision `from` to `to` passes a multiple of `every` (an anchor is due). */
  crosses(from: number, to: number): boolean {
    return Math.floor(to / this.every) > Math.floor(from / this.every);
  }

  /**
   * Keep `cp` as the stream's latest state, as its furthest if it is further than the one held,
   * and, with `anchor`, as the anchor of its stretch of `every` revisions if that has none yet.
   */
  offer(stream: string, cp: StreamCheckpoint, anchor: boolean): void {
    let c = this.streams.get(stream);
    if (!c) {
      c = { anchors: [], furthest: undefined, latest: undefined };
      this.streams.set(stream, c);
    }
    if (!c.latest) this.count++;
    c.latest = cp;
    if (!c.furthest || c.furthest.lastPosition < cp.lastPosition) {
      if (!c.furthest) this.count++;
      c.furthest = cp;
    }
    if (anchor) {
      const a = c.anchors;
      const at = firstIndex(a, (x) => x.lastPosition >= cp.lastPosition);
      const stretch = Math.floor(cp.state.head.revision / this.every);
      const same = (x: StreamCheckpoint | undefined) => x !== undefined && Math.floor(x.state.head.revision / this.every) === stretch;
      if (!same(a[at - 1]) && !same(a[at]) && a[at]?.lastPosition !== cp.lastPosition) {
        a.splice(at, 0, cp);
        this.count++;
      }
    }
    this.trim(stream);
  }

  private furthest(stream: string, ok: (c: StreamCheckpoint) => boolean): StreamCheckpoint | undefined {
    const c = this.streams.get(stream);
    if (!c) return undefined;
    if (c.furthest && ok(c.furthest)) return c.furthest;
    // Anchors are in position order, and so in revision order: the last one that is `ok`.
    const anchor = c.anchors[firstIndex(c.anchors, (x) => !ok(x)) - 1];
    return c.latest && ok(c.latest) && (!anchor || anchor.lastPosition < c.latest.lastPosition) ? c.latest : anchor;
  }

  /** Over capacity: forget whole streams, the first checkpointed first (never the one just offered). */
  private trim(keep: string): void {
    for (const [stream, c] of this.streams) {
      if (this.count <= this.capacity) return;
      if (stream === keep) continue;
      this.count -= c.anchors.length + (c.furthest ? 1 : 0) + (c.latest ? 1 : 0);
      this.streams.delete(stream);
    }
    // One stream alone over capacity: its oldest anchors go.
    const c = this.streams.get(keep);
    while (c && this.count > this.capacity && c.anchors.length > 0) {
      c.anchors.shift();
      this.count--;
    }
  }
}

/** The first index whose element satisfies `p` (which holds for a suffix of `xs`), or `xs.length`. */
function firstIndex<T>(xs: ReadonlyArray<T>, p: (x: T) => boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p(xs[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
