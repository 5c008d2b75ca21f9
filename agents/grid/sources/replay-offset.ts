import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { londonOffsetMs } from './london-offset.ts';
import { DAY_MS, WEEK_MS } from './time-grid.ts';

export interface ReplayWindow {
  /** First half-hour start in the recorded data. */
  readonly dataFromMs: number;
  /** End (exclusive) of the last recorded half-hour. */
  readonly dataToMs: number;
  /** Recorded history that must lie before the mapped now (for the model's inputs). Default 7 days. */
  readonly historyMs?: number;
  /** Recorded data that must lie after the mapped now, i.e. how long the replay can run. Default 7 days. */
  readonly runwayMs?: number;
  /** The mapped now must not be earlier than this (e.g. the start of a model's test period). */
  readonly notBeforeMs?: number;
}

/**
 * The offset that replays recorded data "as if current" (`caco bpp --recorded`): recorded time
 * + offset = current time, where the mapped now has the same London day of the week and wall-clock
 * time as `nowMs`, since demand, and so carbon and price, follow the local clock. Of the weeks that
 * fit, the latest one is taken (closest to the present grid) that still leaves `runwayMs` of data.
 *
 * The offset is fixed for the whole replay; call this once, at start. Throws RangeError if no
 * week of the data fits.
 */
export function sameTimeOfWeekOffset(nowMs: number, w: ReplayWindow): number {
  const historyMs = w.historyMs ?? 7 * DAY_MS;
  const runwayMs = w.runwayMs ?? 7 * DAY_MS;
  const lo = Math.max(w.dataFromMs + historyMs, w.notBeforeMs ?? -Infinity);
  const hi = w.dataToMs - runwayMs;
  const now = Math.floor(nowMs / HALF_HOUR_MS) * HALF_HOUR_MS;
  // A whole number of weeks back, then the DST difference, so the London wall clock matches.
  const mapped = (k: number) => {
    const r = now - k * WEEK_MS;
    return r + londonOffsetMs(now) - londonOffsetMs(r);
  };
  for (let k = Math.floor((now - hi) / WEEK_MS) - 1; mapped(k) >= lo - WEEK_MS; k++) {
    const r = mapped(k);
    if (r <= hi && r >= lo) return now - r;
  }
  throw new RangeError(
    `no week of the recorded data ${new Date(w.dataFromMs).toISOString()}..${new Date(w.dataToMs).toISOString()} leaves ` +
      `${historyMs / DAY_MS} days of history before and ${runwayMs / DAY_MS} days of runway after the mapped now`,
  );
}
