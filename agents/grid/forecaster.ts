import { CacoError } from '../../core/errors/index.ts';
import type { DataOf, ForecastPublished } from '../../schemas/index.ts';
import { seriesBefore, type HalfHourSeries } from './history.ts';
import type { SignalPoint } from './sources/index.ts';

/** The port between the grid agent and whatever forecasts carbon intensity and price. */

/** 48 h of half-hours. */
export const FORECAST_HORIZON = 96;
/**
 * History handed to each series forecaster: what the online ensemble needs for a full residual
 * window (`ensembleHistorySlots()`: 28 days of targets, the 48 h horizon before them, a refit
 * block, and the 8 days its members read before each past origin), ≈ 38 days.
 */
export const HISTORY_SLOTS = 28 * 48 + 96 + 6 + 8 * 48;

/**
 * A forecast of one series as `grid.forecast.published` carries it: `FORECAST_HORIZON`
 * half-hours of P10/P50/P90 from the one containing `nowMs`. A forecaster may return more
 * properties; the agent puts only the schema's on the ledger.
 */
export type SeriesForecast = DataOf<typeof ForecastPublished>['carbonGPerKwh'];
export type Band = SeriesForecast['points'][number];

export interface GridForecast {
  /** gCO2/kWh. */
  readonly carbon: SeriesForecast;
  /** Market index price, £/MWh. */
  readonly price: SeriesForecast;
}

export interface Forecaster {
  /**
   * Forecast the 96 half-hours from the one containing `nowMs` from the observed history
   * (sorted points, gaps left out or null). Rejects with `ForecastInputError` when the history
   * cannot support a forecast; anything else is a bug.
   */
  forecast(history: ReadonlyArray<SignalPoint>, nowMs: number): Promise<GridForecast>;
  /** Half-hours of history before `nowMs` the forecaster wants (the agent reads at least this much). */
  readonly historySlots?: number;
}

/** One series (carbon or price) on its own: what the LSTM adapter and the naive model implement. */
export interface SeriesForecaster {
  /** `modelId@modelVersion`, for logs. */
  readonly describe: string;
  /** Half-hours of history it wants before the origin, if more than `HISTORY_SLOTS`. */
  readonly historySlots?: number;
  forecast(series: HalfHourSeries, nowMs: number): Promise<SeriesForecast>;
}

/** The history cannot support a forecast (too few values for the model). */
export class ForecastInputError extends CacoError {
  override readonly _tag = 'ForecastInputError';
  constructor(readonly modelId: string, reason: string) {
    super(`${modelId}: ${reason}`);
  }
}

/** A forecaster from one series forecaster per signal: carbon from the actual intensity, price from the market index. */
export function gridForecaster(parts: { readonly carbon: SeriesForecaster; readonly price: SeriesForecaster; readonly historySlots?: number }): Forecaster {
  const wanted = Math.max(parts.carbon.historySlots ?? 0, parts.price.historySlots ?? 0);
  const slots = parts.historySlots ?? Math.max(HISTORY_SLOTS, wanted);
  return {
    // Only a forecaster that asks for more history makes the agent read more than its default 8 days.
    ...(parts.historySlots !== undefined || wanted > 0 ? { historySlots: slots } : {}),
    async forecast(history, nowMs) {
      const carbon = await parts.carbon.forecast(seriesBefore(history, 'carbonActualGPerKwh', nowMs, slots), nowMs);
      const price = await parts.price.forecast(seriesBefore(history, 'marketIndexPriceGbpPerMwh', nowMs, slots), nowMs);
      return { carbon, price };
    },
  };
}

/**
 * What is wrong with a series forecast, or null: the agent publishes nothing it cannot stand
 * behind, so a short, non-finite or crossed forecast is treated as no forecast.
 */
export function forecastProblem(f: SeriesForecast, horizon = FORECAST_HORIZON): string | null {
  if (f.points.length !== horizon) return `${f.modelId}: ${f.points.length} points, expected ${horizon}`;
  for (let i = 0; i < f.points.length; i++) {
    const b = f.points[i] as Band;
    if (!Number.isFinite(b.p10) || !Number.isFinite(b.p50) || !Number.isFinite(b.p90)) return `${f.modelId}: point ${i} is not finite`;
    if (!(b.p10 <= b.p50 && b.p50 <= b.p90)) return `${f.modelId}: point ${i} has crossed quantiles (${b.p10}, ${b.p50}, ${b.p90})`;
  }
  return null;
}

/** Sort a (possibly crossed) triple into p10 ≤ p50 ≤ p90: monotone rearrangement of quantile estimates. */
export function orderedBand(a: number, b: number, c: number): Band {
  const [p10, p50, p90] = [a, b, c].sort((x, y) => x - y) as [number, number, number];
  return { p10, p50, p90 };
}
