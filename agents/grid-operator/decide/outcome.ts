import { eventOf } from '../../../core/runtime/index.ts';
import { truncateText } from '../../../core/runtime/index.ts';
import type { MessageOf } from '../../../schemas/index.ts';
import type { EffectFailed, EffectSent } from '../../../schemas/index.ts';
import { DeliveryRated, PurchaseQuoted } from '../../../schemas/index.ts';
import { withoutChange, withoutRating, type Pending } from '../pending.ts';
import { readMeta } from '../request-meta.ts';
import type { GridOperatorState } from '../state.ts';
import { decided, declined, streamOf, type Decided } from './deps.ts';

export type Outcome = MessageOf<typeof EffectSent | typeof EffectFailed>;

/**
 * `outbox.effect.sent` / `outbox.effect.failed`: the BPP's answer to one of this agent's
 * requests, once the reactor has it. An ACK lets the step stand (init → quoted, rating →
 * rated); a NACK or no answer declines it, or forgets what was asked.
 */
export function decideOutcome(agent: string, s: GridOperatorState, pending: Pending, outcome: Outcome): Decided {
  const d = outcome.data;
  if (d.scheduledBy !== agent || d.effectType !== 'beckn.request.scheduled' || !d.meta) return decided(pending);
  const m = readMeta(d.meta);
  const p = m ? s.purchases.get(m.purchaseId) : undefined;
  if (!m || !p) return decided(pending);
  const ok = outcome.type === 'outbox.effect.sent' && outcome.data.ack === 'ACK';
  const why = truncateText(outcome.type === 'outbox.effect.failed' ? outcome.data.reason : (outcome.data.detail ?? `answered ${outcome.data.ack ?? 'without an ACK'}`), 512);
  switch (m.purpose) {
    case 'search':
      return decided(pending, ok ? [] : [declined(p, null, null, 'the BPP refused the search')]);
    case 'search-again':
      return decided(pending, [], ok ? [] : [{ fields: { purchaseId: p.purchaseId, refused: why }, message: 'search refused' }]);
    case 'select':
    case 'confirm':
      return decided(pending, ok ? [] : [declined(p, m.itemId, null, `${m.purpose} refused: ${why}`)]);
    case 'init':
      if (!ok) return decided(pending, [declined(p, m.itemId, null, `init refused: ${why}`)]);
      return decided(pending, [{ stream: streamOf(p.purchaseId), events: [eventOf(PurchaseQuoted, { purchaseId: p.purchaseId, transactionId: p.transactionId, itemId: m.itemId, kw: m.kw, quoteGbp: m.quoteGbp })] }]);
    case 'rating': {
      const next = withoutRating(pending, m.orderId);
      if (!ok) return decided(next, [], [{ fields: { orderId: m.orderId, refused: why }, message: 'rating refused' }]);
      return decided(next, [{ stream: streamOf(p.purchaseId), events: [eventOf(DeliveryRated, { purchaseId: p.purchaseId, orderId: m.orderId, value: m.value, deliveredShare: m.deliveredShare })] }]);
    }
    case 'cancel':
    case 'update':
      if (ok) return decided(pending);
      return decided(withoutChange(pending, m.orderId), [], [{ fields: { orderId: m.orderId, change: m.purpose, refused: why }, message: 'change refused' }]);
    default: {
      const never: never = m;
      return never;
    }
  }
}
