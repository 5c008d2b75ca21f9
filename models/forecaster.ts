import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ModelInputError, ModelLoadError } from './errors.ts';
import { HALF_HOUR_MS, windowFeatures, type FeatureSpec } from './features.ts';
import { createSession, ort, readJson, refuseUnlessItRuns } from './onnx-session.ts';

/** A half-hourly series starting at `fromMs`; NaN or null marks a missing value. */
export interface HalfHourHistory {
  fromMs: number;
  values: ArrayLike<number | null>;
}

export interface QuantilePoint {
  p10: number;
  p50: number;
  p90: number;
}

export interface Forecast {
  /** Start of the first forecast half-hour: the half-hour containing `nowMs`. */
  startMs: number;
  /** `horizon` (96) consecutive half-hours from startMs, in the model's unit. */
  points: QuantilePoint[];
  modelId: string;
  modelVersion: string;
  unit: string;
  /** sha256 of the history window the forecast was made from (missing as null), for audit. */
  inputsHash: string;
}

export interface Forecaster {
  readonly spec: Readonly<FeatureSpec>;
  /**
   * The version forecasts name: sha256 (12 hex digits) of the ONNX file and features.json
   * together, so a changed parameter is another version. (`spec.modelVersion` is the ONNX
   * file's own hash, which pairs the two files.)
   */
  readonly modelVersion: string;
  /**
   * Forecast the `horizon` half-hours from the one containing `nowMs`, using the
   * `historySteps` half-hours before it. Gaps are forward-filled; throws ModelInputError when
   * fewer than `minValid` of them have values.
   */
  forecast(history: HalfHourHistory, nowMs: number): Promise<Forecast>;
}

/** Load a forecaster from a folder holding features.json and the ONNX file it names. */
export async function loadForecasterFrom(dir: string): Promise<Forecaster> {
  const specPath = join(dir, 'features.json');
  const { value: spec, bytes: specBytes } = readJson<FeatureSpec>(specPath);
  const problem = featureSpecProblem(spec);
  if (problem) throw new ModelLoadError(specPath, problem);
  const { session, version } = await createSession(join(dir, spec.onnxFile), { modelVersion: spec.modelVersion, inputs: ['seq', 'static', 'level'], outputs: ['quantiles'], paramsBytes: specBytes });
  const H = spec.historySteps;
  // One forecast on a flat window before the model is used. Sizes in features.json that do
  // not agree with each other or with the model (historySteps 384 where it was trained on
  // 336) loaded, and then failed every forecast, baselines and all, while the start-up notes
  // named the model as loaded (a helper's review); refused here, the ensemble runs on its
  // baselines instead.
  await refuseUnlessItRuns(session, specPath, () => trialRun(session, spec));

  return {
    spec,
    modelVersion: version,
    async forecast(history, nowMs) {
      const startMs = Math.floor(nowMs / HALF_HOUR_MS) * HALF_HOUR_MS;
      if (history.fromMs % HALF_HOUR_MS !== 0) throw new ModelInputError(spec.modelId, 'history.fromMs must be on a half-hour boundary');
      const window = new Float64Array(H);
      const offset = (startMs - H * HALF_HOUR_MS - history.fromMs) / HALF_HOUR_MS;
      for (let i = 0; i < H; i++) {
        const j = offset + i;
        const v = j >= 0 && j < history.values.length ? history.values[j] : null;
        window[i] = v === null || v === undefined ? Number.NaN : v;
      }
      const f = windowFeatures(window, startMs, spec);
      if (!f) {
        throw new ModelInputError(spec.modelId, `fewer than ${spec.minValid} valid half-hours in the ${H} before ${new Date(startMs).toISOString()}`);
      }
      const out = await session.run({
        seq: new ort.Tensor('float32', f.seq, [1, spec.seqLen, 2]),
        static: new ort.Tensor('float32', f.static, [1, spec.staticSize]),
        level: new ort.Tensor('float32', Float32Array.of(f.level), [1, 1]),
      });
      // eslint-disable-next-line no-restricted-syntax -- an ONNX tensor's data, not a message payload
      const q = out['quantiles']!.data as Float32Array;
      const points: QuantilePoint[] = new Array(spec.horizon);
      for (let h = 0; h < spec.horizon; h++) points[h] = { p10: q[3 * h]!, p50: q[3 * h + 1]!, p90: q[3 * h + 2]! };
      return { startMs, points, modelId: spec.modelId, modelVersion: version, unit: spec.unit, inputsHash: hashWindow(window) };
    },
  };
}

