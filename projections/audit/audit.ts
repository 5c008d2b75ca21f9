import { GENESIS_HASH, type Message } from '../../core/envelope/index.ts';
import { ledgerHeadHash } from '../../core/ledger/index.ts';
import { BucketMap } from '../schedule/index.ts';
import { evolverOf, type FoldEvent, type Needs, type Projection } from '../kit.ts';

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
  readonly byType: Readonly<Record<string, number>>;
  /** Links the fold saw broken (first few kept). */
  readonly chainBreaks: ReadonlyArray<ChainBreak>;
}

export const MAX_BREAKS_KEPT = 20;

export const initialAudit: AuditState = { events: 0, lastPosition: 0, firstTime: null, lastTime: null, lastEventId: null, streams: BucketMap.empty(), byType: {}, chainBreaks: [] };

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
    return {
      events: s.events + 1,
      lastPosition: Math.max(s.lastPosition, e.position),
      firstTime: s.firstTime ?? e.time,
      lastTime: s.lastTime === null || e.time > s.lastTime ? e.time : s.lastTime,
      lastEventId: e.id,
      streams: s.streams.set(e.stream, { revision: e.revision, hash: e.hash }),
      byType: { ...s.byType, [e.type]: (s.byType[e.type] ?? 0) + 1 },
      chainBreaks,
    };
  },
};

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
  readonly byType: Readonly<Record<string, number>>;
}

export function auditSummary(s: AuditState): AuditSummary {
  const byType = Object.fromEntries(Object.entries(s.byType).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { events: s.events, streams: s.streams.size, lastPosition: s.lastPosition, firstTime: s.firstTime, lastTime: s.lastTime, headHash: auditHeadHash(s), chainOk: s.chainBreaks.length === 0, byType };
}
