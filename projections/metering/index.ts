export {
  dayImport,
  evolveMetering,
  initialMeteringState,
  periodImport,
  periodImportAt,
  projectMetering,
  type MeterReadEvent,
  type MeterStatus,
  type MeteringState,
  type PeriodImport,
} from './metering.ts';
