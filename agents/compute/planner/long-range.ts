/**
 * A long-range estimate of a half-hourly signal beyond the forecast's end: a seasonal
 * (time-of-day) profile of the recent past, with bands from the spread of that past, so that a
 * plan can see a job's whole window up to its deadline (days away) instead of only the 48 h a
 * forecast covers. Pure: it reads only the history it is given, and only values strictly before
 * `nowMs` (a value at or after the decision time is never known then).
 */
import type { BandPoint } from './bands.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../../../core/time/index.ts';

const DAY_SLOTS = 48;

export interface History {
  /** Start of the first half-hour of `values`. */
  readonly fromMs: number;
  /** Half-hourly values (null or NaN when missing). */
  readonly values: ReadonlyArray<number | null>;
}

export interface LongRangeOptions {
  /** Days of history the profile is built from (default 28). */
  readonly days?: number;
}

function quantileSorted(xs: ReadonlyArray<number>, q: number): number {
  if (xs.length === 1) return xs[0]!;
  const pos = q * (xs.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(xs.length - 1, lo + 1);
  return xs[lo]! + (xs[hi]! - xs[lo]!) * (pos - lo);
}

/**
 * Per half-hour of the (UTC) day: P10/P50/P90 of the values at that half-hour over the last
 * `days` days before `nowMs`. Throws when the history has no usable value before `nowMs`.
 */
export function seasonalProfile(history: History, nowMs: number, o: LongRangeOptions = {}): BandPoint[] {
  const days = o.days ?? 28;
  if (!(days >= 1)) throw new RangeError(`long-range days must be ≥ 1, not ${days}`);
  const endIdx = Math.min(history.values.length, Math.floor((nowMs - history.fromMs) / SLOT_MS));
  const startIdx = Math.max(0, endIdx - days * DAY_SLOTS);
  const buckets: number[][] = Array.from({ length: DAY_SLOTS }, () => []);
  for (let i = startIdx; i < endIdx; i++) {
    const v = history.values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    const tod = (((Math.floor((history.fromMs + i * SLOT_MS) / SLOT_MS)) % DAY_SLOTS) + DAY_SLOTS) % DAY_SLOTS;
    buckets[tod]!.push(v);
  }
  const all = buckets.flat();
  if (all.length === 0) throw new RangeError(`long-range estimate: no history before ${new Date(nowMs).toISOString()}`);
  const allSorted = [...all].sort((a, b) => a - b);
  return buckets.map((b) => {
    const xs = b.length ? [...b].sort((x, y) => x - y) : allSorted;
    return { p10: quantileSorted(xs, 0.1), p50: quantileSorted(xs, 0.5), p90: quantileSorted(xs, 0.9) };
  });
}

/**
 * The forecast's bands for the slots it covers, then the seasonal profile of the past for the
 * rest of `slots` half-hours from `nowMs` (floored to the half-hour). Where the profile takes
 * over its bands are at least as wide as the forecast's last band: a long-range estimate is
 * never more certain than the forecast.
 */
export function extendBands(forecast: ReadonlyArray<BandPoint>, history: History, nowMs: number, slots: number, o: LongRangeOptions = {}): BandPoint[] {
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, not ${slots}`);
  const t0 = Math.floor(nowMs / SLOT_MS) * SLOT_MS;
  const out: BandPoint[] = forecast.slice(0, slots).map((b) => ({ ...b }));
  if (out.length >= slots) return out;
  const prof = seasonalProfile(history, t0, o);
  const last = forecast.at(-1);
  const minHalfWidth = last ? Math.max(0, (last.p90 - last.p10) / 2) : 0;
  for (let k = out.length; k < slots; k++) {
    const tod = Math.floor((t0 + k * SLOT_MS) / SLOT_MS) % DAY_SLOTS;
    const p = prof[tod]!;
    out.push({ p10: Math.min(p.p10, p.p50 - minHalfWidth), p50: p.p50, p90: Math.max(p.p90, p.p50 + minHalfWidth) });
  }
  return out;
}

/**
 * The cost of a slot planned on the distribution rather than one point: a weighted sum of the
 * quantiles. Neutral weights (0.3/0.4/0.3, Pearson–Tukey) estimate the mean, which is what a
 * linear objective should minimise; more weight on P90 makes the plan risk-averse (it pays
 * for avoiding half-hours that could turn out dear).
 */
export interface QuantileWeights {
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
}

export const NEUTRAL_WEIGHTS: QuantileWeights = { p10: 0.3, p50: 0.4, p90: 0.3 };

export function quantileWeightedCost(bands: ReadonlyArray<BandPoint>, w: QuantileWeights = NEUTRAL_WEIGHTS): number[] {
  for (const k of ['p10', 'p50', 'p90'] as const) if (!(w[k] >= 0) || !Number.isFinite(w[k])) throw new RangeError(`quantile weight ${k} must be a finite number ≥ 0, not ${w[k]}`);
  const sum = w.p10 + w.p50 + w.p90;
  if (Math.abs(sum - 1) > 1e-9) throw new RangeError(`quantile weights must sum to 1, not ${sum}`);
  return bands.map((b, i) => {
    if (!(b.p10 <= b.p50 + 1e-9 && b.p50 <= b.p90 + 1e-9)) throw new RangeError(`bands[${i}]: P10 ≤ P50 ≤ P90 does not hold (${b.p10}, ${b.p50}, ${b.p90})`);
    return w.p10 * b.p10 + w.p50 * b.p50 + w.p90 * b.p90;
  });
}