/** Integers in range, with the sizes agreeing; what windowFeatures and the model rely on. */
function featureSpecProblem(spec: FeatureSpec): string | undefined {
  const int = (name: keyof FeatureSpec, min: number, max: number): string | undefined => {
    const v = spec[name];
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? undefined : `${name} must be a whole number from ${min} to ${max} (it is ${JSON.stringify(v)})`;
  };
  const first =
    int('historySteps', 48, 48 * 60) ??
    int('seqLen', 1, spec.historySteps) ??
    int('horizon', 1, spec.historySteps) ??
    int('minValid', 1, spec.historySteps) ??
    int('staticSize', 1, 100_000) ??
    (spec.historySteps % 48 !== 0 ? `historySteps must be whole days (a multiple of 48; it is ${spec.historySteps})` : undefined);
  if (first) return first;
  if (!(Number.isFinite(spec.mean) && Number.isFinite(spec.scale) && spec.scale > 0)) {
    return `mean and scale must be finite numbers with scale > 0 (they are ${String(spec.mean)} and ${String(spec.scale)}): every forecast would be NaN`;
  }
  const q = spec.quantiles;
  if (!Array.isArray(q) || q.length !== 3 || !q.every((x, i) => typeof x === 'number' && x > 0 && x < 1 && (i === 0 || x > q[i - 1]!))) {
    return `quantiles must be three increasing numbers between 0 and 1, the P10, P50 and P90 the model gives (they are ${JSON.stringify(q)?.slice(0, 80)})`;
  }
  for (const k of ['modelId', 'modelVersion', 'unit', 'onnxFile'] as const) {
    if (typeof spec[k] !== 'string' || spec[k].length === 0 || spec[k].length > 256) return `${k} must be a string of 1 to 256 characters`;
  }
  return undefined;
}

/** A forecast from a flat window at the mean: every size must agree, and three finite quantiles come back per step. */
async function trialRun(session: ort.InferenceSession, spec: FeatureSpec): Promise<void> {
  const f = windowFeatures(new Float64Array(spec.historySteps).fill(spec.mean), TRIAL_ORIGIN_MS, spec);
  if (!f) throw new Error('a full window gave no features');
  const out = await session.run({
    seq: new ort.Tensor('float32', f.seq, [1, spec.seqLen, 2]),
    static: new ort.Tensor('float32', f.static, [1, spec.staticSize]),
    level: new ort.Tensor('float32', Float32Array.of(f.level), [1, 1]),
  });
  // eslint-disable-next-line no-restricted-syntax -- an ONNX tensor's data, not a message payload
  const q = out['quantiles']?.data as Float32Array | undefined;
  if (!q || q.length !== 3 * spec.horizon) throw new Error(`the model gave ${q?.length ?? 0} quantile values for a horizon of ${spec.horizon} (expected ${3 * spec.horizon})`);
  if (!q.every(Number.isFinite)) throw new Error('the model gave values that are not finite');
}

/** Any half-hour: the trial forecast only checks sizes. */
const TRIAL_ORIGIN_MS = Date.UTC(2023, 0, 2);

function hashWindow(window: Float64Array): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(Array.from(window, (v) => (Number.isFinite(v) ? v : null))));
  return h.digest('hex');
}
