import { HALF_HOUR_MS, periodsInDay, settlementPeriodOf, settlementPeriodStartUtc } from '../../core/time/index.ts';
import type { BaselinePoint } from '../../projections/settlement/index.ts';

export const iso = (ms: number): string => new Date(ms).toISOString();

/** One `site.meter.read` per half-hour of [startMs, endMs) at a constant average kW. */
export function halfHourReads(startMs: number, endMs: number, kw: (periodStartMs: number) => number, meterId = 'site-lon-01/import') {
  const out: Array<{ type: 'site.meter.read'; data: { meterId: string; intervalStart: string; intervalEnd: string; importKwh: number } }> = [];
  for (let p = startMs; p < endMs; p += HALF_HOUR_MS) {
    out.push({ type: 'site.meter.read', data: { meterId, intervalStart: iso(p), intervalEnd: iso(p + HALF_HOUR_MS), importKwh: kw(p) * 0.5 } });
  }
  return out;
}

/** Baseline points for every period of [startMs, endMs). */
export function baselineFor(startMs: number, endMs: number, kw: (periodStartMs: number) => number): BaselinePoint[] {
  const out: BaselinePoint[] = [];
  for (let p = startMs; p < endMs; p += HALF_HOUR_MS) out.push({ ...settlementPeriodOf(p), kw: kw(p) });
  return out;
}

export function dayBounds(date: string): { startMs: number; endMs: number; periods: number } {
  const n = periodsInDay(date);
  const startMs = settlementPeriodStartUtc(date, 1);
  return { startMs, endMs: startMs + n * HALF_HOUR_MS, periods: n };
}

export function confirmed(data: { orderId: string; itemId?: string; kw: number; startMs: number; endMs: number; price: number; penalty: number; baselineKw?: BaselinePoint[] }) {
  return {
    type: 'flex.order.confirmed' as const,
    data: {
      orderId: data.orderId,
      itemId: data.itemId ?? `item-${data.orderId}`,
      kw: data.kw,
      windowStart: iso(data.startMs),
      windowEnd: iso(data.endMs),
      priceGbpPerMwh: data.price,
      penaltyGbpPerMwh: data.penalty,
      ...(data.baselineKw ? { baselineKw: data.baselineKw } : {}),
    },
  };
}
