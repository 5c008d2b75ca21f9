import type { EventStore } from '../core/store/index.ts';
import { evolveReadModel, initialReadModel } from '../projections/index.ts';
import { scheduleSummary, type ScheduleSummary } from '../projections/schedule/index.ts';
import { costTotals, type CostTotals } from '../projections/cost/index.ts';
import { carbonTotals, type CarbonTotals } from '../projections/carbon/index.ts';
import { flexTotals, type FlexTotals } from '../projections/flexibility/index.ts';
import { auditSummary, type AuditSummary } from '../projections/audit/index.ts';

export interface ReplaySummary {
  readonly events: number;
  readonly ms: number;
  readonly schedule: ScheduleSummary;
  readonly cost: CostTotals;
  readonly carbon: CarbonTotals;
  readonly flexibility: FlexTotals;
  readonly audit: AuditSummary;
}

/** Fold the whole ledger into every read model (the same folds the report and dashboard use). */
export async function replayLedger(store: EventStore): Promise<ReplaySummary> {
  const t0 = performance.now();
  let m = initialReadModel;
  let events = 0;
  for await (const e of store.readAll()) {
    m = evolveReadModel(m, e);
    events++;
  }
  return {
    events,
    ms: performance.now() - t0,
    schedule: scheduleSummary(m.schedule),
    cost: costTotals(m.cost),
    carbon: carbonTotals(m.carbon),
    flexibility: flexTotals(m.flexibility),
    audit: auditSummary(m.audit),
  };
}
