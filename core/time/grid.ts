import { HALF_HOUR_MS } from './settlement-periods.ts';

/**
 * The one time grid: every module that steps through half-hours, hours, days or weeks takes
 * its lengths from here (UTC milliseconds; settlement days in UK local time are in
 * settlement-periods.ts, because they are 46, 48 or 50 half-hours long).
 */
export { HALF_HOUR_MS };
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;
/** Half-hours in a 24-hour UTC day (not a settlement day: see `periodsInDay`). */
export const SLOTS_PER_DAY = DAY_MS / HALF_HOUR_MS;

/** The start of the next half-hour at or after `ms`. */
export function halfHourCeil(ms: number): number {
  return Math.ceil(ms / HALF_HOUR_MS) * HALF_HOUR_MS;
}

/** The start of the next half-hour strictly after `ms`: the one under way (even one starting at `ms`) is dispatched already. */
export function nextHalfHourAfter(ms: number): number {
  return Math.ceil((ms + 1) / HALF_HOUR_MS) * HALF_HOUR_MS;
}
