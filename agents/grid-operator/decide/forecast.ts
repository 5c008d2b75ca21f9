import { cancelRequest, updateRequest } from '../../../beckn/index.ts';
import type { Decision } from '../../../core/runtime/index.ts';
import type { DataOf } from '../../../schemas/index.ts';
import type { ForecastPublished } from '../../../schemas/index.ts';
import type { GridOperatorOut } from '../messages.ts';
import { withChange, type Pending } from '../pending.ts';
import { fullyCovered, judge, peakIn } from '../policy.ts';
import { coverage, type GridOperatorState } from '../state.ts';
import { contextFor, decided, requestEvent, streamOf, towards, type Decided, type GridOperatorDecideDeps, type Now } from './deps.ts';
import { searchDecision } from './search.ts';

/**
 * `grid.forecast.published`: re-judge every order still changeable against the newer forecast
 * (cancel it if the stress has passed, reduce it once if it has eased), then search again for
 * windows still short of flexibility, now and then, while there is time.
 */
export function decideForecast(deps: GridOperatorDecideDeps, s: GridOperatorState, pending: Pending, d: DataOf<typeof ForecastPublished>, now: Now): Decided {
  const cfg = deps.config;
  const { nowMs } = now;
  const startsAtMs = Date.parse(d.startsAt);
  const out: Array<Decision<GridOperatorOut>> = [];
  let next = pending;
  // Each order is reduced at most once; a reduced one may still be cancelled.
  const open = [...s.orders.values()].filter((o) => (o.phase === 'ordered' || o.phase === 'updated') && nowMs < o.cancelGateMs && !pending.changes.has(o.orderId));
  for (const o of open.sort((a, b) => a.windowStartMs - b.windowStartMs || (a.orderId < b.orderId ? -1 : 1))) {
    const p = s.purchases.get(o.purchaseId);
    if (!p) continue;
    const series = p.kind === 'carbon-peak' ? d.carbonGPerKwh : d.priceGbpPerMwh;
    const forecastPeak = peakIn({ startsAtMs, p50: series.points.map((x) => x.p50) }, o.windowStartMs, o.windowEndMs);
    const v = judge({ announcedPeak: p.peak, forecastPeak, kw: o.kw, minKw: o.minKw, cancelBelow: cfg.cancelBelow, updateBelow: cfg.updateBelow, easedShare: cfg.easedShare });
    if (v.kind === 'keep' || (v.kind === 'reduce' && o.phase === 'updated') || forecastPeak === undefined) continue;
    // To the BPP the order is with, which a later search in the transaction may not have answered.
    const to = towards(p, o.bpp);
    const why = `forecast peak ${forecastPeak.toFixed(1)} is ${Math.round(v.level * 100)} % of the ${p.peak.toFixed(1)} announced`;
    const ev =
      v.kind === 'cancel'
        ? requestEvent(to.bppUri, 'cancel', cancelRequest(contextFor(cfg, 'cancel', to, now), { orderId: o.orderId, reasonId: 'stress-passed', reason: `stress passed: ${why}` }), { purpose: 'cancel', purchaseId: p.purchaseId, orderId: o.orderId })
        : requestEvent(to.bppUri, 'update', updateRequest(contextFor(cfg, 'update', to, now), { orderId: o.orderId, itemId: o.itemId, kw: v.kw }), { purpose: 'update', purchaseId: p.purchaseId, orderId: o.orderId });
    // Asked now; forgotten again if the BPP refuses (decide/outcome.ts).
    next = withChange(next, o.orderId, v.kind === 'cancel' ? `stress passed: ${why}` : `stress eased: ${why}`);
    out.push({ stream: streamOf(p.purchaseId), events: [ev] });
  }
  const purchases = [...s.purchases.values()].sort((a, b) => a.windowStartMs - b.windowStartMs || (a.purchaseId < b.purchaseId ? -1 : 1));
  for (const p of purchases) {
    if (p.closed || p.windowStartMs - nowMs < cfg.minLeadMin * 60_000 || nowMs - p.lastSearchMs < cfg.researchEveryMin * 60_000) continue;
    // An order cancelled or reduced, or asked to be in this decision or one still unanswered (the
    // state holds neither yet): the stress has passed or eased, so nothing more is bought for it.
    // Searching anyway re-bought the item just cancelled, in the same transaction.
    const changed = [...s.orders.values()].some((o) => o.purchaseId === p.purchaseId && (o.phase === 'cancelled' || o.phase === 'updated' || next.changes.has(o.orderId)));
    if (changed || fullyCovered({ windowStartMs: p.windowStartMs, windowEndMs: p.windowEndMs, wantKw: p.wantKw }, coverage(s, p))) continue;
    out.push(searchDecision(deps, p, 'search-again', now));
  }
  return decided(next, out);
}
