export { generateWorkload, type Workload, type WorkloadParams } from './generator.ts';
export { loadTraceStats, type TraceStats } from './trace-stats.ts';
export { readWorkloadCsv, writeWorkloadCsv, WORKLOAD_COLUMNS, type CsvProblem, type WorkloadCsv } from './csv.ts';
