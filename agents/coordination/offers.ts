import { flexItemId, settlementPeriodsOf, type FlexibilityAvailable as CatalogFlexibility } from '../../beckn/index.ts';
import type { CoordinationConfig } from './config.ts';
import { availableKwOf, isSold, type CoordinationState, type OfferTerms, type PublishedOffer } from './state.ts';

/**
 * From the compute agent's flexibility to catalog offers, and when an offer is worth
 * republishing. Pure.
 *
 * The compute agent plans every half-hour and its windows start a whole number of windows
 * after the plan's start, so successive plans alternate between two alignments. Offers are
 * made only for windows aligned to their own length (an hour-long window starts on the hour):
 * the offer ids stay the same from plan to plan and a changed plan changes an offer instead
 * of inventing a new one every half-hour.
 */

const r2 = (x: number): number => Math.round(x * 100) / 100;
const iso = (ms: number): string => new Date(ms).toISOString();

export function priceFor(marginalCostGbpPerMwh: number, cfg: CoordinationConfig): number {
  return r2(Math.max(cfg.minPriceGbpPerMwh, marginalCostGbpPerMwh + cfg.marginGbpPerMwh));
}

function offerData(w: { startMs: number; endMs: number; kw: number; cost: number; baselineKw: number }, planId: string, cfg: CoordinationConfig): OfferTerms {
  const periods = settlementPeriodsOf(w.startMs, w.endMs);
  const price = priceFor(w.cost, cfg);
  return {
    offerId: flexItemId(w.startMs, w.endMs),
    planId,
    windowStart: iso(w.startMs),
    windowEnd: iso(w.endMs),
    settlementDate: periods[0]!.settlementDate,
    firstSettlementPeriod: periods[0]!.settlementPeriod,
    lastSettlementPeriod: periods.at(-1)!.settlementPeriod,
    availableKw: w.kw,
    minKw: Math.min(cfg.minOrderKw, w.kw),
    priceGbpPerMwh: price,
    penaltyGbpPerMwh: r2(price * cfg.penaltyFactor),
    noticeMin: cfg.noticeMin,
    baselineMethod: cfg.baselineMethod,
    baselineKw: w.baselineKw,
    location: cfg.location.id,
    validUntil: iso(w.startMs - cfg.noticeMin * 60_000),
  };
}

/** The offers the latest flexibility supports at `nowMs`: aligned windows, enough notice, within the horizon. */
export function candidateOffers(flex: CoordinationState['flex'], nowMs: number, cfg: CoordinationConfig): OfferTerms[] {
  if (!flex) return [];
  const out: OfferTerms[] = [];
  for (const w of flex.windows) {
    const startMs = Date.parse(w.windowStart);
    const endMs = Date.parse(w.windowEnd);
    if (!isAligned(startMs, endMs)) continue;
    if (startMs - cfg.noticeMin * 60_000 <= nowMs || startMs > nowMs + cfg.horizonMin * 60_000) continue;
    const kw = Math.floor(w.kw * cfg.sellShare);
    if (kw < Math.min(cfg.minOrderKw, w.kw) || kw <= 0) continue;
    out.push(offerData({ startMs, endMs, kw, cost: w.marginalCostGbpPerMwh, baselineKw: w.baselineKw }, flex.planId, cfg));
  }
  return out;
}

const isAligned = (startMs: number, endMs: number): boolean => endMs > startMs && startMs % (endMs - startMs) === 0;

const moved = (from: number, to: number, fraction: number, abs: number): boolean => Math.abs(to - from) > Math.max(abs, fraction * Math.abs(from));

