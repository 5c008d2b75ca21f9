import { measureToKw } from '../../../beckn/index.ts';
import { eventOf } from '../../../core/runtime/index.ts';
import { PurchaseChanged } from '../../../schemas/index.ts';
import type { BecknBody } from '../../../schemas/beckn/index.ts';
import { withoutChange, type Pending } from '../pending.ts';
import type { GridOperatorState } from '../state.ts';
import { decided, streamOf, type Decided } from './deps.ts';

/**
 * on_update / on_cancel: the BPP made (or refused) a change this agent asked for; a change made
 * is recorded with the reason it was asked for. Either way it is no longer pending.
 */
export function decideChange(s: GridOperatorState, pending: Pending, action: 'on_update' | 'on_cancel', body: BecknBody<'on_update' | 'on_cancel'>): Decided {
  const order = body.message.order;
  const o = order.id ? s.orders.get(order.id) : undefined;
  if (!o) return decided(pending);
  const reason = pending.changes.get(o.orderId) ?? 'changed by the grid operator';
  const next = withoutChange(pending, o.orderId);
  if (body.error) return decided(next, [], [{ fields: { orderId: o.orderId, error: body.error }, message: `${action} refused the change` }]);
  const measure = order.items?.[0]?.quantity?.selected?.measure;
  const kw = action === 'on_cancel' ? 0 : measure ? measureToKw(measure) : o.kw;
  if (action === 'on_update' && kw === o.kw) return decided(next);
  return decided(next, [
    { stream: streamOf(o.purchaseId), events: [eventOf(PurchaseChanged, { purchaseId: o.purchaseId, orderId: o.orderId, change: action === 'on_cancel' ? 'cancelled' : 'updated', kw, previousKw: o.kw, reason })] },
  ]);
}
