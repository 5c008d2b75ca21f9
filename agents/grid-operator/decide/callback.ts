import type { ActionCallback } from '../messages.ts';
import type { Pending } from '../pending.ts';
import type { GridOperatorState } from '../state.ts';
import { decideCatalogue } from './catalogue.ts';
import { decideChange } from './change.ts';
import { decideDelivery } from './delivery.ts';
import { decided, type Decided, type GridOperatorDecideDeps, type Now } from './deps.ts';
import { decideConfirmed, decideQuote } from './order-steps.ts';

/** `market.callback.handle`: a BPP's acknowledged on_* callback, in a transaction this agent started. */
export function decideCallback(deps: GridOperatorDecideDeps, s: GridOperatorState, pending: Pending, cb: ActionCallback, now: Now): Decided {
  const purchaseId = s.byTransaction.get(cb.body.context.transaction_id);
  const p = purchaseId !== undefined ? s.purchases.get(purchaseId) : undefined;
  if (!p) return decided(pending, [], [{ fields: { action: cb.action, transactionId: cb.body.context.transaction_id }, message: 'callback for a transaction we did not start' }]);
  switch (cb.action) {
    case 'on_search':
      return decideCatalogue(deps, s, pending, p, cb.body, now);
    case 'on_select':
    case 'on_init':
      return decideQuote(deps, pending, p, cb.action, cb.body, now);
    case 'on_confirm':
      return decideConfirmed(pending, p, cb.body);
    case 'on_status':
      return decideDelivery(deps, s, pending, cb.body, now);
    case 'on_update':
    case 'on_cancel':
      return decideChange(s, pending, cb.action, cb.body);
    case 'on_rating':
    case 'on_support':
      return decided(pending);
    default: {
      const never: never = cb;
      return never;
    }
  }
}