/** Whether a candidate differs enough from what was published to say so on the ledger. */
export function materiallyDifferent(published: PublishedOffer, c: OfferTerms, cfg: CoordinationConfig): boolean {
  const t = cfg.republish;
  const kwFraction = c.availableKw < published.availableKw ? t.kwDownFraction : t.kwUpFraction;
  return (
    moved(published.availableKw, c.availableKw, kwFraction, t.kwAbs) ||
    moved(published.priceGbpPerMwh, c.priceGbpPerMwh, t.priceFraction, t.priceAbs) ||
    moved(published.baselineKw, c.baselineKw, t.baselineFraction, t.baselineAbs)
  );
}

/**
 * What to publish after new flexibility: offers never published, offers whose terms moved
 * materially, and withdrawals (available 0) of open offers the plan no longer supports.
 * An offer with an order is frozen: its capacity is promised and its baseline agreed.
 */
export function offersToPublish(s: CoordinationState, nowMs: number, cfg: CoordinationConfig): OfferTerms[] {
  // A plan on the other alignment says nothing about the offered windows: wait for the next.
  const aligned = s.flex ? s.flex.windows.filter((w) => isAligned(Date.parse(w.windowStart), Date.parse(w.windowEnd))) : [];
  if (aligned.length === 0) return [];
  const candidates = candidateOffers(s.flex, nowMs, cfg);
  const out: OfferTerms[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    seen.add(c.offerId);
    if (isSold(s, c.offerId)) continue;
    const p = s.offers.get(c.offerId);
    if (!p || materiallyDifferent(p, c, cfg)) out.push(c);
  }
  // Only windows inside what the plan covers can be judged; one beyond it stays as it was.
  const planStartMs = Math.min(...aligned.map((w) => Date.parse(w.windowStart)));
  const planEndMs = Math.max(...aligned.map((w) => Date.parse(w.windowEnd)));
  for (const p of s.offers.values()) {
    if (seen.has(p.offerId) || p.availableKw === 0 || isSold(s, p.offerId) || p.validUntilMs <= nowMs) continue;
    if (p.windowStartMs < planStartMs || p.windowEndMs > planEndMs) continue;
    out.push(withdrawn(p, s.flex?.planId ?? p.planId, cfg.location.id));
  }
  return out;
}

function withdrawn(p: PublishedOffer, planId: string, location: string): OfferTerms {
  const periods = settlementPeriodsOf(p.windowStartMs, p.windowEndMs);
  return {
    offerId: p.offerId,
    planId,
    windowStart: iso(p.windowStartMs),
    windowEnd: iso(p.windowEndMs),
    settlementDate: periods[0]!.settlementDate,
    firstSettlementPeriod: periods[0]!.settlementPeriod,
    lastSettlementPeriod: periods.at(-1)!.settlementPeriod,
    availableKw: 0,
    minKw: 0,
    priceGbpPerMwh: p.priceGbpPerMwh,
    penaltyGbpPerMwh: p.penaltyGbpPerMwh,
    noticeMin: p.noticeMin,
    baselineMethod: p.baselineMethod,
    baselineKw: p.baselineKw,
    location,
    validUntil: iso(p.validUntilMs),
  };
}

/** The catalog form of a published offer. */
export function asFlexibility(o: PublishedOffer, cfg: CoordinationConfig): CatalogFlexibility {
  return {
    offerId: o.offerId,
    windowStartMs: o.windowStartMs,
    windowEndMs: o.windowEndMs,
    kw: o.availableKw,
    minKw: o.minKw,
    priceGbpPerMwh: o.priceGbpPerMwh,
    noticeMin: o.noticeMin,
    baselineMethod: o.baselineMethod,
    penaltyGbpPerMwh: o.penaltyGbpPerMwh,
    location: cfg.location,
  };
}

/** Offers on sale at `nowMs`: before their notice gate, with at least their minimum unsold. */
export function openOffers(s: CoordinationState, nowMs: number): PublishedOffer[] {
  return [...s.offers.values()]
    .filter((o) => o.validUntilMs > nowMs && o.availableKw > 0 && availableKwOf(s, o.offerId) >= o.minKw)
    .sort((a, b) => a.windowStartMs - b.windowStartMs);
}
