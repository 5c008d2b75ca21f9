import { HALF_HOUR_MS, halfHourFloor } from '../../core/time/index.ts';
import { FORECAST_HORIZON, ForecastInputError, type Band, type SeriesForecaster } from './forecaster.ts';
import type { HalfHourSeries } from './history.ts';
import { quantile } from './stats.ts';

export const NAIVE_MODEL_ID = 'naive-same-time-yesterday';
export const NAIVE_MODEL_VERSION = '1';

const DAY_SLOTS = 48;

export interface NaiveOptions {
  /**
   * The model this one stands in for (`carbon LSTM`): the modelId then says it is a fallback,
   * so nobody mistakes it for the model.
   */
  readonly fallbackFor?: string;
  /** How many days back to look for a same-time value when yesterday's is missing. Default 7. */
  readonly maxLagDays?: number;
  /** Fewest (value, value a lag earlier) pairs the bands are estimated from. Default 48. */
  readonly minPairs?: number;
}

/**
 * Same time yesterday, with empirical bands. The P50 for a half-hour is the value at the same
 * time on the latest day already observed (yesterday for the first 24 h, the day before for the
 * next 24 h; earlier days if that one is missing). P10/P90 add the 10th and 90th percentiles of
 * how far such a guess was off over the history (value minus the value one or two days before),
 * so the bands are as wide as this naive model has actually been wrong.
 */
export function naiveSeriesForecaster(opts: NaiveOptions = {}): SeriesForecaster {
  const maxLagDays = opts.maxLagDays ?? 7;
  const minPairs = opts.minPairs ?? 48;
  const modelId = opts.fallbackFor ? `${NAIVE_MODEL_ID} (fallback: ${opts.fallbackFor} not loaded)` : NAIVE_MODEL_ID;
  return {
    describe: `${modelId}@${NAIVE_MODEL_VERSION}`,
    forecast(series: HalfHourSeries, nowMs: number) {
      const startMs = halfHourFloor(nowMs);
      if (series.fromMs % HALF_HOUR_MS !== 0) return Promise.reject(new ForecastInputError(modelId, 'history must start on a half-hour boundary'));
      // Index of the first forecast half-hour in the series' own numbering; only values before it are known.
      const base = (startMs - series.fromMs) / HALF_HOUR_MS;
      const known = Math.min(base, series.values.length);
      const at = (i: number): number | null => (i >= 0 && i < known ? (series.values[i] ?? null) : null);
      const bands = new Map<number, { lo: number; hi: number }>();
      const bandFor = (lagDays: number) => {
        let b = bands.get(lagDays);
        if (!b) {
          const r: number[] = [];
          for (let i = lagDays * DAY_SLOTS; i < known; i++) {
            const now = at(i);
            const then = at(i - lagDays * DAY_SLOTS);
            if (now !== null && then !== null) r.push(now - then);
          }
          if (r.length < minPairs) throw new ForecastInputError(modelId, `${r.length} pairs a ${lagDays}-day lag apart in the history; the bands need ${minPairs}`);
          b = { lo: Math.min(0, quantile(r, 0.1)), hi: Math.max(0, quantile(r, 0.9)) };
          bands.set(lagDays, b);
        }
        return b;
      };
      try {
        const points: Band[] = [];
        for (let h = 0; h < FORECAST_HORIZON; h++) {
          const lagDays = Math.floor(h / DAY_SLOTS) + 1;
          let p50: number | null = null;
          for (let k = lagDays; k <= lagDays + maxLagDays - 1 && p50 === null; k++) p50 = at(base + h - k * DAY_SLOTS);
          if (p50 === null) throw new ForecastInputError(modelId, `no value at the same time of day in the ${maxLagDays} days before ${new Date(startMs + h * HALF_HOUR_MS).toISOString()}`);
          const b = bandFor(lagDays);
          points.push({ p10: p50 + b.lo, p50, p90: p50 + b.hi });
        }
        return Promise.resolve({ modelId, modelVersion: NAIVE_MODEL_VERSION, points });
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };
}
