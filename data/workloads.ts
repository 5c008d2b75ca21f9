import { readCsv, requireColumns, type CsvTable } from './csv.ts';
import { isDecimal } from '../core/text/index.ts';
import { DataFileError } from './errors.ts';
import { DATA_FILES } from './paths.ts';
import type { LoadResult } from './types.ts';
import { DropLog, type RangeSpec } from './validate.ts';

const NAIVE_TS = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;

/**
 * Trace timestamps carry no zone (Alibaba's are offset-anonymised, Azure's are unstated); they
 * are read as UTC because only their differences (inter-arrival times) are meaningful.
 */
function parseTraceTime(file: string, line: number, column: string, text: string): number {
  const m = NAIVE_TS.exec(text.trim());
  if (!m) throw new DataFileError(file, line, column, `"${text}" is not a "YYYY-MM-DD HH:MM:SS" timestamp`);
  const [, y, mo, d, h, mi, s, frac] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + (frac ? Math.round(Number(frac) * 1000) : 0);
}

/** Arrival traces may have several requests in one second, but never go backwards. */
function assertNonDecreasing(file: string, line: number, column: string, prev: number | null, prevLine: number, cur: number): void {
  if (prev !== null && cur < prev) throw new DataFileError(file, line, column, `not sorted: value goes back from line ${prevLine}`);
}

function requireInt(table: CsvTable, line: number, column: string, text: string, min: number, max: number): number {
  const t = text.trim();
  if (t !== '' && !isDecimal(t)) throw new DataFileError(table.file, line, column, `"${text}" is not a decimal number; expected an integer in ${min}..${max}`);
  const v = Number(t);
  if (t === '' || !Number.isInteger(v) || v < min || v > max) {
    throw new DataFileError(table.file, line, column, `"${text}" is not an integer in ${min}..${max}`);
  }
  return v;
}

export const LORA_PREDICT_TYPES = ['TXT_2_IMG', 'IMG_2_IMG', 'INPAINTING'] as const;
export type LoraPredictType = (typeof LORA_PREDICT_TYPES)[number];
export const LORA_STATUSES = ['SUCCEED', 'FAILED', 'PENDING', 'PROCESSING'] as const;
export type LoraStatus = (typeof LORA_STATUSES)[number];

/** One text-to-image request of the Alibaba GenAI LoRA trace. */
export interface LoraRequest {
  createdMs: number;
  predictType: LoraPredictType;
  status: LoraStatus;
  execTimeSeconds: number;
  groupId: string;
  promptLength: number | null;
  /** null when the request had no negative prompt (a normal case, not reported as dropped). */
  negativePromptLength: number | null;
  numImagesPerPrompt: number | null;
  numInferenceSteps: number | null;
  checkpointModelVersionId: string | null;
  numLora: number;
}

const LORA_COLUMNS = [
  'gmt_create',
  'predict_type',
  'predict_status',
  'exec_time_seconds',
  'groupId',
  'prompt_length',
  'negative_prompt_length',
  'num_images_per_prompt',
  'num_inference_steps',
  'checkpoint_model_version_id',
  'num_lora',
] as const;

