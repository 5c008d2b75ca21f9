/**
 * The port between the grid agent and wherever grid signals come from (a recorded data set
 * replayed on the simulated clock, or the live public APIs). Time is always passed in: a
 * source never reads a clock, so the same calls give the same answers under simulation.
 *
 * Failures are typed (`SourceUnavailableError`, `BadResponseError` in `errors.ts`); a source
 * never fills a gap with an invented value, it leaves the field `null` or the point out.
 */

/** One half-hour `[fromMs, fromMs + 30 min)`, UTC. A `null` field is "not known", never zero. */
export interface SignalPoint {
  readonly fromMs: number;
  /** The publisher's estimated actual intensity, gCO2/kWh. */
  readonly carbonActualGPerKwh: number | null;
  /**
   * The publisher's forecast for this (past) half-hour. For the national Carbon Intensity series
   * this is a late, short-lead revision, not what was forecast a day ahead.
   */
  readonly carbonForecastGPerKwh: number | null;
  /** GB single imbalance (system) price, £/MWh. */
  readonly imbalancePriceGbpPerMwh: number | null;
  /** Market index price (volume-weighted over providers), £/MWh. */
  readonly marketIndexPriceGbpPerMwh: number | null;
}

export interface ForecastPoint {
  readonly fromMs: number;
  readonly carbonForecastGPerKwh: number;
}

/**
 * Where a source's `publishedForecast` comes from: `live` is what the operator published at
 * that moment; `late-revision` is a recorded data set's forecast column, which was revised close
 * to real time and so is better than any forecast that could have been known 48 h ahead.
 */
export type ForecastProvenance = 'live' | 'late-revision';

export interface SignalSource {
  /** `recorded` or `live`. */
  readonly name: string;
  /**
   * Observed signals for the half-hours starting in `[fromMs, toMs)` that have ended at `nowMs`
   * (plus any publication lag the source models): nothing about a later half-hour is returned.
   * Points come sorted by `fromMs`; half-hours the source has nothing for are left out.
   * Rejects with `SourceUnavailableError` or `BadResponseError`.
   */
  observed(fromMs: number, toMs: number, nowMs: number): Promise<SignalPoint[]>;
  /**
   * The publisher's own carbon forecast for the half-hours from the one containing `nowMs` up
   * to 48 h later (at most 96 points), if the source has one. The grid agent publishes it as
   * the carbon P50 where it covers (`../operator-forecast.ts`), so a source offers it only if
   * it was really known at `nowMs`, or says otherwise in `forecastProvenance`.
   */
  publishedForecast?(nowMs: number): Promise<ForecastPoint[]>;
  readonly forecastProvenance?: ForecastProvenance;
  /**
   * The Carbon Intensity region `publishedForecast` is for (London is 13). Absent: GB national,
   * the series `observed` reports as `carbonActualGPerKwh` and the grid agent forecasts; only
   * then is it a forecast of the same thing (the agent uses no other).
   */
  readonly forecastRegionId?: number;
}

export const emptyPoint = (fromMs: number): SignalPoint => ({
  fromMs,
  carbonActualGPerKwh: null,
  carbonForecastGPerKwh: null,
  imbalancePriceGbpPerMwh: null,
  marketIndexPriceGbpPerMwh: null,
});
