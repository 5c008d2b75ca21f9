import { GENESIS_HASH, type Message } from '../../core/envelope/index.ts';
import { ledgerHeadHash } from '../../core/ledger/index.ts';
import { BucketMap } from '../schedule/index.ts';
import { evolverOf, type FoldEvent, type Needs, type Projection, type Skipped } from '../kit.ts';

/**
 * What the ledger holds, as a fold: how many events, of which types, the head of every stream
 * and so the ledger's head hash (the same number `verifyLedger` and `caco audit verify` print).
 * It checks what a fold can see — revisions count up and each `prevHash` is the previous hash —
 * but not hashes or signatures: recomputing those is `verifyLedger`'s job.
 */

/** The envelope fields the audit reads of every event: it folds the chain, not the payloads. */
type AuditFields = 'id' | 'stream' | 'revision' | 'position' | 'time' | 'prevHash' | 'hash';
export type AuditEvent = FoldEvent & Needs<AuditFields>;

export interface StreamHead {
  readonly revision: number;
  readonly hash: string;
}

export interface ChainBreak {
  readonly stream: string;
  readonly revision: number;
  readonly eventId: string;
  readonly reason: string;
}

export interface AuditState {
  readonly events: number;
  readonly lastPosition: number;
  readonly firstTime: string | null;
  readonly lastTime: string | null;
  readonly lastEventId: string | null;
  readonly streams: BucketMap<StreamHead>;
  /**
   * Events by type: a type is whatever its writer named it, `constructor` or `__proto__`
   * included. At most MAX_TYPES_COUNTED types by name, the rest under OTHER_TYPES (see countType).
   */
  readonly byType: BucketMap<number>;
  /** Links the fold saw broken (first few kept). */
  readonly chainBreaks: ReadonlyArray<ChainBreak>;
  /** What the read model could not fold of the ledger (`noteSkipped`, `noteFoldFailure`). */
  readonly unread: Unread;
}

/** An event a projection skipped: its version is not one the projection reads, or its payload does not decode (projections/kit.ts `Skipped`). */
export interface SkipNote {
  readonly eventId: string | null;
  readonly type: string;
  readonly version: number;
  readonly projection: string;
  readonly reason: string;
}

/** An event whose fold threw: the projections went on without it. */
export interface FoldFailure {
  readonly eventId: string | null;
  readonly type: string;
  readonly version: number | null;
  readonly error: string;
}

/** Events the projections did not fold: skipped (counted by `type@version`) and failed. */
export interface Unread {
  readonly skipped: number;
  readonly skippedByType: BucketMap<number>;
  /** The first few skipped. */
  readonly skippedFirst: ReadonlyArray<SkipNote>;
  readonly failed: number;
  /** The first few failures. */
  readonly failedFirst: ReadonlyArray<FoldFailure>;
}

export const MAX_BREAKS_KEPT = 20;
/** Skipped events and fold failures kept with their ids (the counts cover all of them). */
export const MAX_UNREAD_KEPT = 20;

const noneUnread: Unread = { skipped: 0, skippedByType: BucketMap.empty(), skippedFirst: [], failed: 0, failedFirst: [] };

export const initialAudit: AuditState = { events: 0, lastPosition: 0, firstTime: null, lastTime: null, lastEventId: null, streams: BucketMap.empty(), byType: BucketMap.empty(), chainBreaks: [], unread: noneUnread };

/** Types counted by name; events of further types are counted together under OTHER_TYPES. */
export const MAX_TYPES_COUNTED = 4096;
export const OTHER_TYPES = '(other types)';

/**
 * One more event of `type`. A registered outside party may name a new `ext.*` type per fact
 * (64 an announcement, 50,000 facts a day): every event copied the whole count map, so one
 * party's day of new types cost ~5 minutes of folding and 11 ms on every later event of the
 * dashboard's live model (a helper's review). Counts past MAX_TYPES_COUNTED names share one
 * key, and the map copies one bucket of them per event.
 */
function countType(counts: BucketMap<number>, type: string): BucketMap<number> {
  const key = counts.has(type) || counts.size < MAX_TYPES_COUNTED ? type : OTHER_TYPES;
  return counts.set(key, (counts.get(key) ?? 0) + 1);
}

export const auditProjection: Projection<AuditState, Message, AuditFields> = {
  name: 'audit',
  handles: 'all',
  initial: initialAudit,
  evolve(s: AuditState, e: AuditEvent): AuditState {
    const head = s.streams.get(e.stream);
    const expectedRevision = head ? head.revision + 1 : 0;
    const expectedPrev = head ? head.hash : GENESIS_HASH;
    let chainBreaks = s.chainBreaks;
    const reason = e.revision !== expectedRevision ? `revision ${e.revision}, expected ${expectedRevision}` : e.prevHash !== expectedPrev ? 'prevHash is not the previous event’s hash' : null;
    if (reason && chainBreaks.length < MAX_BREAKS_KEPT) chainBreaks = [...chainBreaks, { stream: e.stream, revision: e.revision, eventId: e.id, reason }];
    const byType = countType(s.byType, e.type);
    return {
      events: s.events + 1,
      lastPosition: Math.max(s.lastPosition, e.position),
      firstTime: s.firstTime ?? e.time,
      lastTime: s.lastTime === null || e.time > s.lastTime ? e.time : s.lastTime,
      lastEventId: e.id,
      streams: s.streams.set(e.stream, { revision: e.revision, hash: e.hash }),
      byType,
      chainBreaks,
      unread: s.unread,
    };
  },
};

