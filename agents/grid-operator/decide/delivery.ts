import { ratingRequest } from '../../../beckn/index.ts';
import { decimalOrNaN } from '../../../core/text/index.ts';
import { eventOf } from '../../../core/runtime/index.ts';
import { Schema } from 'effect';
import { DeliveryReported, SettlementDate, SettlementPeriod } from '../../../schemas/index.ts';
import type { BecknBody, TagGroup } from '../../../schemas/beckn/index.ts';
import { withRating, type Pending } from '../pending.ts';
import { ratingFor } from '../policy.ts';
import type { GridOperatorState } from '../state.ts';
import { contextFor, decided, requestEvent, streamOf, towards, type Decided, type GridOperatorDecideDeps, type GridOperatorEvent, type Now } from './deps.ts';

function tagValue(groups: ReadonlyArray<TagGroup> | undefined, group: string, code: string): string | undefined {
  return groups?.find((g) => g.descriptor.code === group)?.list.find((t) => t.descriptor.code === code)?.value;
}

/**
 * A tag's text as a number (Beckn tags are text on the wire); null when absent, not a number
 * or not finite (a plain decimal only, core/text/decimal.ts). The callback is ACKed before it is recorded: a value the event's schema
 * refuses ("1e999", a period 99) made the append fail five times and the news, a COMPLETED
 * state with it, go to the dead letters (a helper's review). What does not fit is not known.
 */
const decimal = (s: string | undefined): number | null => {
  if (s === undefined) return null;
  // A plain decimal only: Number() reads "0x10" as 16 and "" as 0.
  const n = decimalOrNaN(s);
  return Number.isFinite(n) ? n : null;
};
const isSettlementDate = Schema.is(SettlementDate);
const isSettlementPeriod = Schema.is(SettlementPeriod);
const orNull = <T>(x: unknown, is: (u: unknown) => u is T): T | null => (is(x) ? x : null);

/**
 * on_status: record the delivery news (state, the half-hour's telemetry, what is owed); a
 * COMPLETED delivery not yet rated is rated from the share of the contracted energy delivered
 * (recorded once the BPP has taken the rating, decide/outcome.ts).
 */
export function decideDelivery(deps: GridOperatorDecideDeps, s: GridOperatorState, pending: Pending, body: BecknBody<'on_status'>, now: Now): Decided {
  const order = body.message.order;
  const o = order.id ? s.orders.get(order.id) : undefined;
  const p = o ? s.purchases.get(o.purchaseId) : undefined;
  if (!o || !p || body.error) return decided(pending);
  const ful = order.fulfillments?.[0];
  const state = ful?.state?.descriptor?.code || order.status || 'UNKNOWN';
  const t = (code: string) => decimal(tagValue(ful?.tags, 'telemetry', code));
  const events: GridOperatorEvent[] = [
    eventOf(DeliveryReported, {
      purchaseId: o.purchaseId,
      orderId: o.orderId,
      state,
      settlementDate: orNull(tagValue(ful?.tags, 'telemetry', 'settlement-date'), isSettlementDate),
      settlementPeriod: orNull(t('settlement-period'), isSettlementPeriod),
      baselineKw: t('baseline-kw'),
      meteredKw: t('metered-kw'),
      deliveredKw: t('delivered-kw'),
      deliveredKwhToDate: t('delivered-kwh-to-date'),
      settledGbp: decimal(tagValue(order.tags, 'settlement', 'net-gbp')),
    }),
  ];
  let next = pending;
  if (state === 'COMPLETED' && !o.rated && !pending.ratings.has(o.orderId)) {
    const contracted = decimal(tagValue(order.tags, 'settlement', 'contracted-mwh')) ?? 0;
    const delivered = decimal(tagValue(order.tags, 'settlement', 'delivered-mwh')) ?? 0;
    // Delivered over contracted, as the BPP says them: kept in [0, 1] (more than contracted is
    // all of it; nothing below none), since the share goes into the rating request and the
    // rating recorded. 1e300 over 1e-300 was Infinity, which failed their schemas, and the
    // COMPLETED news went to the dead letters with them (a helper's review).
    const raw = contracted > 0 ? delivered / contracted : 0;
    const share = Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : raw > 0 ? 1 : 0;
    const value = ratingFor(share);
    next = withRating(next, o.orderId);
    const to = towards(p, o.bpp);
    const rating = ratingRequest(contextFor(deps.config, 'rating', to, now), [{ rating_category: 'Order', id: o.orderId, value: `${value}` }]);
    events.push(requestEvent(to.bppUri, 'rating', rating, { purpose: 'rating', purchaseId: o.purchaseId, orderId: o.orderId, value, deliveredShare: Math.round(share * 1000) / 1000 }));
  }
  return decided(next, [{ stream: streamOf(o.purchaseId), events }]);
}
