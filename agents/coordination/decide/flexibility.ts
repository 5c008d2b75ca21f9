import { eventOf } from '../../../core/runtime/index.ts';
import { OfferPublished } from '../../../schemas/index.ts';
import { offersToPublish } from '../offers.ts';
import type { CoordinationState } from '../state.ts';
import { decided, OFFERS_STREAM, type CoordinationDecideDeps, type Decided } from './deps.ts';

/**
 * `compute.flexibility.available` (already folded into the state): publish the offers it
 * supports, change those it moves materially, withdraw those it no longer supports.
 */
export function decideFlexibility(deps: CoordinationDecideDeps, s: CoordinationState, nowMs: number): Decided {
  const offers = offersToPublish(s, nowMs, deps.config);
  return decided(offers.length ? [{ stream: OFFERS_STREAM, events: offers.map((data) => eventOf(OfferPublished, data)) }] : []);
}
