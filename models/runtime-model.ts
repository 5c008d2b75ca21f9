import { join } from 'node:path';
import { ModelInputError, ModelLoadError } from './errors.ts';
import { createSession, ort, readJson, refuseUnlessItRuns } from './onnx-session.ts';

/** Request features of a text-to-image job, as in the Alibaba GenAI LoRA trace. */
export interface RuntimeFeatures {
  predictType: string;
  promptLength?: number | null;
  /** null when the request has no negative prompt. */
  negativePromptLength?: number | null;
  numImagesPerPrompt?: number | null;
  numInferenceSteps?: number | null;
  numLora?: number | null;
  /** Base model id; ids the model was not trained on are treated as missing. */
  checkpointModelVersionId?: string | null;
}

export interface RuntimeSpec {
  modelId: string;
  modelVersion: string;
  onnxFile: string;
  features: string[];
  predictTypes: string[];
  checkpointModels: Record<string, number>;
  target: 'log-seconds' | 'seconds';
  /** 90th percentile of actual / predicted on the validation split. */
  p90Factor: number;
  /** Row ranges of the SUCCEED, exec_time > 0 rows in trace order, [from, to). */
  split: { train: [number, number]; validation: [number, number]; test: [number, number] };
  naiveBaseline: { medianSecondsByTypeAndSteps: Record<string, number>; overallMedianSeconds: number };
}

export interface RuntimeModel {
  readonly spec: Readonly<RuntimeSpec>;
  readonly modelId: string;
  readonly modelVersion: string;
  /** Predicted execution time in seconds. */
  predictSeconds(features: RuntimeFeatures): Promise<number>;
  predictSecondsBatch(features: ReadonlyArray<RuntimeFeatures>): Promise<Float64Array>;
  /** A runtime that 90 % of validation jobs stayed within (prediction × p90Factor): for deadlines. */
  predictSecondsP90(features: RuntimeFeatures): Promise<number>;
  /** Raw ONNX output for already-encoded feature rows (NaN = missing); used by the parity test. */
  predictMargin(rows: ReadonlyArray<ArrayLike<number>>): Promise<Float32Array>;
}

const num = (v: number | null | undefined): number => (v === null || v === undefined || !Number.isFinite(v) ? Number.NaN : v);

/** Feature row in the order of spec.features; mirrors `encode` in models/training/train_runtime.py. */
export function encodeRuntimeFeatures(f: RuntimeFeatures, spec: Pick<RuntimeSpec, 'predictTypes' | 'checkpointModels' | 'modelId'>): Float32Array {
  const type = spec.predictTypes.indexOf(f.predictType);
  if (type < 0) throw new ModelInputError(spec.modelId, `predictType "${f.predictType}" is not one of ${spec.predictTypes.join(', ')}`);
  const model = f.checkpointModelVersionId ? spec.checkpointModels[f.checkpointModelVersionId] : undefined;
  const images = num(f.numImagesPerPrompt);
  const steps = num(f.numInferenceSteps);
  return Float32Array.of(type, num(f.promptLength), num(f.negativePromptLength), images, steps, num(f.numLora), model ?? Number.NaN, images * steps);
}

/** The trace's naive baseline: median runtime of the training split for the same type and step count. */
export function naiveRuntimeSeconds(f: RuntimeFeatures, spec: Pick<RuntimeSpec, 'naiveBaseline'>): number {
  const steps = f.numInferenceSteps;
  const key = steps === null || steps === undefined ? '' : `${f.predictType}|${Math.trunc(steps)}`;
  return spec.naiveBaseline.medianSecondsByTypeAndSteps[key] ?? spec.naiveBaseline.overallMedianSeconds;
}

export async function loadRuntimeModelFrom(dir: string): Promise<RuntimeModel> {
  const specPath = join(dir, 'features.json');
  const { value: spec, bytes: specBytes } = readJson<RuntimeSpec>(specPath);
  if (spec.target !== 'log-seconds' && spec.target !== 'seconds') throw new ModelLoadError(specPath, `unknown target "${String(spec.target)}"`);
  // Bounded too: a factor of 1e308 made every P90 runtime Infinity.
  if (!(spec.p90Factor >= 1 && spec.p90Factor <= 100)) throw new ModelLoadError(specPath, 'p90Factor must be a number from 1 to 100');
  if (!Array.isArray(spec.features) || !Array.isArray(spec.predictTypes) || spec.predictTypes.length === 0 || typeof spec.checkpointModels !== 'object' || spec.checkpointModels === null) {
    throw new ModelLoadError(specPath, 'features and predictTypes must be lists (predictTypes not empty), and checkpointModels an object');
  }
  const { session, version } = await createSession(join(dir, spec.onnxFile), { modelVersion: spec.modelVersion, inputs: ['features'], outputs: ['margin'], paramsBytes: specBytes });
  const width = spec.features.length;
  // One prediction before the model is used: a feature list of another length than the rows
  // the encoder builds, or than the model takes, failed every prediction (a helper's review).
  await refuseUnlessItRuns(session, specPath, async () => {
    const row = encodeRuntimeFeatures({ predictType: spec.predictTypes[0]! }, spec);
    if (row.length !== width) throw new Error(`the encoder builds ${row.length} features, features.json lists ${width}`);
    const out = await session.run({ features: new ort.Tensor('float32', row, [1, width]) });
    // eslint-disable-next-line no-restricted-syntax -- an ONNX tensor's data, not a message payload
    const m = out['margin']?.data as Float32Array | undefined;
    if (!m || m.length !== 1 || !Number.isFinite(m[0]!)) throw new Error(`the model gave ${m?.length ?? 0} values for one row, or one not finite`);
  });

  async function predictMargin(rows: ReadonlyArray<ArrayLike<number>>): Promise<Float32Array> {
    const data = new Float32Array(rows.length * width);
    rows.forEach((r, i) => {
      if (r.length !== width) throw new ModelInputError(spec.modelId, `feature row ${i} has ${r.length} values, expected ${width}`);
      for (let j = 0; j < width; j++) data[i * width + j] = r[j]!;
    });
    const out = await session.run({ features: new ort.Tensor('float32', data, [rows.length, width]) });
    // eslint-disable-next-line no-restricted-syntax -- an ONNX tensor's data, not a message payload
    return out['margin']!.data as Float32Array;
  }

  async function predictSecondsBatch(features: ReadonlyArray<RuntimeFeatures>): Promise<Float64Array> {
    if (features.length === 0) return new Float64Array(0);
    const m = await predictMargin(features.map((f) => encodeRuntimeFeatures(f, spec)));
    return Float64Array.from(m, (v) => (spec.target === 'log-seconds' ? Math.exp(v) : Math.max(0, v)));
  }

  return {
    spec,
    modelId: spec.modelId,
    modelVersion: version,
    predictMargin,
    predictSecondsBatch,
    async predictSeconds(features) {
      return (await predictSecondsBatch([features]))[0]!;
    },
    async predictSecondsP90(features) {
      return (await predictSecondsBatch([features]))[0]! * spec.p90Factor;
    },
  };
}