export function loadLoraTrace(path: string = DATA_FILES.loraTrace): LoadResult<LoraRequest> {
  const table = readCsv(path);
  const c = requireColumns(table, LORA_COLUMNS);
  const log = new DropLog(path);
  const specs = {
    exec: { column: 'exec_time_seconds', min: 0, max: 86_400, unit: 's' },
    prompt: { column: 'prompt_length', min: 0, max: 100_000, unit: 'chars' },
    neg: { column: 'negative_prompt_length', min: 0, max: 100_000, unit: 'chars' },
    images: { column: 'num_images_per_prompt', min: 1, max: 64, unit: 'images' },
    steps: { column: 'num_inference_steps', min: 1, max: 1000, unit: 'steps' },
  } satisfies Record<string, RangeSpec>;
  const rows: LoraRequest[] = [];
  let prev: number | null = null;
  let prevLine = 0;
  for (const r of table.records) {
    const cell = (k: (typeof LORA_COLUMNS)[number]): string => r.cells[c[k]]!;
    const createdMs = parseTraceTime(path, r.line, 'gmt_create', cell('gmt_create'));
    assertNonDecreasing(path, r.line, 'gmt_create', prev, prevLine, createdMs);
    prev = createdMs;
    prevLine = r.line;
    const predictType = cell('predict_type').trim();
    const status = cell('predict_status').trim();
    if (!(LORA_PREDICT_TYPES as ReadonlyArray<string>).includes(predictType)) {
      log.drop(r.line, `predict_type="${predictType}" unknown; row dropped`);
      continue;
    }
    if (!(LORA_STATUSES as ReadonlyArray<string>).includes(status)) {
      log.drop(r.line, `predict_status="${status}" unknown; row dropped`);
      continue;
    }
    const exec = log.value(r.line, cell('exec_time_seconds'), specs.exec);
    if (exec === null) continue;
    const promptLength = log.value(r.line, cell('prompt_length'), specs.prompt, { reportEmpty: false });
    const numImagesPerPrompt = log.value(r.line, cell('num_images_per_prompt'), specs.images, { reportEmpty: false });
    const numInferenceSteps = log.value(r.line, cell('num_inference_steps'), specs.steps, { reportEmpty: false });
    const model = cell('checkpoint_model_version_id').trim();
    if (promptLength === null || numImagesPerPrompt === null || numInferenceSteps === null || model === '') {
      log.drop(r.line, 'request features missing (prompt length, images, steps or model); kept with nulls');
    }
    rows.push({
      createdMs,
      predictType: predictType as LoraPredictType,
      status: status as LoraStatus,
      execTimeSeconds: exec,
      groupId: cell('groupId').trim(),
      promptLength,
      negativePromptLength: log.value(r.line, cell('negative_prompt_length'), specs.neg, { reportEmpty: false }),
      numImagesPerPrompt,
      numInferenceSteps,
      checkpointModelVersionId: model === '' ? null : model,
      numLora: requireInt(table, r.line, 'num_lora', cell('num_lora'), 0, 100),
    });
  }
  log.assertPlausible(Object.values(specs));
  return { rows, dropped: log.dropped };
}

/** One pod of the Alibaba "openb" GPU cluster trace; times in seconds from trace start. */
export interface OpenbPod {
  name: string;
  cpuMilli: number;
  memoryMib: number;
  numGpu: number;
  /** Share of one GPU in thousandths, meaningful when numGpu is 1. */
  gpuMilli: number;
  qos: string;
  podPhase: string;
  creationS: number;
  deletionS: number;
  /** null for pods that were never scheduled (Pending). */
  scheduledS: number | null;
}

const POD_COLUMNS = ['name', 'cpu_milli', 'memory_mib', 'num_gpu', 'gpu_milli', 'qos', 'pod_phase', 'creation_time', 'deletion_time', 'scheduled_time'] as const;

export function loadOpenbPods(path: string = DATA_FILES.openbPods): LoadResult<OpenbPod> {
  const table = readCsv(path);
  const c = requireColumns(table, POD_COLUMNS);
  const log = new DropLog(path);
  const rows: OpenbPod[] = [];
  let prev: number | null = null;
  let prevLine = 0;
  const maxS = 1e9;
  for (const r of table.records) {
    const cell = (k: (typeof POD_COLUMNS)[number]): string => r.cells[c[k]]!;
    const creationS = requireInt(table, r.line, 'creation_time', cell('creation_time'), 0, maxS);
    assertNonDecreasing(path, r.line, 'creation_time', prev, prevLine, creationS);
    prev = creationS;
    prevLine = r.line;
    const deletionS = requireInt(table, r.line, 'deletion_time', cell('deletion_time'), 0, maxS);
    const sched = cell('scheduled_time').trim();
    const scheduledS = sched === '' ? null : requireInt(table, r.line, 'scheduled_time', sched, 0, maxS);
    if (deletionS < creationS || (scheduledS !== null && (scheduledS < creationS || deletionS < scheduledS))) {
      log.drop(r.line, 'times not in order creation ≤ scheduled ≤ deletion; row dropped');
      continue;
    }
    rows.push({
      name: cell('name').trim(),
      cpuMilli: requireInt(table, r.line, 'cpu_milli', cell('cpu_milli'), 0, 10_000_000),
      memoryMib: requireInt(table, r.line, 'memory_mib', cell('memory_mib'), 0, 100_000_000),
      numGpu: requireInt(table, r.line, 'num_gpu', cell('num_gpu'), 0, 64),
      gpuMilli: requireInt(table, r.line, 'gpu_milli', cell('gpu_milli'), 0, 1000),
      qos: cell('qos').trim(),
      podPhase: cell('pod_phase').trim(),
      creationS,
      deletionS,
      scheduledS,
    });
  }
  return { rows, dropped: log.dropped };
}

