const HALF_HOUR_MS = 30 * 60 * 1000;

/** Keys of R whose values are numbers or null. */
export type NumericField<R> = { [K in keyof R]: R[K] extends number | null ? K : never }[keyof R] & string;

/**
 * Dense half-hour series between two instants (`fromMs` inclusive, `toMs` exclusive, both on
 * half-hour boundaries); NaN where the rows have no value. Rows outside the window are ignored.
 * Hourly rows fill only the half-hour they start in; use `hourlyToHalfHourSeries` for those.
 */
export function toHalfHourSeries<R extends { fromMs: number }>(rows: ReadonlyArray<R>, field: NumericField<R>, fromMs: number, toMs: number): Float64Array {
  assertWindow(fromMs, toMs);
  const out = new Float64Array((toMs - fromMs) / HALF_HOUR_MS).fill(Number.NaN);
  for (const r of rows) {
    if (r.fromMs < fromMs || r.fromMs >= toMs) continue;
    const v = r[field] as number | null;
    if (v !== null && Number.isFinite(v)) out[Math.floor((r.fromMs - fromMs) / HALF_HOUR_MS)] = v;
  }
  return out;
}

/** Dense half-hour series from hourly rows: both half-hours of an hour get the hour's mean. */
export function hourlyToHalfHourSeries(rows: ReadonlyArray<{ fromMs: number; actualGPerKwh: number }>, fromMs: number, toMs: number): Float64Array {
  assertWindow(fromMs, toMs);
  const out = new Float64Array((toMs - fromMs) / HALF_HOUR_MS).fill(Number.NaN);
  for (const r of rows) {
    for (const t of [r.fromMs, r.fromMs + HALF_HOUR_MS]) {
      if (t >= fromMs && t < toMs) out[(t - fromMs) / HALF_HOUR_MS] = r.actualGPerKwh;
    }
  }
  return out;
}

function assertWindow(fromMs: number, toMs: number): void {
  if (fromMs % HALF_HOUR_MS !== 0 || toMs % HALF_HOUR_MS !== 0) throw new RangeError('toHalfHourSeries: fromMs and toMs must be on half-hour boundaries');
  if (toMs < fromMs) throw new RangeError('toHalfHourSeries: toMs is before fromMs');
}
