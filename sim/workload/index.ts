export { DEFAULT_JOBS_PER_DAY, generateWorkload, type Workload, type WorkloadParams } from './generator.ts';
export { loadTraceStats, type TraceStats } from './trace-stats.ts';
export { readWorkloadCsv, writeWorkloadCsv, WORKLOAD_COLUMNS, type CsvProblem, type WorkloadCsv } from './csv.ts';
