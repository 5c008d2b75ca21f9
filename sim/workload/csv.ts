/** Workloads as CSV: one job per line, times in ISO 8601 UTC, units in the column names. */
import { JOB_CLASSES, SLA_CLASSES, type Job, type JobClass, type SiteConfig, type SlaClass, deadlineProblems, finishableProblems, validateJob } from '../../agents/compute/jobs/index.ts';
import { truncateText } from '../../core/runtime/index.ts';
// What a submit's jobId may be: it becomes the stream `job-<id>`.
import { JOB_ID_PATTERN as JOB_ID } from '../../schemas/index.ts';
import { DataFileError, decimalOrNaN, parseCsv, parseIsoUtc, type CsvTable } from '../../data/index.ts';

export const WORKLOAD_COLUMNS = ['id', 'class', 'power_kw', 'gpu_count', 'per_gpu_kw', 'runtime_min', 'earliest_start_utc', 'deadline_utc', 'sla_class', 'preemptible'] as const;

/** A job's field as its column is named (WORKLOAD_COLUMNS). */
const CSV_COLUMN: Partial<Record<keyof Job, (typeof WORKLOAD_COLUMNS)[number]>> = {
  powerKw: 'power_kw',
  gpuCount: 'gpu_count',
  perGpuKw: 'per_gpu_kw',
  runtimeMin: 'runtime_min',
  earliestStartMs: 'earliest_start_utc',
  deadlineMs: 'deadline_utc',
  slaClass: 'sla_class',
};
const csvColumn = (f: keyof Job): string => CSV_COLUMN[f] ?? f;

export interface CsvProblem {
  readonly line: number;
  readonly field: string;
  readonly reason: string;
}

