import { GENESIS_HASH } from '../envelope.ts';
import type { EventStore } from '../store/event-store.ts';
import type { PublicKeyDirectory } from './keyring.ts';
import { checkEvent, ledgerHeadHash } from './seal.ts';
import { AnchorAuditor, type AnchorInput, type AnchorVerdict, type ExpectHeadVerdict } from '../anchor/anchor-audit.ts';
import type { PositionLayout } from '../anchor/ledger-tracker.ts';

export interface BrokenLink {
  /** '' for a break of the ledger as a whole (events missing between two positions). */
  readonly stream: string;
  readonly revision: number;
  readonly position: number;
  readonly eventId: string;
  readonly reason: string;
}

/** A break in words: where (a stream's revision, or a position of the ledger as a whole) and why. */
export function describeBreak(b: BrokenLink): string {
  return b.stream === '' ? `position ${b.position}: ${b.reason}` : `stream ${b.stream}, revision ${b.revision} (position ${b.position}): ${b.reason}`;
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
  /** Global position of the last event read (0 for an empty ledger). */
  readonly position: number;
  /** The head root (`headRoot`): stream heads, global order, count and position in one hash. */
  readonly root: string;
  /** The ledger held to its anchor, when one was given. */
  readonly anchor?: AnchorVerdict;
  /** The head root held to the value given, when one was given. */
  readonly expectHead?: ExpectHeadVerdict;
}

export interface VerifyOptions {
  /** Signed checkpoints from outside the ledger (see core/anchor). */
  readonly anchor?: AnchorInput;
  /** A head root recorded earlier (printed by `caco simulate`, or an anchor checkpoint's root). */
  readonly expectHead?: string;
}

/** A store that can say where its log ends without reading it (JetStream). */
interface LastPosition {
  lastPosition(): Promise<number>;
}

/** Stores whose positions follow a known pattern, so a missing event shows as a hole. */
function layoutOf(kind: EventStore['kind']): PositionLayout | undefined {
  return kind === 'sqlite' || kind === 'jetstream' ? kind : undefined;
}

/**
 * Walk the whole ledger and check every stream: revisions count up from 0 without gaps,
 * each `prevHash` is the previous event's `hash`, each hash recomputes from the content, and
 * each signature verifies with its source's public key.
 */
export async function verifyLedger(store: EventStore, keys: PublicKeyDirectory, onProgress?: (events: number) => void, opts: VerifyOptions = {}): Promise<AuditReport> {
  const auditor = new AnchorAuditor(layoutOf(store.kind), opts.anchor);
  const heads = new Map<string, { revision: number; hash: string; broken: boolean }>();
  const broken: BrokenLink[] = [];
  let events = 0;
  for await (const e of store.readAll()) {
    events++;
    if (onProgress && events % 10_000 === 0) onProgress(events);
    // A hole in the positions is reported where it is, not at the next event of the stream
    // that lost one (which may be far away, or never come).
    const gap = auditor.observe(e);
    if (gap) broken.push({ stream: '', revision: -1, position: gap.from, eventId: '', reason: gap.reason });
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
  // A store that knows where its log ends (JetStream: the stream's last sequence) shows a
  // message dropped at the very end, which no later event can reveal as a hole.
  const ender = store as EventStore & Partial<LastPosition>;
  const end = ender.lastPosition ? await ender.lastPosition() : undefined;
  if (end !== undefined) {
    const gap = auditor.endGap(end);
    if (gap) broken.push({ stream: '', revision: -1, position: gap.from, eventId: '', reason: gap.reason });
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
  const fold = auditor.finish(opts.expectHead);
  const ok = broken.length === 0 && (fold.anchor?.ok ?? true) && (fold.expectHead?.ok ?? true);
  return {
    ok,
    events,
    streams: heads.size,
    broken,
    headHash,
    position: fold.position,
    root: fold.root,
    ...(firstBroken ? { firstBroken } : {}),
    ...(fold.anchor ? { anchor: fold.anchor } : {}),
    ...(fold.expectHead ? { expectHead: fold.expectHead } : {}),
  };
}
