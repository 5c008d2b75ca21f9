import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ModelInputError, ModelLoadError } from './errors.ts';
import { HALF_HOUR_MS, windowFeatures, type FeatureSpec } from './features.ts';
import { createSession, ort, readJson } from './onnx-session.ts';

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
   * Forecast the `horizon` half-hours from the one containing `nowMs`, using the
   * `historySteps` half-hours before it. Gaps are forward-filled; throws ModelInputError when
   * fewer than `minValid` of them have values.
   */
  forecast(history: HalfHourHistory, nowMs: number): Promise<Forecast>;
}

/** Load a forecaster from a folder holding features.json and the ONNX file it names. */
export async function loadForecasterFrom(dir: string): Promise<Forecaster> {
  const specPath = join(dir, 'features.json');
  const spec = readJson<FeatureSpec>(specPath);
  if (spec.historySteps % 48 !== 0 || spec.seqLen > spec.historySteps || spec.horizon > spec.historySteps) {
    throw new ModelLoadError(specPath, 'historySteps must be whole days and cover seqLen and horizon');
  }
  if (!(Number.isFinite(spec.mean) && Number.isFinite(spec.scale) && spec.scale > 0)) {
    throw new ModelLoadError(specPath, `mean and scale must be finite numbers with scale > 0 (they are ${String(spec.mean)} and ${String(spec.scale)}): every forecast would be NaN`);
  }
  const session = await createSession(join(dir, spec.onnxFile), { modelVersion: spec.modelVersion, inputs: ['seq', 'static', 'level'], outputs: ['quantiles'] });
  const H = spec.historySteps;

  return {
    spec,
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
      return { startMs, points, modelId: spec.modelId, modelVersion: spec.modelVersion, unit: spec.unit, inputsHash: hashWindow(window) };
    },
  };
}

function hashWindow(window: Float64Array): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(Array.from(window, (v) => (Number.isFinite(v) ? v : null))));
  return h.digest('hex');
}
