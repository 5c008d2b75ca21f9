/**
 * Forecaster feature engineering, mirrored line for line from models/training/common.py
 * (`calendar_features`, `window_features`). Both read the same features.json, and
 * test/models checks the two agree on the cases saved at training time.
 */

export const HALF_HOUR_MS = 30 * 60 * 1000;
const DAY_MS = 24 * 3600 * 1000;
const TAU = 2 * Math.PI;

/** The parameters training wrote next to the model (models/<target>/features.json). */
export interface FeatureSpec {
  modelId: string;
  modelVersion: string;
  target: string;
  unit: string;
  historySteps: number;
  seqLen: number;
  horizon: number;
  minValid: number;
  mean: number;
  scale: number;
  calendarSize: number;
  staticSize: number;
  quantiles: number[];
  onnxFile: string;
}

export interface WindowFeatures {
  /** [seqLen, 2] row-major: normalised value, missing flag. */
  seq: Float32Array;
  static: Float32Array;
  level: number;
}

const londonHour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', hourCycle: 'h23' });

/** Europe/London offset from UTC in whole hours (0 in GMT, 1 in BST). */
export function londonOffsetHours(ms: number): number {
  const local = Number(londonHour.format(new Date(ms)));
  const utc = new Date(ms).getUTCHours();
  return (local - utc + 24) % 24;
}

/** [sin,cos local half-hour of day, sin,cos local day of week (Mon=0), sin,cos UTC day of year, BST flag]. */
export function calendarFeatures(ms: number): number[] {
  const off = londonOffsetHours(ms);
  const localMs = ms + off * 3_600_000;
  const localMin = Math.floor(localMs / 60_000) % 1440;
  const tod = localMin / 30;
  const days = Math.floor(localMs / DAY_MS);
  const dow = (days + 3) % 7;
  const year = new Date(ms).getUTCFullYear();
  const doy = Math.floor((ms - Date.UTC(year, 0, 1)) / DAY_MS);
  return [
    Math.sin((TAU * tod) / 48),
    Math.cos((TAU * tod) / 48),
    Math.sin((TAU * dow) / 7),
    Math.cos((TAU * dow) / 7),
    Math.sin((TAU * doy) / 365.25),
    Math.cos((TAU * doy) / 365.25),
    off,
  ];
}

/**
 * Features for one origin from the `historySteps` half-hours before it (NaN = missing):
 * level = mean of the valid values; values forward-filled (leading gaps take the level);
 * z = (value − level) / scale; seq = last seqLen (z, missing) pairs; static = calendar of the
 * origin, z one week before each horizon step, the mean z at each time of day over the week
 * (entry h = the time of day of step h), mean z of each of the 7 days, and the level
 * normalised against the training mean. Returns null when fewer than minValid values exist.
 */
export function windowFeatures(hist: ArrayLike<number>, originMs: number, spec: FeatureSpec): WindowFeatures | null {
  const H = spec.historySteps;
  const L = spec.seqLen;
  if (hist.length !== H) throw new RangeError(`windowFeatures: history must have ${H} values, got ${hist.length}`);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < H; i++) {
    const v = hist[i]!;
    if (Number.isFinite(v)) {
      sum += v;
      count++;
    }
  }
  if (count < spec.minValid) return null;
  const level = sum / count;
  const z = new Float64Array(H);
  const miss = new Uint8Array(H);
  let last = level;
  for (let i = 0; i < H; i++) {
    const v = hist[i]!;
    if (Number.isFinite(v)) last = v;
    else miss[i] = 1;
    z[i] = (last - level) / spec.scale;
  }
  const seq = new Float32Array(L * 2);
  for (let i = 0; i < L; i++) {
    seq[2 * i] = z[H - L + i]!;
    seq[2 * i + 1] = miss[H - L + i]!;
  }
  const stat = new Float32Array(spec.staticSize);
  let k = 0;
  for (const c of calendarFeatures(originMs)) stat[k++] = c;
  for (let h = 0; h < spec.horizon; h++) stat[k++] = z[h]!;
  const days = H / 48;
  for (let h = 0; h < 48; h++) {
    let s = 0;
    for (let d = 1; d <= days; d++) s += z[H + h - 48 * d]!;
    stat[k++] = s / days;
  }
  for (let d = 0; d < days; d++) {
    let s = 0;
    for (let j = 0; j < 48; j++) s += z[d * 48 + j]!;
    stat[k++] = s / 48;
  }
  stat[k++] = (level - spec.mean) / spec.scale;
  if (k !== spec.staticSize) throw new Error(`windowFeatures: built ${k} static features, spec says ${spec.staticSize}`);
  return { seq, static: stat, level };
}
