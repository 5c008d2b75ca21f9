import { GENESIS_HASH } from '../envelope/envelope.ts';
import { ledgerHeadHash } from '../ledger/seal.ts';
import { headRoot, nextLogHash, type LedgerSnapshot } from './checkpoint.ts';

/** What the tracker needs of an event. */
export interface Positioned {
  readonly stream: string;
  readonly revision: number;
  readonly position: number;
  readonly hash: string;
}

/**
 * Folds events in position order into what an anchor states: every stream's head, the count,
 * the position and the global-order chain. O(1) per event; the heads hash is taken on demand.
 */
export class LedgerTracker {
  private readonly heads = new Map<string, { revision: number; hash: string }>();
  events = 0;
  position = 0;
  logHash = GENESIS_HASH;

  observe(e: Positioned): void {
    this.heads.set(e.stream, { revision: e.revision, hash: e.hash });
    this.events++;
    this.position = e.position;
    this.logHash = nextLogHash(this.logHash, e.position, e.hash);
  }

  /**
   * A stored message at `position` that is not an event (junk on a ledger subject): it holds
   * no head and is not counted, but the log has moved past it, so it is no hole either.
   * The anchor writer and the audit both pass over it the same way.
   */
  passOver(position: number): void {
    if (position > this.position) this.position = position;
  }

  headsHash(): string {
    return ledgerHeadHash([...this.heads].map(([stream, h]) => ({ stream, revision: h.revision, hash: h.hash })));
  }

  snapshot(): LedgerSnapshot & { readonly root: string } {
    const s = { position: this.position, events: this.events, streams: this.heads.size, headsHash: this.headsHash(), logHash: this.logHash };
    return { ...s, root: headRoot(s) };
  }
}

/** Positions a store hands out: which follow each other with nothing between. */
export type PositionLayout = 'sqlite' | 'jetstream';

const PER_COMMIT = 1024;

export interface PositionGap {
  /** First missing position (or, on JetStream, the first position of the first missing commit). */
  readonly from: number;
  readonly reason: string;
}

/**
 * Is something missing between two consecutive events of a full read? SQLite positions are
 * 1, 2, 3 … with no hole (an AUTOINCREMENT rolled back with its transaction leaves none);
 * JetStream positions are sequence × 1024 + index, the sequences 1, 2, 3 … with no hole (the
 * ledger stream denies deletes). `prev` is 0 before the first event.
 */
export function positionGap(layout: PositionLayout, prev: number, next: number): PositionGap | null {
  if (layout === 'sqlite') {
    if (next === prev + 1) return null;
    if (next <= prev) return { from: next, reason: `position ${next} comes after position ${prev}: the ledger is out of order` };
    const n = next - prev - 1;
    return {
      from: prev + 1,
      reason: `position ${range(prev + 1, next - 1)} missing: ${n} event${n === 1 ? ' was' : 's were'} removed between position ${prev || '(start)'} and ${next}`,
    };
  }
  const ps = Math.floor(prev / PER_COMMIT);
  const ns = Math.floor(next / PER_COMMIT);
  if (ns === ps && next === prev + 1) return null;
  if (ns === ps + 1 && next % PER_COMMIT === 0) return null;
  if (ns > ps + 1) {
    const n = ns - ps - 1;
    return {
      from: (ps + 1) * PER_COMMIT,
      reason: `JetStream sequence ${range(ps + 1, ns - 1)} missing (position ${(ps + 1) * PER_COMMIT}${n > 1 ? ` to ${(ns - 1) * PER_COMMIT}` : ''}): the server does not deliver ${n === 1 ? 'that commit' : `those ${n} commits`} (dropped as corrupt, or removed)`,
    };
  }
  return { from: next, reason: `position ${next} after ${prev}: events inside a commit are missing or out of order` };
}

function range(a: number, b: number): string {
  return a === b ? String(a) : `${a}–${b}`;
}
