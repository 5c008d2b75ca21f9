export {
  dayImport,
  evolveMetering,
  initialMeteringState,
  MAX_REJECTED_KEPT,
  periodImport,
  periodImportAt,
  projectMetering,
  type MeterReadEvent,
  type MeterStatus,
  type MeteringState,
  type PeriodImport,
} from './metering.ts';
