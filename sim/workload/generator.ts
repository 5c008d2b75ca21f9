/**
 * A seeded workload for a site, shaped by real traces. The traces describe a cluster of small
 * pods (mostly 1 GPU, median runtime ~20 min); a 10 MW site runs ~14,000 GPUs, so each job is
 * a gang of the trace's pod size times one scale factor, chosen so that the week reaches the
 * target mean utilisation with `jobsPerDay` jobs. Relative sizes, runtimes and daily arrival
 * shapes stay those of the traces.
 */
import { SeededRandom } from '../../core/ids/index.ts';
import { DEFAULT_SITE, type Job, type SiteConfig, type SlaClass } from '../../agents/compute/jobs/index.ts';
import type { TraceStats } from './trace-stats.ts';
import { HOUR_MS, HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';

/** Deferrable jobs a generated day holds unless told otherwise (`caco simulate --jobs-per-day`). */
export const DEFAULT_JOBS_PER_DAY = 200;

export interface WorkloadParams {
  readonly seed: string | number;
  readonly startMs: number;
  readonly days: number;
  /**
   * Mean IT utilisation the week should reach, serving included (default 0.5). At 0.6 the
   * traces' evening arrival peak already exceeds capacity: even run-on-arrival misses deadlines.
   */
  readonly targetUtilisation?: number;
  /** Share of deferrable jobs with at least 2 h of slack (default 0.6). */
  readonly slackShare?: number;
  readonly perGpuKw?: number;
  /** Deferrable jobs per day (default 200). */
  readonly jobsPerDay?: number;
  /** Mean serving (base) load as a share of IT capacity (default 0.15). */
  readonly servingShare?: number;
  readonly site?: SiteConfig;
}

export interface Workload {
  readonly jobs: Job[];
  readonly params: Required<Omit<WorkloadParams, 'site'>>;
  /** GPUs per job = trace pod GPUs × this. */
  readonly gangScale: number;
  readonly source: string;
}

const MIN_RUNTIME_MIN = 10;
const MAX_RUNTIME_MIN = 24 * 60;
const BATCH_PARALLEL_GPUS = 8;

function pick<T>(r: SeededRandom, xs: ReadonlyArray<T>): T {
  return xs[Math.floor(r.next() * xs.length)]!;
}

function poisson(r: SeededRandom, lambda: number): number {
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gaussian(r)));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= r.next();
  } while (p > l);
  return k - 1;
}

function gaussian(r: SeededRandom): number {
  const u = Math.max(1e-12, r.next());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
}

const round5 = (min: number) => Math.max(MIN_RUNTIME_MIN, Math.min(MAX_RUNTIME_MIN, Math.round(min / 5) * 5));

function trainingRuntimeMin(r: SeededRandom, t: TraceStats): number {
  return round5(pick(r, t.trainingRuntimeS) / 60);
}

/** A batch of LoRA requests run on a gang of GPUs: runtime is their summed execution time over the gang's parallelism. */
function inferenceRuntimeMin(r: SeededRandom, t: TraceStats): number {
  const requests = r.int(500, 5_000);
  let s = 0;
  for (let i = 0; i < requests; i++) s += pick(r, t.inferenceExecS);
  return round5(s / BATCH_PARALLEL_GPUS / 60);
}

function slaOf(r: SeededRandom): SlaClass {
  const u = r.next();
  return u < 0.2 ? 'gold' : u < 0.6 ? 'silver' : 'bronze';
}

/** Mean GPU-minutes of a job before scaling, by Monte Carlo on a separate stream (so the seed's jobs do not shift). */
function meanGpuMin(t: TraceStats, seed: string | number): number {
  const r = new SeededRandom(`${seed}/calibrate`);
  let sum = 0;
  const n = 4_000;
  for (let i = 0; i < n; i++) {
    const gpus = pick(r, t.gpuCounts);
    const rt = r.next() < 0.6 ? trainingRuntimeMin(r, t) : inferenceRuntimeMin(r, t);
    sum += gpus * rt;
  }
  return sum / n;
}

