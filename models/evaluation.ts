/**
 * Forecast evaluation: the baselines a grid engineer compares with, and error accumulators.
 * Pure functions over dense half-hour series (NaN = missing); bench/forecast.ts does the I/O.
 */

/** Lead times reported, in hours. A lead of k hours is the half-hour ending k hours after the
 * forecast is issued at the start of its first half-hour, i.e. horizon index 2k − 1. */
export const LEAD_HOURS = [1, 6, 24, 48] as const;
export const leadIndex = (hours: number): number => 2 * hours - 1;

/**
 * Same time yesterday, as known at the origin: for horizon step h the value 24 h before it if
 * that is already observed, else 48 h before (steps beyond the first day).
 */
export function sameTimeYesterday(series: ArrayLike<number>, origin: number, h: number): number {
  const back = 48 * (Math.floor(h / 48) + 1);
  const i = origin + h - back;
  return i >= 0 && i < series.length ? series[i]! : Number.NaN;
}

/** Same time last week (always observed at the origin for horizons up to 7 days). */
export function sameTimeLastWeek(series: ArrayLike<number>, origin: number, h: number): number {
  const i = origin + h - 336;
  return i >= 0 && i < series.length ? series[i]! : Number.NaN;
}

export interface ErrorSummary {
  mae: number;
  rmse: number;
  /** Mean of prediction − actual. */
  bias: number;
  n: number;
}

/** Running absolute and squared error; NaN pairs are the caller's to filter. */
export class ErrorAccumulator {
  private abs = 0;
  private sq = 0;
  private sum = 0;
  private count = 0;

  add(pred: number, actual: number): void {
    const e = pred - actual;
    this.abs += Math.abs(e);
    this.sq += e * e;
    this.sum += e;
    this.count++;
  }

  summary(): ErrorSummary {
    const n = this.count;
    return n === 0 ? { mae: Number.NaN, rmse: Number.NaN, bias: Number.NaN, n } : { mae: this.abs / n, rmse: Math.sqrt(this.sq / n), bias: this.sum / n, n };
  }
}

/** Share of actuals inside [lo, hi]. */
export class CoverageAccumulator {
  private inside = 0;
  private count = 0;
  add(lo: number, hi: number, actual: number): void {
    if (actual >= lo && actual <= hi) this.inside++;
    this.count++;
  }
  get value(): number {
    return this.count === 0 ? Number.NaN : this.inside / this.count;
  }
  get n(): number {
    return this.count;
  }
}

/** Runtime-prediction scores: MAE and the share of jobs under-predicted by more than 10 %
 * (the ones that would overrun a deadline planned on the prediction). */
export function runtimeScores(pred: ArrayLike<number>, actual: ArrayLike<number>): { maeSeconds: number; underPredictedOver10Pct: number; n: number } {
  if (pred.length !== actual.length) throw new RangeError('runtimeScores: pred and actual differ in length');
  let abs = 0;
  let under = 0;
  for (let i = 0; i < pred.length; i++) {
    abs += Math.abs(pred[i]! - actual[i]!);
    if (pred[i]! < 0.9 * actual[i]!) under++;
  }
  const n = pred.length;
  return { maeSeconds: n ? abs / n : Number.NaN, underPredictedOver10Pct: n ? under / n : Number.NaN, n };
}
