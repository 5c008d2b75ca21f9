import type { DataOf } from '../../../schemas/index.ts';
import type { StressExpected } from '../../../schemas/index.ts';
import type { Pending } from '../pending.ts';
import type { GridOperatorState } from '../state.ts';
import { decided, declined, type Decided, type GridOperatorDecideDeps, type Now } from './deps.ts';
import { searchDecision } from './search.ts';

/**
 * `grid.stress.expected`: a new stress window opens a purchase with a search, unless it starts
 * too soon to buy for. A refused search is declined when its answer comes back (decide/outcome.ts).
 */
export function decideStress(deps: GridOperatorDecideDeps, s: GridOperatorState, pending: Pending, d: DataOf<typeof StressExpected>, now: Now): Decided {
  if (s.purchases.has(d.stressId)) return decided(pending);
  const cfg = deps.config;
  const startMs = Date.parse(d.windowStart);
  const endMs = Date.parse(d.windowEnd);
  if (startMs - now.nowMs < cfg.minLeadMin * 60_000) {
    const why = `the window starts in ${Math.round((startMs - now.nowMs) / 60_000)} min, less than the ${cfg.minLeadMin} min needed to buy`;
    return decided(pending, [declined({ purchaseId: d.stressId, transactionId: null }, null, null, why)]);
  }
  const transactionId = now.newId();
  const peak = d.kind === 'carbon-peak' ? d.peakCarbonGPerKwh : d.peakPriceGbpPerMwh;
  return decided(pending, [searchDecision(deps, { purchaseId: d.stressId, stressId: d.stressId, kind: d.kind, windowStartMs: startMs, windowEndMs: endMs, peak, transactionId }, 'search', now)]);
}
