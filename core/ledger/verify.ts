import { GENESIS_HASH } from '../envelope.ts';
import type { EventStore } from '../store/event-store.ts';
import type { PublicKeyDirectory } from './keyring.ts';
import { checkEvent, ledgerHeadHash } from './seal.ts';

export interface BrokenLink {
  readonly stream: string;
  readonly revision: number;
  readonly position: number;
  readonly eventId: string;
  readonly reason: string;
}

export interface AuditReport {
  readonly ok: boolean;
  readonly events: number;
  readonly streams: number;
  /** The first broken link in ledger order, if any. */
  readonly firstBroken?: BrokenLink;
  /** Every broken stream's first break (one per stream). */
  readonly broken: ReadonlyArray<BrokenLink>;
  readonly headHash: string;
}

/**
 * Walk the whole ledger and check every stream: revisions count up from 0 without gaps,
 * each `prevHash` is the previous event's `hash`, each hash recomputes from the content, and
 * each signature verifies with its source's public key.
 */
export async function verifyLedger(store: EventStore, keys: PublicKeyDirectory, onProgress?: (events: number) => void): Promise<AuditReport> {
  const heads = new Map<string, { revision: number; hash: string; broken: boolean }>();
  const broken: BrokenLink[] = [];
  let events = 0;
  for await (const e of store.readAll()) {
    events++;
    if (onProgress && events % 10_000 === 0) onProgress(events);
    const head = heads.get(e.stream);
    if (head?.broken) continue;
    let reason: string | null = null;
    const expectedRevision = head ? head.revision + 1 : 0;
    const expectedPrev = head ? head.hash : GENESIS_HASH;
    if (e.revision !== expectedRevision) reason = `revision ${e.revision} follows ${head ? head.revision : 'the start of the stream'} (expected ${expectedRevision})`;
    else if (e.prevHash !== expectedPrev) reason = `prevHash ${e.prevHash.slice(0, 12)}… does not match the previous event's hash ${expectedPrev.slice(0, 12)}…`;
    else reason = checkEvent(e, keys);
    if (reason) {
      broken.push({ stream: e.stream, revision: e.revision, position: e.position, eventId: e.id, reason });
      heads.set(e.stream, { revision: e.revision, hash: e.hash, broken: true });
    } else {
      heads.set(e.stream, { revision: e.revision, hash: e.hash, broken: false });
    }
  }
  // The streams table is a cache of heads; it must agree with the events themselves.
  for (const h of await store.streamHeads()) {
    const seen = heads.get(h.stream);
    if (!seen) broken.push({ stream: h.stream, revision: h.revision, position: 0, eventId: '', reason: 'stream head recorded but the stream has no events' });
    else if (!seen.broken && (seen.revision !== h.revision || seen.hash !== h.hash)) {
      broken.push({ stream: h.stream, revision: h.revision, position: 0, eventId: '', reason: `recorded head (revision ${h.revision}) disagrees with the last event (revision ${seen.revision})` });
    }
  }
  const headHash = ledgerHeadHash([...heads].map(([stream, h]) => ({ stream, revision: h.revision, hash: h.hash })));
  const firstBroken = broken[0];
  return { ok: broken.length === 0, events, streams: heads.size, broken, headHash, ...(firstBroken ? { firstBroken } : {}) };
}
