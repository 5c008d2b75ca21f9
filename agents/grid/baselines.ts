/**
 * Robust baseline forecasts, the ensemble's members besides the LSTM. Each reads only `known`:
 * the values strictly before the origin (the caller hands a prefix, so a baseline cannot see
 * the future even by mistake). NaN marks "no value" both in and out.
 */

const DAY = 48;
const WEEK = 7 * DAY;
/** Profile days averaged. */
const PROFILE_DAYS = 7;
/** Half-hours before the origin any baseline reads: 8 days (the profile's second-day leads). */
export const BASELINE_LOOKBACK_SLOTS = WEEK + DAY;

export const BASELINE_NAMES = ['sameTimeYesterday', 'sameTimeLastWeek', 'profile7d', 'persistence'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

/** The latest day already observed at the same time of day: yesterday for leads under 24 h, the day before for the next 24 h. */
export function sameTimeYesterday(known: ArrayLike<number>, h: number): number {
  const i = known.length + h - DAY * (Math.floor(h / DAY) + 1);
  return i >= 0 && i < known.length ? known[i]! : Number.NaN;
}

export function sameTimeLastWeek(known: ArrayLike<number>, h: number): number {
  const i = known.length + h - WEEK;
  return i >= 0 && i < known.length ? known[i]! : Number.NaN;
}

/** Mean of the last 7 observed days at the same time of day (missing days left out). */
export function profile7d(known: ArrayLike<number>, h: number): number {
  const first = Math.floor(h / DAY) + 1;
  let sum = 0;
  let n = 0;
  for (let d = first; d < first + PROFILE_DAYS; d++) {
    const i = known.length + h - DAY * d;
    if (i < 0) break;
    const v = known[i]!;
    if (Number.isFinite(v)) {
      sum += v;
      n++;
    }
  }
  return n ? sum / n : Number.NaN;
}

/** The last observed value, looking back at most 6 half-hours (a longer gap is no level to persist). */
export function persistence(known: ArrayLike<number>): number {
  for (let i = known.length - 1; i >= Math.max(0, known.length - 6); i--) if (Number.isFinite(known[i]!)) return known[i]!;
  return Number.NaN;
}

/** Every baseline for leads 0..horizon−1, as rows in `BASELINE_NAMES` order. */
export function baselineForecasts(known: ArrayLike<number>, horizon: number): Float64Array[] {
  const rows = BASELINE_NAMES.map(() => new Float64Array(horizon));
  const last = persistence(known);
  for (let h = 0; h < horizon; h++) {
    rows[0]![h] = sameTimeYesterday(known, h);
    rows[1]![h] = sameTimeLastWeek(known, h);
    rows[2]![h] = profile7d(known, h);
    rows[3]![h] = last;
  }
  return rows;
}
