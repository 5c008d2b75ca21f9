import { HALF_HOUR_MS, londonDate } from '../../core/time/index.ts';
import type { DataOf, StressExpected } from '../../schemas/index.ts';
import type { Band } from './forecaster.ts';
import { median, quantile } from './stats.ts';

/**
 * Stress windows: the stretches of a forecast where carbon intensity or price is expected to
 * peak, which is what a grid operator buys flexibility for. Pure.
 *
 * Per signal, a half-hour is stressed when its P50 is at or above both the horizon's upper
 * quantile (default the 90th percentile of the 96 P50s) and the horizon median plus
 * `minSeverity` (default 20 %) of the scale (|median|, or the interquartile range of the
 * horizon's P50s when that is larger: prices near £0 would otherwise make every wiggle "severe").
 * A run of stressed half-hours is a window when it
 * - starts at least `noticeMin` after now (flexibility needs notice; a peak already under way
 *   or about to start is not offered) and at most `maxLeadMin` ahead (further out the forecast
 *   still moves peaks around; the window is announced once it is within the lead),
 * - ends before the horizon does (a run cut off by the horizon is not known yet; it is
 *   announced from a later forecast that sees its end),
 * - is at least `minWindowMin` long; a run longer than `maxWindowMin` is cut to the
 *   `maxWindowMin` with the highest P50 sum (the heart of the peak).
 * Windows of one kind never overlap; a carbon and a price window may.
 */
/** Named by the schema: a new kind is added there. */
export type StressKind = DataOf<typeof StressExpected>['kind'];

export interface StressOptions {
  /** Least lead between now and a window's start. Default 60. */
  readonly noticeMin: number;
  /** Default 60. */
  readonly minWindowMin: number;
  /** Default 240. */
  readonly maxWindowMin: number;
  /** Most lead between now and a window's start (day-ahead). Default 1440. */
  readonly maxLeadMin: number;
  /** Quantile of the horizon's P50s a stressed half-hour must reach. Default 0.9. */
  readonly upperQuantile: number;
  /** Least (P50 − median) / scale of a stressed half-hour. Default 0.2. */
  readonly minSeverity: number;
  /** A candidate this close to (or overlapping) an announced window of its kind is that window again. Default 60. */
  readonly mergeGapMin: number;
  /** Most windows of one kind announced for one settlement day (by start, UK local). Default 2: a morning and an evening peak. */
  readonly maxPerDay: number;
}

export const DEFAULT_STRESS_OPTIONS: StressOptions = {
  noticeMin: 60,
  maxLeadMin: 1440,
  minWindowMin: 60,
  maxWindowMin: 240,
  upperQuantile: 0.9,
  minSeverity: 0.2,
  mergeGapMin: 60,
  maxPerDay: 2,
};

export interface StressWindow {
  readonly kind: StressKind;
  readonly startMs: number;
  readonly endMs: number;
  /** Highest carbon P50 in the window, gCO2/kWh. */
  readonly peakCarbonGPerKwh: number;
  /** Highest price P50 in the window, £/MWh. */
  readonly peakPriceGbpPerMwh: number;
  /** (peak P50 − horizon median) / scale of the window's own signal; scale is |median| unless the interquartile range is larger. */
  readonly severity: number;
}

export interface StressInput {
  /** Start of the first forecast half-hour. */
  readonly startMs: number;
  readonly nowMs: number;
  readonly carbon: ReadonlyArray<Band>;
  readonly price: ReadonlyArray<Band>;
}

/** A floor on the scale, in the signal's unit, so a flat series near zero cannot divide by ~0. */
const MIN_SCALE = 1;

export function detectStress(input: StressInput, options: Partial<StressOptions> = {}): StressWindow[] {
  const o = { ...DEFAULT_STRESS_OPTIONS, ...options };
  const out = [...windowsOf('carbon-peak', input.carbon, input, o), ...windowsOf('price-peak', input.price, input, o)];
  return out.sort((a, b) => a.startMs - b.startMs || a.kind.localeCompare(b.kind));
}

