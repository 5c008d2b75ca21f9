import { DAY_MS, halfHourCeil, halfHourFloor, HOUR_MS, londonDate, nextDate, WEEK_MS } from '../../../core/time/index.ts';

/** Half-hour and range arithmetic shared by the sources. Pure. */

export { DAY_MS, WEEK_MS, halfHourCeil };
export const HORIZON_48H_MS = 48 * HOUR_MS;

/**
 * Exclusive upper bound on the start of half-hours that are over at `nowMs`, allowing `lagMs`
 * for publication: a half-hour `[s, s + 30 min)` is known iff `s + 30 min + lagMs <= nowMs`.
 */
export function endedBound(nowMs: number, lagMs = 0): number {
  return halfHourFloor(nowMs - lagMs);
}

/** The half-hour grid `[fromMs, toMs)` restricted to what is known at `nowMs`, as `[start, end)` on the grid. */
export function knownRange(fromMs: number, toMs: number, nowMs: number, lagMs = 0): { startMs: number; endMs: number } {
  const startMs = halfHourCeil(fromMs);
  const endMs = Math.max(startMs, Math.min(halfHourCeil(toMs), endedBound(nowMs, lagMs)));
  return { startMs, endMs };
}

/** Split `[fromMs, toMs)` into consecutive pieces of at most `maxMs`. */
export function splitRange(fromMs: number, toMs: number, maxMs: number): Array<[number, number]> {
  if (!(maxMs > 0)) throw new RangeError('maxMs must be positive');
  const out: Array<[number, number]> = [];
  for (let a = fromMs; a < toMs; a += maxMs) out.push([a, Math.min(toMs, a + maxMs)]);
  return out;
}

/** Carbon Intensity path time: `2026-01-15T17:00Z` (minute precision, UTC). */
export function ciTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16)}Z`;
}

/** RFC 3339 UTC to the second: `2026-01-15T17:00:00Z`. */
export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** Parse a UTC or offset time the schemas have already checked. */
export function parseInstant(s: string): number {
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new RangeError(`not a time: ${s}`);
  return ms;
}

/** The London settlement dates whose periods overlap `[fromMs, toMs)`. */
export function settlementDatesCovering(fromMs: number, toMs: number): string[] {
  if (toMs <= fromMs) return [];
  const last = londonDate(toMs - 1);
  const out: string[] = [];
  for (let d = londonDate(fromMs); ; d = nextDate(d)) {
    out.push(d);
    if (d === last) return out;
  }
}

/** Run `fn` over `items` with at most `limit` in flight, keeping order. Rejects with the first failure. */
export async function mapLimit<T, R>(items: ReadonlyArray<T>, limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
