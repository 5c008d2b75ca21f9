/**
 * Real data in the project and its validating loaders. Every loader checks columns, units,
 * timestamps and the known bad values listed in the data READMEs, throws a `DataFileError`
 * naming file, line and column for what cannot be used, and reports what it set aside in
 * `dropped`.
 */
export type { Dropped, LoadResult } from './types.ts';
export { DataFileError } from './errors.ts';
export { parseIsoUtc } from './validate.ts';
export { decimalOrNaN, isDecimal } from '../core/text/index.ts';
export { DATA_FILES } from './paths.ts';
export { MAX_INPUT_FILE_BYTES, parseCsv, type CsvTable } from './csv.ts';
export { loadCarbonCsv, loadHourlyCarbonCsv, type CarbonRow, type HourlyCarbonRow } from './carbon.ts';
export { loadPriceCsv, type PriceRow } from './prices.ts';
export { toHalfHourSeries, hourlyToHalfHourSeries, type NumericField } from './series.ts';
export {
  loadLoraTrace,
  loadOpenbPods,
  loadOpenbNodes,
  loadPhillyRuntimes,
  loadAzureLlmTrace,
  LORA_PREDICT_TYPES,
  LORA_STATUSES,
  type LoraRequest,
  type LoraPredictType,
  type LoraStatus,
  type OpenbPod,
  type OpenbNode,
  type LlmRequest,
} from './workloads.ts';
