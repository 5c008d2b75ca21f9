import type { EventStore, UnreadableRecord } from '../store/event-store.ts';
import { ChainVerifier, type Judged } from './chain-verifier.ts';
import type { KeyResolver } from './key-resolver.ts';
import { SignatureCache } from './signature-cache.ts';
import { ledgerHeadHash } from './seal.ts';
import { VerifiedEventStore } from '../store/verified-store.ts';
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
  if (b.stream === '') return `position ${b.position}: ${b.reason}`;
  // revision -1: a stored message that is not an event (its stream is its subject's).
  if (b.revision < 0) return `unreadable message on stream ${b.stream} (position ${b.position}): ${b.reason}`;
  return `stream ${b.stream}, revision ${b.revision} (position ${b.position}): ${b.reason}`;
}

export interface AuditReport {
  readonly ok: boolean;
  readonly events: number;
  readonly streams: number;
  /** The first broken link in ledger order, if any. */
  readonly firstBroken?: BrokenLink;
  /** Breaks, refused events and unreadable messages, in ledger order: the first MAX_LISTED_BREAKS of them. */
  readonly broken: ReadonlyArray<BrokenLink>;
  /** How many more there were after those listed in `broken` (0 when all are listed). */
  readonly brokenMore: number;
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

/**
 * The most breaks a report lists; the rest are counted (`brokenMore`). A ledger anyone can
 * append to may hold any number of refused events, and the audit must finish on it.
 */
export const MAX_LISTED_BREAKS = 1_000;

/** A store that can say where its log ends without reading it (JetStream). */
interface LastPosition {
  lastPosition(): Promise<number>;
}

/** A table store that can name rows at positions below 1, which no read reaches. */
interface RowsBeforeStart {
  rowsBeforeStart(limit: number): Promise<ReadonlyArray<UnreadableRecord>>;
}

/** Stores whose positions follow a known pattern, so a missing event shows as a hole. */
function layoutOf(kind: EventStore['kind']): PositionLayout | undefined {
  // PostgreSQL and KurrentDB hand out dense positions as SQLite does: a hole is a deleted event.
  return kind === 'sqlite' || kind === 'postgres' || kind === 'kurrentdb' ? 'sqlite' : kind === 'jetstream' ? 'jetstream' : undefined;
}

/**
 * Walk the whole ledger and check every stream as verify-on-read does (ChainVerifier):
 * revisions count up from 0 without gaps, each `prevHash` is the previous verified event's
 * `hash`, each hash recomputes from the content, and each signature verifies with a
 * registered key of its source (its own, or its commit's signed head's: an unsigned tail
 * with no signed head after it is refused, naming each of its events). A refused event, or a message that is not an event at all,
 * is reported with its position and reason and passed over, as the readers pass it over:
 * the check carries on with the next event against the last verified one, so every bad
 * event is named, not only the first of each stream.
 */
export async function verifyLedger(store: EventStore, keys: KeyResolver, onProgress?: (events: number) => void, opts: VerifyOptions = {}): Promise<AuditReport> {
  // The audit judges what is stored, not what a verified view lets through.
  if (store instanceof VerifiedEventStore) store = store.inner;
  const auditor = new AnchorAuditor(layoutOf(store.kind), opts.anchor);
  // As verify-on-read: the heads of a batch share one signature, checked once.
  const verifier = new ChainVerifier(keys, new SignatureCache());
  const brokenStreams = new Set<string>();
  const listed: BrokenLink[] = [];
  let brokenMore = 0;
  const broken = {
    push(b: BrokenLink): void {
      if (listed.length < MAX_LISTED_BREAKS) listed.push(b);
      else brokenMore++;
    },
  };
  let events = 0;
  const onUnreadable = (u: UnreadableRecord) => {
    // Reported, and passed over by the position check too: it is not a hole.
    const gap = auditor.passOver(u.position);
    if (gap) broken.push({ stream: '', revision: -1, position: gap.from, eventId: '', reason: gap.reason });
    broken.push({ stream: u.stream ?? '(unknown)', revision: -1, position: u.position, eventId: '', reason: u.reason });
    if (u.stream !== undefined) brokenStreams.add(u.stream);
  };
  const note = ({ event: e, verdict }: Judged) => {
    if (verdict.ok) return;
    broken.push({ stream: String(e.stream), revision: e.revision, position: e.position, eventId: String(e.id), reason: verdict.reason });
    brokenStreams.add(String(e.stream));
  };
  // Rows no read reaches (below position 1) show otherwise only as the hole they left.
  const strays = store as EventStore & Partial<RowsBeforeStart>;
  for (const u of strays.rowsBeforeStart ? await strays.rowsBeforeStart(MAX_LISTED_BREAKS) : []) {
    broken.push({ stream: u.stream ?? '(unknown)', revision: -1, position: u.position, eventId: '', reason: u.reason });
    if (u.stream !== undefined) brokenStreams.add(u.stream);
  }
  for await (const e of store.readAll({ onUnreadable })) {
    events++;
    if (onProgress && events % 10_000 === 0) onProgress(events);
    // A hole in the positions is reported where it is, not at the next event of the stream
    // that lost one (which may be far away, or never come).
    const gap = auditor.observe(e);
    if (gap) broken.push({ stream: '', revision: -1, position: gap.from, eventId: '', reason: gap.reason });
    for (const j of verifier.push(e)) note(j);
  }
  // A commit still open at the end has no signed head after it.
  for (const j of verifier.flush()) note(j);
  // A store that knows where its log ends (JetStream: the stream's last sequence) shows a
  // message dropped at the very end, which no later event can reveal as a hole.
  const ender = store as EventStore & Partial<LastPosition>;
  const end = ender.lastPosition ? await ender.lastPosition() : undefined;
  if (end !== undefined) {
    const gap = auditor.endGap(end);
    if (gap) broken.push({ stream: '', revision: -1, position: gap.from, eventId: '', reason: gap.reason });
  }
  // The store's own idea of each stream's head must be the last verified event. (Where a
  // forgery was passed over, the store's last message may be that forgery: it is reported above.)
  for (const h of await store.streamHeads()) {
    if (brokenStreams.has(h.stream)) continue;
    const seen = verifier.head(h.stream);
    if (!seen) broken.push({ stream: h.stream, revision: h.revision, position: 0, eventId: '', reason: 'stream head recorded but the stream has no events' });
    else if (seen.revision !== h.revision || seen.hash !== h.hash) {
      broken.push({ stream: h.stream, revision: h.revision, position: 0, eventId: '', reason: `recorded head (revision ${h.revision}) disagrees with the last event (revision ${seen.revision})` });
    }
  }
  const heads = [...verifier.heads()];
  const headHash = ledgerHeadHash(heads.map(([stream, h]) => ({ stream, revision: h.revision, hash: h.hash })));
  const firstBroken = listed[0];
  const fold = auditor.finish(opts.expectHead);
  const ok = listed.length === 0 && (fold.anchor?.ok ?? true) && (fold.expectHead?.ok ?? true);
  return {
    ok,
    events,
    streams: heads.length,
    broken: listed,
    brokenMore,
    headHash,
    position: fold.position,
    root: fold.root,
    ...(firstBroken ? { firstBroken } : {}),
    ...(fold.anchor ? { anchor: fold.anchor } : {}),
    ...(fold.expectHead ? { expectHead: fold.expectHead } : {}),
  };
}
