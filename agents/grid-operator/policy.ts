import type { CatalogOffer } from '../../beckn/index.ts';
import { HALF_HOUR_MS, halfHourFloor, HOUR_MS } from '../../core/time/index.ts';

/** The grid operator's decisions, as pure functions of what it knows. */

export interface Need {
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly wantKw: number;
  readonly maxPriceGbpPerMwh: number;
}

export interface Choice {
  readonly offer: CatalogOffer;
  readonly kw: number;
  readonly estimatedGbp: number;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
export const costOf = (kw: number, startMs: number, endMs: number, priceGbpPerMwh: number): number => r2((kw / 1000) * ((endMs - startMs) / HOUR_MS) * priceGbpPerMwh);

/**
 * Buy up to `wantKw` in every half-hour of the stress window, cheapest offers first, never
 * above the price cap, within `budgetGbp`. An offer is bought for at most what its half-hours
 * still lack (given what is `already` bought), at least its minimum; one that would break the
 * budget is shrunk to fit or skipped.
 */
export function chooseOffers(offers: ReadonlyArray<CatalogOffer>, need: Need, budgetGbp: number, already: ReadonlyArray<{ startMs: number; endMs: number; kw: number }> = []): Choice[] {
  // Only the stress window's half-hours are ever asked about: an offer's window (a BPP's word,
  // possibly years long) is walked only where it meets it.
  const covered = new Map<number, number>();
  const cover = (startMs: number, endMs: number, kw: number) => {
    for (let p = halfHourFloor(Math.max(startMs, need.windowStartMs)); p < Math.min(endMs, need.windowEndMs); p += HALF_HOUR_MS) covered.set(p, (covered.get(p) ?? 0) + kw);
  };
  for (const a of already) cover(a.startMs, a.endMs, a.kw);
  const lacking = (o: CatalogOffer): number => {
    let lack = 0;
    for (let p = halfHourFloor(Math.max(o.windowStartMs, need.windowStartMs)); p < Math.min(o.windowEndMs, need.windowEndMs); p += HALF_HOUR_MS) lack = Math.max(lack, need.wantKw - (covered.get(p) ?? 0));
    return lack;
  };
  const candidates = offers
    .filter((o) => o.windowEndMs > need.windowStartMs && o.windowStartMs < need.windowEndMs && o.priceGbpPerMwh <= need.maxPriceGbpPerMwh && o.availableKw >= o.minKw)
    .sort((a, b) => a.priceGbpPerMwh - b.priceGbpPerMwh || a.windowStartMs - b.windowStartMs || (a.itemId < b.itemId ? -1 : 1));
  const out: Choice[] = [];
  let left = budgetGbp;
  for (const o of candidates) {
    let kw = Math.min(o.availableKw, lacking(o));
    if (kw < o.minKw) continue;
    const perKw = costOf(1000, o.windowStartMs, o.windowEndMs, o.priceGbpPerMwh) / 1000;
    if (perKw > 0 && kw * perKw > left) kw = Math.floor(left / perKw);
    if (kw < o.minKw || kw <= 0) continue;
    const estimatedGbp = costOf(kw, o.windowStartMs, o.windowEndMs, o.priceGbpPerMwh);
    left -= estimatedGbp;
    cover(o.windowStartMs, o.windowEndMs, kw);
    out.push({ offer: o, kw, estimatedGbp });
  }
  return out.sort((a, b) => a.offer.windowStartMs - b.offer.windowStartMs || (a.offer.itemId < b.offer.itemId ? -1 : 1));
}

export type Verdict = { readonly kind: 'keep' } | { readonly kind: 'cancel'; readonly level: number } | { readonly kind: 'reduce'; readonly level: number; readonly kw: number };

/**
 * Whether a bought window is still stressed in a newer forecast: the forecast P50 peak in the
 * window over the peak announced. Only a positive announced peak can be compared.
 */
export function judge(input: {
  readonly announcedPeak: number;
  readonly forecastPeak: number | undefined;
  readonly kw: number;
  readonly minKw: number;
  readonly cancelBelow: number;
  readonly updateBelow: number;
  readonly easedShare: number;
}): Verdict {
  if (input.forecastPeak === undefined || !(input.announcedPeak > 0)) return { kind: 'keep' };
  const level = input.forecastPeak / input.announcedPeak;
  if (level < input.cancelBelow) return { kind: 'cancel', level };
  if (level < input.updateBelow) {
    const kw = Math.floor(input.kw * input.easedShare);
    return kw >= input.minKw && kw < input.kw ? { kind: 'reduce', level, kw } : { kind: 'keep' };
  }
  return { kind: 'keep' };
}

/** The highest P50 of a half-hourly forecast series inside [startMs, endMs). */
export function peakIn(series: { readonly startsAtMs: number; readonly p50: ReadonlyArray<number> }, startMs: number, endMs: number): number | undefined {
  let peak: number | undefined;
  for (let i = 0; i < series.p50.length; i++) {
    const t = series.startsAtMs + i * HALF_HOUR_MS;
    if (t < startMs || t >= endMs) continue;
    peak = peak === undefined ? series.p50[i]! : Math.max(peak, series.p50[i]!);
  }
  return peak;
}

/** 1–5 stars from the share of the contracted energy delivered. */
export function ratingFor(deliveredShare: number): number {
  if (deliveredShare >= 0.95) return 5;
  if (deliveredShare >= 0.8) return 4;
  if (deliveredShare >= 0.6) return 3;
  if (deliveredShare >= 0.3) return 2;
  return 1;
}

/** Whether every half-hour of the window has `wantKw` bought. */
export function fullyCovered(need: Pick<Need, 'windowStartMs' | 'windowEndMs' | 'wantKw'>, already: ReadonlyArray<{ startMs: number; endMs: number; kw: number }>): boolean {
  for (let p = halfHourFloor(need.windowStartMs); p < need.windowEndMs; p += HALF_HOUR_MS) {
    let kw = 0;
    for (const a of already) if (a.startMs <= p && p < a.endMs) kw += a.kw;
    if (kw < need.wantKw) return false;
  }
  return true;
}