export function generateWorkload(params: WorkloadParams, traces: TraceStats): Workload {
  const site = params.site ?? DEFAULT_SITE;
  const p = {
    seed: params.seed,
    startMs: Math.floor(params.startMs / SLOT_MS) * SLOT_MS,
    days: params.days,
    targetUtilisation: params.targetUtilisation ?? 0.5,
    slackShare: params.slackShare ?? 0.6,
    perGpuKw: params.perGpuKw ?? site.perGpuKw,
    jobsPerDay: params.jobsPerDay ?? DEFAULT_JOBS_PER_DAY,
    servingShare: params.servingShare ?? 0.15,
  };
  if (!(p.days > 0) || !(p.jobsPerDay > 0)) throw new RangeError('generateWorkload: days and jobsPerDay must be > 0');
  if (!(p.targetUtilisation > p.servingShare && p.targetUtilisation <= 1)) throw new RangeError('generateWorkload: targetUtilisation must be above servingShare and at most 1');
  const r = new SeededRandom(p.seed);
  const jobs: Job[] = [];

  // Serving: hourly blocks of base load following the inference trace's daily shape.
  const inf = traces.inferenceArrivalByHour;
  const servingMeanKw = p.servingShare * site.itCapacityKw;
  for (let d = 0; d < p.days; d++) {
    for (let hr = 0; hr < 24; hr++) {
      const shape = 0.7 + 0.3 * (inf[hr]! * 24);
      const powerKw = Math.round(servingMeanKw * shape);
      const start = p.startMs + (d * 24 + hr) * HOUR_MS;
      jobs.push({ id: `srv-${d}-${String(hr).padStart(2, '0')}`, class: 'serving', powerKw, runtimeMin: 60, earliestStartMs: start, deadlineMs: start + HOUR_MS, slaClass: 'gold', preemptible: false });
    }
  }

  // Deferrable work: the energy left for it after serving, spread over jobsPerDay gangs.
  const deferrableKwh = (p.targetUtilisation - p.servingShare) * site.itCapacityKw * 24;
  const gangScale = deferrableKwh / (p.jobsPerDay * ((meanGpuMin(traces, p.seed) / 60) * p.perGpuKw));
  const maxGpus = Math.floor((0.25 * site.itCapacityKw) / p.perGpuKw);
  let seq = 0;
  for (let d = 0; d < p.days; d++) {
    for (let hr = 0; hr < 24; hr++) {
      const training = poisson(r, p.jobsPerDay * 0.6 * traces.trainingArrivalByHour[hr]!);
      const inference = poisson(r, p.jobsPerDay * 0.4 * traces.inferenceArrivalByHour[hr]!);
      for (let k = 0; k < training + inference; k++) {
        const isTraining = k < training;
        const release = p.startMs + (d * 24 + hr) * HOUR_MS + r.int(0, 59) * 60_000;
        const gpuCount = Math.max(1, Math.min(maxGpus, Math.round(pick(r, traces.gpuCounts) * gangScale)));
        const runtimeMin = isTraining ? trainingRuntimeMin(r, traces) : inferenceRuntimeMin(r, traces);
        const slackMin = r.next() < p.slackShare ? r.int(120, 24 * 60) : r.int(0, 89);
        // Deadlines sit on the half-hour grid's side of feasibility: start at the next slot boundary still meets them.
        const firstSlot = Math.ceil(release / SLOT_MS) * SLOT_MS;
        const deadlineMs = Math.max(firstSlot + runtimeMin * 60_000, release + (runtimeMin + slackMin) * 60_000);
        const preemptible = isTraining ? r.next() < 0.5 : r.next() < 0.8;
        jobs.push({
          id: `${isTraining ? 'trn' : 'inf'}-${String(seq++).padStart(6, '0')}`,
          class: isTraining ? 'training' : 'batch-inference',
          powerKw: Math.round(gpuCount * p.perGpuKw * 1000) / 1000,
          gpuCount,
          perGpuKw: p.perGpuKw,
          runtimeMin,
          runtimeSource: 'given',
          earliestStartMs: release,
          deadlineMs,
          slaClass: slaOf(r),
          preemptible,
        });
      }
    }
  }
  jobs.sort((a, b) => a.earliestStartMs - b.earliestStartMs || (a.id < b.id ? -1 : 1));
  return { jobs, params: p, gangScale, source: traces.source };
}
