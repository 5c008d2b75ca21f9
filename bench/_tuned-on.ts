/**
 * Where each setting was chosen: the periods a bench must not call out of sample for it. One
 * list, so the forecast, schedule and flexibility benches pool the same months and weeks.
 */
import { DAY_MS } from '../core/time/index.ts';

/** Months whose results chose the ensemble forecaster's settings (`DEFAULT_ENSEMBLE_OPTIONS`). */
export const FORECAST_TUNING_MONTHS: ReadonlyArray<string> = ['2023-02', '2023-03'];

/** The planner's settings (reserve, terminal SoC, quantile weights, re-plan cadence) were chosen on these days (planner README). */
export const PLANNER_TUNING = { from: '2023-07-01', days: 14 } as const;

/** The calendar month that holds the planner's tuning fortnight: in sample for the planner. */
export const PLANNER_TUNING_MONTH = PLANNER_TUNING.from.slice(0, 7);

/** Does the `days`-day period from `from` (YYYY-MM-DD) share a day with the planner's tuning fortnight? */
export function overlapsPlannerTuning(from: string, days: number): boolean {
  const a = Date.parse(`${from}T00:00:00Z`);
  const t = Date.parse(`${PLANNER_TUNING.from}T00:00:00Z`);
  return a < t + PLANNER_TUNING.days * DAY_MS && t < a + days * DAY_MS;
}

/** Of `months` (YYYY-MM), those no setting of the planner or the ensemble forecaster was chosen on. */
export function untunedMonths(months: ReadonlyArray<string>): string[] {
  return months.filter((m) => m !== PLANNER_TUNING_MONTH && !FORECAST_TUNING_MONTHS.includes(m));
}

/**
 * Where the shipped LSTMs' training and validation data end (their model cards' `trainedOn`):
 * a run that admits them before it (the flexibility bench runs the simulation as the site does)
 * is in sample for them. The forecast and schedule walk-forwards keep them out before it.
 */
export const LSTM_DATA_END = '2023-07-01';

/** Is a `days`-day period from `from` (YYYY-MM-DD) out of sample for every model and setting: after the LSTMs' data and clear of the planner's fortnight? */
export function untunedPeriod(from: string, days: number): boolean {
  return from >= LSTM_DATA_END && !overlapsPlannerTuning(from, days);
}