export interface OpenbNode {
  sn: string;
  cpuMilli: number;
  memoryMib: number;
  gpu: number;
  /** GPU model (G2, T4, V100M16, ...); null for CPU-only nodes. */
  model: string | null;
}

export function loadOpenbNodes(path: string = DATA_FILES.openbNodes): LoadResult<OpenbNode> {
  const table = readCsv(path);
  const c = requireColumns(table, ['sn', 'cpu_milli', 'memory_mib', 'gpu', 'model']);
  const rows = Array.from(table.records, (r): OpenbNode => {
    const model = r.cells[c.model]!.trim();
    return {
      sn: r.cells[c.sn]!.trim(),
      cpuMilli: requireInt(table, r.line, 'cpu_milli', r.cells[c.cpu_milli]!, 0, 10_000_000),
      memoryMib: requireInt(table, r.line, 'memory_mib', r.cells[c.memory_mib]!, 0, 100_000_000),
      gpu: requireInt(table, r.line, 'gpu', r.cells[c.gpu]!, 0, 64),
      model: model === '' ? null : model,
    };
  });
  return { rows, dropped: [] };
}

/** Job runtimes (seconds) of Microsoft's Philly cluster, as Alibaba's analysis extracted them. */
export function loadPhillyRuntimes(path: string = DATA_FILES.phillyRuntimes): LoadResult<{ runtimeSeconds: number }> {
  const table = readCsv(path);
  const c = requireColumns(table, ['runtime']);
  const log = new DropLog(path);
  const spec: RangeSpec = { column: 'runtime', min: 0, max: 1e8, unit: 's' };
  const rows: { runtimeSeconds: number }[] = [];
  for (const r of table.records) {
    const v = log.value(r.line, r.cells[c.runtime]!, spec);
    if (v !== null) rows.push({ runtimeSeconds: v });
  }
  log.assertPlausible([spec]);
  return { rows, dropped: log.dropped };
}

/** One LLM inference request of the Azure 2023 trace (arrival time and size only). */
export interface LlmRequest {
  arrivalMs: number;
  contextTokens: number;
  generatedTokens: number;
}

export function loadAzureLlmTrace(kind: 'code' | 'conv', path: string = kind === 'code' ? DATA_FILES.azureLlmCode : DATA_FILES.azureLlmConv): LoadResult<LlmRequest> {
  const table = readCsv(path);
  const c = requireColumns(table, ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens']);
  const rows: LlmRequest[] = [];
  let prev: number | null = null;
  let prevLine = 0;
  for (const r of table.records) {
    const arrivalMs = parseTraceTime(path, r.line, 'TIMESTAMP', r.cells[c.TIMESTAMP]!);
    assertNonDecreasing(path, r.line, 'TIMESTAMP', prev, prevLine, arrivalMs);
    prev = arrivalMs;
    prevLine = r.line;
    rows.push({
      arrivalMs,
      contextTokens: requireInt(table, r.line, 'ContextTokens', r.cells[c.ContextTokens]!, 0, 10_000_000),
      generatedTokens: requireInt(table, r.line, 'GeneratedTokens', r.cells[c.GeneratedTokens]!, 0, 10_000_000),
    });
  }
  return { rows, dropped: [] };
}
