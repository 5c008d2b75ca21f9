import { DAY_AHEAD_LEAD_MS, SLOT_MS, type Band, type ForecastState } from './forecast.ts';
import { HOUR_MS } from '../../core/time/index.ts';

/**
 * A day-ahead point counts when it was issued within this much of 24 h before its half-hour;
 * early in a run (or after an outage) the closest forecast may be much younger, and calling
 * that "day-ahead" would flatter the forecaster.
 */
export const DAY_AHEAD_TOLERANCE_MS = 3 * HOUR_MS;

export interface ForecastRow {
  readonly periodStart: string;
  readonly carbonActual: number | null;
  readonly carbonPublishedForecast: number | null;
  readonly priceActual: number | null;
  readonly carbonDayAhead: Band | null;
  readonly priceDayAhead: Band | null;
  readonly dayAheadLeadMin: number | null;
}

/** Every half-hour of [fromMs, toMs): actuals and the day-ahead forecast, null where absent. */
export function forecastVsActual(s: ForecastState, fromMs: number, toMs: number, toleranceMs = DAY_AHEAD_TOLERANCE_MS): ForecastRow[] {
  const out: ForecastRow[] = [];
  for (let t = Math.floor(fromMs / SLOT_MS) * SLOT_MS; t < toMs; t += SLOT_MS) {
    const key = new Date(t).toISOString();
    const o = s.observed.get(key);
    const found = s.dayAhead.get(key);
    const f = found && Math.abs(found.leadMin * 60_000 - DAY_AHEAD_LEAD_MS) <= toleranceMs ? found : undefined;
    out.push({
      periodStart: key,
      carbonActual: o?.carbonGPerKwh ?? null,
      carbonPublishedForecast: o?.carbonPublishedForecastGPerKwh ?? null,
      priceActual: o?.priceGbpPerMwh ?? null,
      carbonDayAhead: f?.carbon ?? null,
      priceDayAhead: f?.price ?? null,
      dayAheadLeadMin: f?.leadMin ?? null,
    });
  }
  return out;
}

/** The span of half-hours with an observation or a day-ahead point. */
export function forecastSpan(s: ForecastState): { readonly fromMs: number; readonly toMs: number } | null {
  let lo = Infinity, hi = -Infinity;
  for (const k of [...s.observed.entries(), ...s.dayAhead.entries()].map(([key]) => Date.parse(key))) {
    lo = Math.min(lo, k);
    hi = Math.max(hi, k);
  }
  return lo === Infinity ? null : { fromMs: lo, toMs: hi + SLOT_MS };
}

export interface SkillScore {
  /** Half-hours with both an actual and a day-ahead forecast. */
  readonly n: number;
  /** Mean absolute error of the P50. */
  readonly maeP50: number | null;
  /** Share of actuals inside [P10, P90] (0.8 for calibrated bands). */
  readonly coverageP10P90: number | null;
}

function skill(rows: ReadonlyArray<ForecastRow>, pick: (r: ForecastRow) => [number | null, Band | null]): SkillScore {
  let n = 0, abs = 0, inside = 0;
  for (const r of rows) {
    const [a, b] = pick(r);
    if (a === null || b === null) continue;
    n++;
    abs += Math.abs(a - b.p50);
    if (a >= b.p10 && a <= b.p90) inside++;
  }
  return { n, maeP50: n ? abs / n : null, coverageP10P90: n ? inside / n : null };
}

/** How good the day-ahead forecasts were over the rows given. */
export function dayAheadSkill(rows: ReadonlyArray<ForecastRow>): { readonly carbon: SkillScore; readonly price: SkillScore } {
  return { carbon: skill(rows, (r) => [r.carbonActual, r.carbonDayAhead]), price: skill(rows, (r) => [r.priceActual, r.priceDayAhead]) };
}

export interface LatestRow {
  readonly periodStart: string;
  readonly carbon: Band;
  readonly price: Band;
}

export function latestForecastRows(s: ForecastState): LatestRow[] {
  const f = s.latest;
  if (!f) return [];
  const t0 = Date.parse(f.startsAt);
  const n = Math.min(f.carbon.length, f.price.length);
  return Array.from({ length: n }, (_, i) => ({ periodStart: new Date(t0 + i * SLOT_MS).toISOString(), carbon: f.carbon[i]!, price: f.price[i]! }));
}
