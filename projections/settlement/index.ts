export * from './events.ts';
export {
  MAX_IGNORED_KEPT,
  OFFER_PLAN_BASELINE,
  OFFER_RETENTION_MS,
  contractedKwAt,
  evolveSettlement,
  initialSettlementState,
  periodKey,
  settlementProjection,
  type OrderPhase,
  type SettledOrder,
  type SettlementState,
} from './state.ts';
export {
  METER_MISSING_AFTER_MS,
  dayStatement,
  orderStatement,
  periodLines,
  totalsOf,
  type DayLine,
  type DayLineStatus,
  type DayStatement,
  type LineStatus,
  type OrderStatement,
  type SettlementLine,
  type Totals,
} from './settle.ts';
export { toCsv } from './csv.ts';
