import { offersFromCatalog, selectRequest } from '../../../beckn/index.ts';
import { eventOf } from '../../../core/runtime/index.ts';
import { PurchaseSelected } from '../../../schemas/index.ts';
import type { BecknBody } from '../../../schemas/beckn/index.ts';
import type { Pending } from '../pending.ts';
import { chooseOffers } from '../policy.ts';
import { committedGbp, coverage, type GridOperatorState, type Purchase } from '../state.ts';
import { contextFor, decided, declined, iso, requestEvent, streamOf, type Decided, type GridOperatorDecideDeps, type GridOperatorEvent, type Now } from './deps.ts';

/** No search after this one would still leave `minLeadMin` before the window. */
const lastChance = (deps: GridOperatorDecideDeps, p: Purchase, nowMs: number): boolean => nowMs + deps.config.researchEveryMin * 60_000 > p.windowStartMs - deps.config.minLeadMin * 60_000;

/**
 * on_search: from the catalogue, select what fits the window, the price cap and the budget
 * (only the first answer to a search is acted on); say it declined only when out of time.
 */
export function decideCatalogue(deps: GridOperatorDecideDeps, s: GridOperatorState, pending: Pending, p: Purchase, body: BecknBody<'on_search'>, now: Now): Decided {
  const cfg = deps.config;
  if (p.answered) return decided(pending);
  if (body.error) return decided(pending, [declined(p, null, body.error.code, `on_search error: ${body.error.message ?? body.error.code}`)]);
  const offers = offersFromCatalog(body.message.catalog);
  const spent = committedGbp(s, p.windowStartMs);
  const budget = Math.max(0, Math.min(cfg.budgetGbpPerDay - spent.day, cfg.budgetGbpPerWeek - spent.week));
  const already = coverage(s, p);
  const choices = chooseOffers(offers, { windowStartMs: p.windowStartMs, windowEndMs: p.windowEndMs, wantKw: p.wantKw, maxPriceGbpPerMwh: cfg.maxPriceGbpPerMwh }, budget, already);
  if (choices.length === 0) {
    // The plan may still change (new jobs, a longer horizon): say so only when out of time.
    if (!lastChance(deps, p, now.nowMs) || already.length > 0) return decided(pending);
    const why = offers.length === 0 ? 'no offer in the window' : budget <= 0 ? 'the budget is spent' : `none of ${offers.length} offers fits the price cap of £${cfg.maxPriceGbpPerMwh}/MWh and the £${Math.round(budget)} left`;
    return decided(pending, [declined(p, null, null, why)]);
  }
  const withBpp: Purchase = { ...p, bppId: body.context.bpp_id ?? null, bppUri: body.context.bpp_uri ?? p.bppUri };
  const events: GridOperatorEvent[] = [
    eventOf(PurchaseSelected, {
      purchaseId: p.purchaseId,
      transactionId: p.transactionId,
      bppId: withBpp.bppId ?? 'unknown',
      bppUri: withBpp.bppUri,
      offersSeen: offers.length,
      items: choices.map((c) => ({
        itemId: c.offer.itemId,
        kw: c.kw,
        priceGbpPerMwh: c.offer.priceGbpPerMwh,
        windowStart: iso(c.offer.windowStartMs),
        windowEnd: iso(c.offer.windowEndMs),
        estimatedGbp: c.estimatedGbp,
        minKw: c.offer.minKw,
        cancelGate: iso(c.offer.windowStartMs - c.offer.noticeMin * 60_000),
      })),
    }),
  ];
  for (const c of choices) {
    const select = selectRequest(contextFor(cfg, 'select', withBpp, now), { providerId: c.offer.providerId, itemId: c.offer.itemId, kw: c.kw, ...(c.offer.fulfillmentId ? { fulfillmentId: c.offer.fulfillmentId } : {}) });
    events.push(requestEvent(withBpp.bppUri, 'select', select, { purpose: 'select', purchaseId: p.purchaseId, itemId: c.offer.itemId }));
  }
  return decided(pending, [{ stream: streamOf(p.purchaseId), events }]);
}