/** The audit with one more event a projection skipped (the read model calls it once per event skipped). */
export function noteSkipped(s: AuditState, skipped: Skipped): AuditState {
  const u = s.unread;
  const key = `${skipped.type}@${skipped.version}`;
  const skippedByType = countType(u.skippedByType, key);
  const note: SkipNote = { eventId: skipped.eventId, type: skipped.type, version: skipped.version, projection: skipped.projection, reason: skipped.reason };
  return { ...s, unread: { ...u, skipped: u.skipped + 1, skippedByType, skippedFirst: u.skippedFirst.length < MAX_UNREAD_KEPT ? [...u.skippedFirst, note] : u.skippedFirst } };
}

/** The audit with one more event whose fold threw (what keeps following the ledger records it, and goes on). */
export function noteFoldFailure(s: AuditState, e: { readonly id?: string; readonly type: string; readonly version?: number }, err: unknown): AuditState {
  const u = s.unread;
  const failure: FoldFailure = { eventId: e.id ?? null, type: e.type, version: e.version ?? null, error: err instanceof Error ? err.message : String(err) };
  return { ...s, unread: { ...u, failed: u.failed + 1, failedFirst: u.failedFirst.length < MAX_UNREAD_KEPT ? [...u.failedFirst, failure] : u.failedFirst } };
}

export const evolveAudit = evolverOf(auditProjection);

/** The ledger head hash over every stream's last event, as `verifyLedger` computes it. */
export function auditHeadHash(s: AuditState): string {
  return ledgerHeadHash([...s.streams.entries()].map(([stream, h]) => ({ stream, revision: h.revision, hash: h.hash })));
}

export interface AuditSummary {
  readonly events: number;
  readonly streams: number;
  readonly lastPosition: number;
  readonly firstTime: string | null;
  readonly lastTime: string | null;
  readonly headHash: string;
  readonly chainOk: boolean;
  /** Events by type, sorted by type: own properties only (`Object.hasOwn` before reading one by name). */
  readonly byType: Readonly<Record<string, number>>;
  /** Whether the projections folded every event they read; what they did not, with the first few ids. */
  readonly projections: {
    readonly complete: boolean;
    readonly skipped: number;
    /** By `type@version`, sorted. */
    readonly skippedByType: Readonly<Record<string, number>>;
    readonly skippedFirst: ReadonlyArray<SkipNote>;
    readonly failed: number;
    readonly failedFirst: ReadonlyArray<FoldFailure>;
  };
}

/** A record of counts, sorted by key, built with own data properties only (`Object.fromEntries`), so no key reads or replaces an inherited one. */
const sortedCounts = (m: BucketMap<number>): Readonly<Record<string, number>> => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function auditSummary(s: AuditState): AuditSummary {
  const u = s.unread;
  return {
    events: s.events,
    streams: s.streams.size,
    lastPosition: s.lastPosition,
    firstTime: s.firstTime,
    lastTime: s.lastTime,
    headHash: auditHeadHash(s),
    chainOk: s.chainBreaks.length === 0,
    byType: sortedCounts(s.byType),
    projections: { complete: u.skipped === 0 && u.failed === 0, skipped: u.skipped, skippedByType: sortedCounts(u.skippedByType), skippedFirst: u.skippedFirst, failed: u.failed, failedFirst: u.failedFirst },
  };
}

/**
 * What a reader is told when the projections are incomplete, one line each (none when they are
 * complete): `3 events skipped: compute.plan.published@2 ×2, flex.order.fulfilled@2 ×1 (first: <id>, …)`.
 * The types are as their writers named them: print them inert on a terminal.
 */
export function unreadLines(p: AuditSummary['projections']): string[] {
  const out: string[] = [];
  if (p.skipped > 0) {
    const kinds = Object.entries(p.skippedByType).map(([k, n]) => `${k} ×${n}`);
    const first = p.skippedFirst[0];
    out.push(`${p.skipped} event${p.skipped === 1 ? '' : 's'} skipped by the projections: ${kinds.join(', ')}${first ? ` (first: event ${first.eventId ?? '?'}, ${first.projection}: ${first.reason})` : ''}`);
  }
  if (p.failed > 0) {
    const first = p.failedFirst[0]!;
    out.push(`${p.failed} event${p.failed === 1 ? '' : 's'} failed to fold; the projections are incomplete (first: event ${first.eventId ?? '?'}, ${first.type}${first.version === null ? '' : `@${first.version}`}: ${first.error})`);
  }
  return out;
}
