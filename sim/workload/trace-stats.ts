/**
 * What the generator takes from the real traces: arrival shape by hour of day, GPU counts,
 * runtimes. Read through the data loaders (validated rows); kept behind this one function so
 * tests can pass synthetic stats and the trace source can change without touching the generator.
 */
import { loadLoraTrace, loadOpenbPods, loadPhillyRuntimes } from '../../data/index.ts';

export interface TraceStats {
  /** Relative arrival rate per hour of day (0..23) for training jobs (openb pod creations). */
  readonly trainingArrivalByHour: ReadonlyArray<number>;
  /** Relative arrival rate per hour of day for inference (LoRA requests); also shapes serving load. */
  readonly inferenceArrivalByHour: ReadonlyArray<number>;
  /** GPUs per pod (fractional for shared GPUs), openb pods that asked for a GPU. */
  readonly gpuCounts: ReadonlyArray<number>;
  /** Training job runtimes in seconds (Philly), 1 min .. 7 days. */
  readonly trainingRuntimeS: ReadonlyArray<number>;
  /** Per-request execution seconds of successful LoRA requests. */
  readonly inferenceExecS: ReadonlyArray<number>;
  readonly source: string;
}

function hourHistogram(hours: Iterable<number>): number[] {
  const h = new Array<number>(24).fill(0);
  for (const x of hours) h[((Math.floor(x) % 24) + 24) % 24]! += 1;
  const total = h.reduce((a, b) => a + b, 0) || 1;
  return h.map((v) => v / total);
}

let cached: TraceStats | null = null;

/** Stats from the project's copies of the traces (data/workloads). */
export function loadTraceStats(): TraceStats {
  if (cached) return cached;
  const pods = loadOpenbPods().rows.filter((p) => p.numGpu > 0 || p.gpuMilli > 0);
  const philly = loadPhillyRuntimes().rows.map((r) => r.runtimeSeconds).filter((s) => s >= 60 && s <= 7 * 86_400);
  const lora = loadLoraTrace().rows.filter((r) => r.status === 'SUCCEED' && r.execTimeSeconds > 0);
  cached = {
    // The openb trace's clock starts at an unknown wall time; second 0 is taken as midnight.
    trainingArrivalByHour: hourHistogram(pods.map((p) => (p.creationS % 86_400) / 3_600)),
    // LoRA timestamps are anonymised with an offset; their hour of day is used as given.
    inferenceArrivalByHour: hourHistogram(lora.map((r) => new Date(r.createdMs).getUTCHours())),
    gpuCounts: pods.map((p) => (p.numGpu === 1 && p.gpuMilli > 0 ? p.gpuMilli / 1000 : Math.max(p.numGpu, p.gpuMilli / 1000))),
    trainingRuntimeS: philly,
    inferenceExecS: lora.map((r) => r.execTimeSeconds),
    source: 'data/workloads: Alibaba openb 2023 pods (GPU counts, training arrivals), Philly runtimes, Alibaba GenAI LoRA (inference arrivals and execution times)',
  };
  return cached;
}