const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function writeWorkloadCsv(jobs: ReadonlyArray<Job>): string {
  const lines = [WORKLOAD_COLUMNS.join(',')];
  for (const j of jobs) {
    lines.push(
      [
        quote(j.id),
        j.class,
        String(j.powerKw),
        j.gpuCount === undefined ? '' : String(j.gpuCount),
        j.perGpuKw === undefined ? '' : String(j.perGpuKw),
        String(j.runtimeMin),
        new Date(j.earliestStartMs).toISOString(),
        new Date(j.deadlineMs).toISOString(),
        j.slaClass,
        j.preemptible ? 'true' : 'false',
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Parse a workload CSV. Rows with problems are left out and reported with line, field and
 * reason (the same checks as a submitted job, and a job id already used on an earlier line);
 * the other rows are returned.
 */
export interface WorkloadCsv {
  readonly jobs: Job[];
  readonly problems: CsvProblem[];
  /** The line each job returned was read from, for an error about it found later. */
  readonly lines: ReadonlyMap<string, number>;
}

export function readWorkloadCsv(text: string, site: SiteConfig): WorkloadCsv {
  // The data files' RFC 4180 reader: quoted newlines, a BOM, a header naming a column twice
  // and a row whose cells do not line up with the header (its values would land under the
  // wrong columns) are a problem of the file, reported as one.
  // The records are parsed as they are read (parseCsv), so a problem of the file can come from
  // the loop too: either way it is the file's one problem.
  try {
    return readWorkloadTable(parseCsv(text, 'workload'), site);
  } catch (err) {
    if (err instanceof DataFileError) return { jobs: [], problems: [{ line: err.line ?? 1, field: err.column ?? 'file', reason: err.reason }], lines: new Map() };
    throw err;
  }
}

function readWorkloadTable(table: CsvTable, site: SiteConfig): WorkloadCsv {
  const header = table.header;
  const problems: CsvProblem[] = [];
  const missing = WORKLOAD_COLUMNS.filter((c) => !['gpu_count', 'per_gpu_kw'].includes(c) && !header.includes(c));
  if (missing.length) return { jobs: [], problems: missing.map((c) => ({ line: 1, field: c, reason: 'column missing from the header' })), lines: new Map() };
  const col = (name: string) => header.indexOf(name);
  const jobs: Job[] = [];
  // A job's id is its submission's command id (`submit-<id>`): the site would take a repeat
  // as a retry of the first and drop it, while the baselines would count it.
  const firstLineOf = new Map<string, number>();
  for (const { line, cells } of table.records) {
    const get = (name: string) => (col(name) >= 0 ? (cells[col(name)] ?? '').trim() : '');
    const rowProblems: CsvProblem[] = [];
    const num = (name: string) => {
      // Decimals only: Number() also reads 0x3E8 and 0b11, which nobody means by a power.
      const v = decimalOrNaN(get(name));
      if (!Number.isFinite(v)) rowProblems.push({ line, field: name, reason: `"${truncateText(get(name), 64)}" is not a decimal number` });
      return v;
    };
    const time = (name: string) => {
      // Strict: Date.parse rolled 2023-02-30 over to March and took legacy text ("Mon Jul 03 2023 …").
      const v = parseIsoUtc(get(name));
      if (v === null) rowProblems.push({ line, field: name, reason: `"${truncateText(get(name), 64)}" is not an ISO 8601 UTC time (e.g. 2023-07-03T10:00:00Z) on the calendar` });
      return v ?? Number.NaN;
    };
    const id = get('id');
    // The site submits it under this id and refuses one it cannot be a stream name of (job-<id>):
    // refused there, the baselines would still count it.
    if (!JOB_ID.test(id)) rowProblems.push({ line, field: 'id', reason: `"${truncateText(id, 64)}" is not a job id: 1 to 128 letters, digits, "_", ":" or "-"` });
    const first = firstLineOf.get(id);
    if (first !== undefined && JOB_ID.test(id)) rowProblems.push({ line, field: 'id', reason: `"${id}" already on line ${first}` });
    else if (id !== '') firstLineOf.set(id, line);
    const cls = get('class');
    if (!(JOB_CLASSES as readonly string[]).includes(cls)) rowProblems.push({ line, field: 'class', reason: `must be one of ${JOB_CLASSES.join(', ')}` });
    const sla = get('sla_class');
    if (!(SLA_CLASSES as readonly string[]).includes(sla)) rowProblems.push({ line, field: 'sla_class', reason: `must be one of ${SLA_CLASSES.join(', ')}` });
    const pre = get('preemptible');
    if (pre !== 'true' && pre !== 'false') rowProblems.push({ line, field: 'preemptible', reason: 'must be true or false' });
    const job: Job = {
      id,
      class: cls as JobClass,
      powerKw: num('power_kw'),
      ...(get('gpu_count') !== '' ? { gpuCount: num('gpu_count') } : {}),
      ...(get('per_gpu_kw') !== '' ? { perGpuKw: num('per_gpu_kw') } : {}),
      runtimeMin: num('runtime_min'),
      earliestStartMs: time('earliest_start_utc'),
      deadlineMs: time('deadline_utc'),
      slaClass: sla as SlaClass,
      preemptible: pre === 'true',
    };
    if (rowProblems.length === 0) for (const p of validateJob(job, site, csvColumn)) rowProblems.push({ line, field: p.field, reason: p.reason });
    // A job is submitted at its release, and the site refuses one due more than 90 days after it.
    if (rowProblems.length === 0) for (const p of deadlineProblems(job.deadlineMs, job.earliestStartMs, 'deadline_utc', 'its release')) rowProblems.push({ line, field: p.field, reason: p.reason });
    // Nor one that cannot finish from the first half-hour at or after its release.
    if (rowProblems.length === 0) for (const p of finishableProblems(job, job.earliestStartMs)) rowProblems.push({ line, field: 'deadline_utc', reason: p.reason });
    if (rowProblems.length) problems.push(...rowProblems);
    else jobs.push(job);
  }
  return { jobs, problems, lines: firstLineOf };
}
