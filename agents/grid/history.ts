import { HALF_HOUR_MS, halfHourFloor } from '../../core/time/index.ts';
import type { SignalPoint } from './sources/index.ts';

/** The two series the forecasters read from the observed history. */
export type SeriesField = 'carbonActualGPerKwh' | 'marketIndexPriceGbpPerMwh';

/** A dense half-hourly series from `fromMs`; `null` is "not known". */
export interface HalfHourSeries {
  readonly fromMs: number;
  readonly values: ReadonlyArray<number | null>;
}

/**
 * The `slots` half-hours before the one containing `nowMs`, as a dense series: a half-hour the
 * history does not have, or has as null, is null (never filled here; the models decide how).
 */
export function seriesBefore(history: ReadonlyArray<SignalPoint>, field: SeriesField, nowMs: number, slots: number): HalfHourSeries {
  const endMs = halfHourFloor(nowMs);
  const fromMs = endMs - slots * HALF_HOUR_MS;
  const values = new Array<number | null>(slots).fill(null);
  for (const p of history) {
    if (p.fromMs < fromMs || p.fromMs >= endMs) continue;
    const v = p[field];
    values[(p.fromMs - fromMs) / HALF_HOUR_MS] = v !== null && Number.isFinite(v) ? v : null;
  }
  return { fromMs, values };
}

/**
 * What history the agent insists on before it forecasts. The LSTMs read 7 days (336 half-hours)
 * and would run on as few as 48 values, forward-filling the rest; a forecast from a week that
 * is mostly filled-in is not one to publish, so the agent is stricter than the models.
 */
export interface HistoryRequirements {
  /** Half-hours before now that are checked (the models' window). Default 336 (7 days). */
  readonly windowSlots: number;
  /** Share of those half-hours that must have a value, per series. Default 0.9 (at most 33 of 336 missing). */
  readonly minCoverage: number;
  /**
   * Most half-hours missing at the end of the window (the latest level is what a 48 h forecast
   * leans on most). Default 6 (3 h): the longest market-index gap in July–Sept 2023 is 6.
   */
  readonly maxTrailingMissing: number;
}

export const DEFAULT_HISTORY_REQUIREMENTS: HistoryRequirements = { windowSlots: 336, minCoverage: 0.9, maxTrailingMissing: 6 };

export interface SeriesCoverage {
  readonly field: SeriesField;
  readonly valid: number;
  readonly total: number;
  readonly trailingMissing: number;
}

export type HistoryCheck = { readonly ok: true; readonly coverage: ReadonlyArray<SeriesCoverage> } | { readonly ok: false; readonly reason: string; readonly coverage: ReadonlyArray<SeriesCoverage> };

const FIELDS: ReadonlyArray<SeriesField> = ['carbonActualGPerKwh', 'marketIndexPriceGbpPerMwh'];
const LABEL: Record<SeriesField, string> = { carbonActualGPerKwh: 'carbon intensity', marketIndexPriceGbpPerMwh: 'market index price' };

export function coverageOf(series: HalfHourSeries, field: SeriesField): SeriesCoverage {
  let valid = 0;
  for (const v of series.values) if (v !== null) valid++;
  let trailingMissing = 0;
  for (let i = series.values.length - 1; i >= 0 && series.values[i] === null; i--) trailingMissing++;
  return { field, valid, total: series.values.length, trailingMissing };
}

/** Whether the history before `nowMs` is good enough to forecast from; the reason names the series and the numbers. */
export function checkHistory(history: ReadonlyArray<SignalPoint>, nowMs: number, req: HistoryRequirements = DEFAULT_HISTORY_REQUIREMENTS): HistoryCheck {
  const coverage = FIELDS.map((f) => coverageOf(seriesBefore(history, f, nowMs, req.windowSlots), f));
  const problems: string[] = [];
  const need = Math.ceil(req.minCoverage * req.windowSlots);
  for (const c of coverage) {
    if (c.valid < need) problems.push(`${LABEL[c.field]} has ${c.valid} of ${c.total} half-hours (needs ${need}, ${Math.round(req.minCoverage * 100)} %)`);
    else if (c.trailingMissing > req.maxTrailingMissing) problems.push(`${LABEL[c.field]} has no value for the last ${c.trailingMissing} half-hours (at most ${req.maxTrailingMissing})`);
  }
  if (problems.length === 0) return { ok: true, coverage };
  const from = new Date(halfHourFloor(nowMs) - req.windowSlots * HALF_HOUR_MS).toISOString();
  return { ok: false, coverage, reason: `InsufficientHistory: since ${from}, ${problems.join('; ')}` };
}
