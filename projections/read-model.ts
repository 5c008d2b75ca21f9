import type { EventStore } from '../core/store/index.ts';
import { auditProjection, noteSkipped } from './audit/index.ts';
import { carbonProjection } from './carbon/index.ts';
import { costProjection } from './cost/index.ts';
import { flexibilityProjection } from './flexibility/index.ts';
import { forecastProjection } from './forecast/index.ts';
import { combine, evolverOf, fold, foldAsync, type InputOf, type StateOf } from './kit.ts';
import { scheduleProjection } from './schedule/index.ts';
import { settlementProjection } from './settlement/index.ts';

/**
 * Every projection the report, replay and the dashboard show, folded together in one pass. An
 * event a part skips (a version it does not read, a payload that does not decode: kit.ts
 * `readOf`) is counted in the audit by `type@version`, with its id, so whoever shows the read
 * model can say its projections are incomplete.
 */
export const readModelProjection = combine(
  {
    schedule: scheduleProjection,
    carbon: carbonProjection,
    cost: costProjection,
    flexibility: flexibilityProjection,
    forecast: forecastProjection,
    settlement: settlementProjection,
    audit: auditProjection,
  },
  'read-model',
  { onSkip: (m, skipped) => ({ ...m, audit: noteSkipped(m.audit, skipped) }), lastFolded: (m) => m.audit.lastPosition },
);

export type ReadModel = StateOf<typeof readModelProjection>;
/** A ledger event: the audit part reads its chain fields, so a plain message is not enough. */
export type ReadModelEvent = InputOf<typeof readModelProjection>;

export const initialReadModel: ReadModel = readModelProjection.initial;

export const evolveReadModel: (m: ReadModel, e: ReadModelEvent) => ReadModel = evolverOf(readModelProjection);

export function projectReadModel(events: Iterable<ReadModelEvent>, from: ReadModel = initialReadModel): ReadModel {
  return fold(readModelProjection, events, from);
}

/** Fold the whole ledger. */
export function loadReadModel(store: EventStore): Promise<ReadModel> {
  return foldAsync(readModelProjection, store.readAll());
}
