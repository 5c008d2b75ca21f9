import { HALF_HOUR_MS } from '../../core/time/index.ts';
import type { Band, SeriesForecast } from './forecaster.ts';
import type { ForecastPoint, ForecastProvenance } from './sources/index.ts';

/**
 * The grid operator's own carbon forecast (Carbon Intensity API `fw48h`) as the P50 of the
 * published carbon forecast, where it covers. Pure: the agent fetches, this only combines.
 *
 * Why: the operator's live forecast scores an MAE of about 25 gCO2/kWh (NESO `fw48h` pooled
 * over 0–48 h, 2023-03..06; see `sources/recorded-source.ts` and `bench/forecast.ts`), while
 * our carbon LSTM's is 33.4 pooled over 0–48 h and 35.3 at 24 h on its 2023-07..09 test
 * quarter, 36.7 and 39.4 on the 2026 sample it never saw (models/carbon/MODEL_CARD.md,
 * bench/results/forecast-carbon-2026-sample.json; README "How good are the decisions" has the
 * ensemble's): the operator sees the weather forecasts and we do not. It is only an input
 * where it was really known at the tick (live); the recorded archive's forecast column is a
 * late revision and a source serves it only on an explicit opt-in, which the modelId names.
 *
 * The model's band width is kept around the operator's P50: the operator publishes no
 * quantiles, and the model's spread is the only uncertainty we have. It was sized for the
 * model's larger error, so around the operator's forecast it errs wide, not narrow.
 */

/** Appended to the carbon modelId when the operator's live forecast gave some P50s. */
export const OPERATOR_FORECAST_SUFFIX = '+operator-fw48h';
/** Appended instead when the P50s came from a recorded late revision (an opted-in replay, never a fair test). */
export const LATE_REVISION_FORECAST_SUFFIX = '+operator-fw48h-late-revision';

export function operatorSuffix(provenance: ForecastProvenance | undefined): string {
  return provenance === 'late-revision' ? LATE_REVISION_FORECAST_SUFFIX : OPERATOR_FORECAST_SUFFIX;
}

/**
 * The operator's values by slot index from `startMs` (a half-hour boundary), for the `slots`
 * half-hours the model forecasts. Off-grid, out-of-horizon, non-finite and non-positive values
 * are left out: GB intensity is never 0 (the API uses 0 as a placeholder), and a value left
 * out means the model's stands, so nothing is invented.
 */
export function operatorP50s(operator: ReadonlyArray<ForecastPoint>, startMs: number, slots: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of operator) {
    const offset = p.fromMs - startMs;
    if (offset < 0 || offset % HALF_HOUR_MS !== 0) continue;
    const i = offset / HALF_HOUR_MS;
    if (i >= slots) continue;
    const y = p.carbonForecastGPerKwh;
    if (Number.isFinite(y) && y > 0) out.set(i, y);
  }
  return out;
}

/**
 * One covered half-hour: P50 is the operator's value `y`; P10 and P90 sit as far below and
 * above it as the model's did below and above its own P50 (the band shifted by `y − p50`),
 * P10 floored at 0. A crossed model band contributes no width on its crossed side, so the
 * result is ordered whatever it is given.
 */
export function shiftedBand(model: Band, y: number): Band {
  const below = Math.max(0, model.p50 - model.p10);
  const above = Math.max(0, model.p90 - model.p50);
  return { p10: Math.max(0, y - below), p50: y, p90: y + above };
}

/**
 * The carbon forecast with the operator's P50 for every half-hour it covers (the model's band
 * width around it) and the model's own bands elsewhere. Returns `model` itself when the
 * operator covers nothing (an empty or failed fetch changes nothing, modelId included);
 * otherwise the modelId gains the suffix for `provenance` and the modelVersion is the model's.
 */
export function withOperatorForecast(
  model: SeriesForecast,
  operator: ReadonlyArray<ForecastPoint>,
  startMs: number,
  provenance?: ForecastProvenance,
): SeriesForecast {
  const p50s = operatorP50s(operator, startMs, model.points.length);
  if (p50s.size === 0) return model;
  return {
    modelId: `${model.modelId}${operatorSuffix(provenance)}`,
    modelVersion: model.modelVersion,
    points: model.points.map((b, i) => {
      const y = p50s.get(i);
      return y === undefined ? b : shiftedBand(b, y);
    }),
  };
}
