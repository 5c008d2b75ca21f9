import type { EventStore } from '../core/store/index.ts';
import { auditProjection } from './audit/index.ts';
import { carbonProjection } from './carbon/index.ts';
import { costProjection } from './cost/index.ts';
import { flexibilityProjection } from './flexibility/index.ts';
import { forecastProjection } from './forecast/index.ts';
import { combine, evolverOf, fold, foldAsync, type InputOf, type StateOf } from './kit.ts';
import { scheduleProjection } from './schedule/index.ts';
import { settlementProjection } from './settlement/index.ts';

/** Every projection the report, replay and the dashboard show, folded together in one pass. */
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
