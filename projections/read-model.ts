import type { Envelope } from '../core/envelope.ts';
import type { EventStore } from '../core/store/event-store.ts';
import { evolveAudit, initialAudit, type AuditState } from './audit/index.ts';
import { evolveCarbon, initialCarbon, type CarbonState } from './carbon/index.ts';
import { evolveCost, initialCost, type CostState } from './cost/index.ts';
import { evolveFlexibility, initialFlexibility, type FlexibilityState } from './flexibility/index.ts';
import { evolveForecast, initialForecast, type ForecastState } from './forecast/index.ts';
import { evolveSchedule, initialSchedule, type ScheduleState } from './schedule/index.ts';
import { evolveSettlement, initialSettlementState, type SettlementState } from './settlement/index.ts';

/** Every projection the report and the dashboard show, folded together in one pass. */
export interface ReadModel {
  readonly schedule: ScheduleState;
  readonly carbon: CarbonState;
  readonly cost: CostState;
  readonly flexibility: FlexibilityState;
  readonly forecast: ForecastState;
  readonly settlement: SettlementState;
  readonly audit: AuditState;
}

export const initialReadModel: ReadModel = {
  schedule: initialSchedule,
  carbon: initialCarbon,
  cost: initialCost,
  flexibility: initialFlexibility,
  forecast: initialForecast,
  settlement: initialSettlementState,
  audit: initialAudit,
};

export function evolveReadModel(m: ReadModel, e: Envelope): ReadModel {
  return {
    schedule: evolveSchedule(m.schedule, e),
    carbon: evolveCarbon(m.carbon, e),
    cost: evolveCost(m.cost, e),
    flexibility: evolveFlexibility(m.flexibility, e),
    forecast: evolveForecast(m.forecast, e),
    settlement: evolveSettlement(m.settlement, e),
    audit: evolveAudit(m.audit, e),
  };
}

export function projectReadModel(events: Iterable<Envelope>, from: ReadModel = initialReadModel): ReadModel {
  let m = from;
  for (const e of events) m = evolveReadModel(m, e);
  return m;
}

/** Fold the whole ledger. */
export async function loadReadModel(store: EventStore): Promise<ReadModel> {
  let m = initialReadModel;
  for await (const e of store.readAll()) m = evolveReadModel(m, e);
  return m;
}