function windowsOf(kind: StressKind, series: ReadonlyArray<Band>, input: StressInput, o: StressOptions): StressWindow[] {
  const p50 = series.map((b) => b.p50);
  const n = Math.min(input.carbon.length, input.price.length);
  if (n === 0) return [];
  const horizon = p50.slice(0, n);
  const mid = median(horizon);
  const scale = Math.max(Math.abs(mid), quantile(horizon, 0.75) - quantile(horizon, 0.25), MIN_SCALE);
  const threshold = Math.max(quantile(horizon, o.upperQuantile), mid + o.minSeverity * scale);
  const minSlots = Math.max(1, Math.ceil(o.minWindowMin / 30));
  const maxSlots = Math.max(minSlots, Math.floor(o.maxWindowMin / 30));
  const earliest = input.nowMs + o.noticeMin * 60_000;
  const latest = input.nowMs + o.maxLeadMin * 60_000;
  const lastStart = Math.floor((latest - input.startMs) / HALF_HOUR_MS);
  const out: StressWindow[] = [];
  for (let i = 0; i < n; ) {
    if (!((p50[i] as number) >= threshold)) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && (p50[j] as number) >= threshold) j++;
    // Run [i, j).
    const runStart = input.startMs + i * HALF_HOUR_MS;
    if (runStart >= earliest && runStart <= latest && j < n && j - i >= minSlots) {
      const [a, b] = heaviest(p50, i, j, maxSlots, lastStart);
      const peak = (from: ReadonlyArray<Band>) => Math.max(...from.slice(a, b).map((x) => x.p50));
      out.push({
        kind,
        startMs: input.startMs + a * HALF_HOUR_MS,
        endMs: input.startMs + b * HALF_HOUR_MS,
        peakCarbonGPerKwh: peak(input.carbon),
        peakPriceGbpPerMwh: peak(input.price),
        severity: Math.max(0, (Math.max(...p50.slice(a, b)) - mid) / scale),
      });
    }
    i = j;
  }
  return out;
}

/** The sub-run of at most `len` slots in [i, j), starting at `lastStart` at the latest, with the largest sum (earliest on ties). */
function heaviest(v: ReadonlyArray<number>, i: number, j: number, len: number, lastStart: number): [number, number] {
  if (j - i <= len) return [i, j];
  let sum = 0;
  for (let k = i; k < i + len; k++) sum += v[k] as number;
  let best = sum;
  let at = i;
  for (let k = i + len; k < j && k - len + 1 <= lastStart; k++) {
    sum += (v[k] as number) - (v[k - len] as number);
    if (sum > best) {
      best = sum;
      at = k - len + 1;
    }
  }
  return [at, at + len];
}

export interface AnnouncedWindow {
  readonly kind: StressKind;
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * The candidates to announce now. Forecasts move a peak by a half-hour or two from one issue to
 * the next, so a candidate overlapping, or within `mergeGapMin` of, an announced window of its
 * kind is the same event and is not announced again. A settlement day gets at most `maxPerDay`
 * windows of a kind (the most severe candidates first); `announced` must therefore hold the
 * windows of the days still being announced for, not only those still to come.
 */
export function unannounced(candidates: ReadonlyArray<StressWindow>, announced: ReadonlyArray<AnnouncedWindow>, options: Partial<StressOptions> = {}): StressWindow[] {
  const gap = (options.mergeGapMin ?? DEFAULT_STRESS_OPTIONS.mergeGapMin) * 60_000;
  const maxPerDay = options.maxPerDay ?? DEFAULT_STRESS_OPTIONS.maxPerDay;
  const seen: AnnouncedWindow[] = [...announced];
  const perDay = new Map<string, number>();
  const dayKey = (w: AnnouncedWindow) => `${w.kind}|${londonDate(w.startMs)}`;
  for (const a of announced) perDay.set(dayKey(a), (perDay.get(dayKey(a)) ?? 0) + 1);
  const out: StressWindow[] = [];
  const bySeverity = [...candidates].sort((a, b) => b.severity - a.severity || a.startMs - b.startMs);
  for (const c of bySeverity) {
    if (seen.some((a) => a.kind === c.kind && c.startMs <= a.endMs + gap && a.startMs <= c.endMs + gap)) continue;
    const key = dayKey(c);
    if ((perDay.get(key) ?? 0) >= maxPerDay) continue;
    perDay.set(key, (perDay.get(key) ?? 0) + 1);
    out.push(c);
    seen.push(c);
  }
  return out.sort((a, b) => a.startMs - b.startMs || a.kind.localeCompare(b.kind));
}
