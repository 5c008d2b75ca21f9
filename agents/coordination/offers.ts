import { flexItemId, settlementPeriodsOf, type FlexibilityAvailable as CatalogFlexibility } from '../../beckn/index.ts';
import type { CoordinationConfig } from './config.ts';
import { availableKwOf, soldKwOf, type CoordinationState, type OfferTerms, type PublishedOffer } from './state.ts';

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
 *
 * An offer with orders is still judged, but only its unsold part: what is sold is held by the
 * orders, each with the price, penalty and baseline of its own `flex.order.confirmed`, so the
 * offer is republished with availableKw = kW sold + what the plan supports beyond them, and
 * with availableKw = kW sold when it supports no more (the rest withdrawn: a confirm or an
 * update for more is refused, 40002). Freezing the whole offer at its first sale left the rest
 * on sale, at its first price, after the plan could no longer deliver it.
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
    const p = s.offers.get(c.offerId);
    const soldKw = p ? soldKwOf(s, c.offerId) : 0;
    if (p && soldKw > 0) {
      const next = withSales(p, c, soldKw);
      // Judged on the unsold part alone (the sold kW cannot move), against the agreed baseline.
      if (materiallyDifferent({ ...p, availableKw: Math.max(0, p.availableKw - soldKw) }, { ...c, baselineKw: p.baselineKw }, cfg)) out.push(next);
      continue;
    }
    if (!p || materiallyDifferent(p, c, cfg)) out.push(c);
  }
  // Only windows inside what the plan covers can be judged; one beyond it stays as it was.
  const planStartMs = Math.min(...aligned.map((w) => Date.parse(w.windowStart)));
  const planEndMs = Math.max(...aligned.map((w) => Date.parse(w.windowEnd)));
  for (const p of s.offers.values()) {
    if (seen.has(p.offerId) || p.validUntilMs <= nowMs) continue;
    // Nothing beyond what is sold is on sale (never published, withdrawn, or sold out): nothing to withdraw.
    const soldKw = soldKwOf(s, p.offerId);
    if (p.availableKw <= soldKw) continue;
    if (p.windowStartMs < planStartMs || p.windowEndMs > planEndMs) continue;
    out.push(withdrawn(p, s.flex?.planId ?? p.planId, cfg.location.id, soldKw));
  }
  return out;
}

/**
 * A sold offer as the latest plan supports it: its sold kW plus the candidate's.
 *
 * The compute agent's kW for a window already leave out what is sold there: its plan meets the
 * sold cap (baseline − kW sold − room for arrivals: agents/compute/flex-caps.ts), so the window's
 * flexibility is shedding below an import already cut by the kW sold, and the battery's part
 * leaves out the power and energy held for them (`heldKw`: agents/compute/planner/flexibility.ts,
 * flex-windows.ts). So the kW sold are added to the candidate, not taken from it (that would
 * count them twice). For the same reason the window's reported baseline is the import after the
 * cut, about the kW sold below the agreed one: the offer keeps its agreed baseline (and minimum),
 * so every order in the window is measured, and capped (flex-caps.ts takes the lowest baseline
 * less the sum sold), against one baseline. The price and penalty are the candidate's: they apply
 * to kW not yet sold, since each order carries its own. A plan made before the compute agent saw
 * a sale (it re-plans on each) over-states the window by up to the kW sold until that re-plan;
 * with `sellShare` at ½ the offer still stays within what that plan could shed, as the kW sold
 * were at most the half of it put on sale.
 */
function withSales(p: PublishedOffer, c: OfferTerms, soldKw: number): OfferTerms {
  return { ...c, availableKw: soldKw + c.availableKw, minKw: p.minKw, baselineMethod: p.baselineMethod, baselineKw: p.baselineKw };
}

/** An offer taken off sale: all of it, or (`soldKw` > 0) all but what its orders hold. */
function withdrawn(p: PublishedOffer, planId: string, location: string, soldKw: number): OfferTerms {
  const periods = settlementPeriodsOf(p.windowStartMs, p.windowEndMs);
  return {
    offerId: p.offerId,
    planId,
    windowStart: iso(p.windowStartMs),
    windowEnd: iso(p.windowEndMs),
    settlementDate: periods[0]!.settlementDate,
    firstSettlementPeriod: periods[0]!.settlementPeriod,
    lastSettlementPeriod: periods.at(-1)!.settlementPeriod,
    availableKw: soldKw,
    // A sold offer keeps its minimum: an order's update is checked against it.
    minKw: soldKw > 0 ? p.minKw : 0,
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
