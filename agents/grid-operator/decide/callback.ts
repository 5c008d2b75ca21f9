import type { ActionCallback } from '../messages.ts';
import type { Pending } from '../pending.ts';
import type { GridOperatorState, Purchase } from '../state.ts';
import { decideCatalogue } from './catalogue.ts';
import { decideChange } from './change.ts';
import { decideDelivery } from './delivery.ts';
import { decided, type Decided, type GridOperatorDecideDeps, type Note, type Now } from './deps.ts';
import { decideConfirmed, decideQuote } from './order-steps.ts';

/**
 * Why a callback in one of our transactions is not the business of the BPP that sent it, or
 * undefined when it is. `context.bpp_id` is the verified signer: the intake refuses a callback
 * whose signature is not by the key registered for the context's `bpp_id` (intake.ts,
 * `expectedSigner`), and the command is internal, queued only by the intake.
 *
 * A search goes to the whole market, so every BPP sees its transaction id (and item ids are
 * guessable): the transaction alone does not say who may answer. Catalogues (on_search) come
 * from anyone; from the selection on, the order steps of an item come only from the BPP it was
 * selected from, and an order's news, changes and cancellation only from the BPP it is with.
 */
function strangerNote(s: GridOperatorState, p: Purchase, cb: ActionCallback): Note | undefined {
  const signer = cb.body.context.bpp_id;
  let expected: string | null;
  let orderId: string | undefined;
  switch (cb.action) {
    case 'on_search':
    case 'on_rating':
    case 'on_support':
      return undefined;
    case 'on_select':
    case 'on_init':
    case 'on_confirm': {
      const itemId = cb.body.message.order.items?.[0]?.id;
      const item = itemId !== undefined ? p.items.get(itemId) : undefined;
      // An item not selected is answered as before (declined) only when its sender is the one we selected from.
      expected = item?.bpp.id ?? p.bppId;
      break;
    }
    case 'on_status':
    case 'on_update':
    case 'on_cancel': {
      orderId = cb.body.message.order.id;
      const o = orderId !== undefined ? s.orders.get(orderId) : undefined;
      if (o && o.purchaseId !== p.purchaseId) {
        return { fields: { action: cb.action, transactionId: p.transactionId, orderId, orderTransactionId: s.purchases.get(o.purchaseId)?.transactionId ?? null, signer }, message: 'callback ignored: the order is not in this transaction' };
      }
      expected = o?.bpp?.id ?? p.bppId;
      break;
    }
    default: {
      const never: never = cb;
      return never;
    }
  }
  if (expected === null) return { fields: { action: cb.action, transactionId: p.transactionId, expectedBpp: null, signer }, message: 'callback ignored: nothing is selected from any BPP in this transaction yet' };
  if (signer !== expected) return { fields: { action: cb.action, transactionId: p.transactionId, ...(orderId !== undefined ? { orderId } : {}), expectedBpp: expected, signer }, message: 'callback ignored: signed by a BPP this transaction is not trading with' };
  return undefined;
}

/** `market.callback.handle`: a BPP's acknowledged on_* callback, in a transaction this agent started. */
export function decideCallback(deps: GridOperatorDecideDeps, s: GridOperatorState, pending: Pending, cb: ActionCallback, now: Now): Decided {
  const purchaseId = s.byTransaction.get(cb.body.context.transaction_id);
  const p = purchaseId !== undefined ? s.purchases.get(purchaseId) : undefined;
  if (!p) return decided(pending, [], [{ fields: { action: cb.action, transactionId: cb.body.context.transaction_id }, message: 'callback for a transaction we did not start' }]);
  const stranger = strangerNote(s, p, cb);
  if (stranger) return decided(pending, [], [stranger]);
  switch (cb.action) {
    case 'on_search':
      return decideCatalogue(deps, s, pending, p, cb.body, now);
    case 'on_select':
    case 'on_init':
      return decideQuote(deps, pending, p, cb.action, cb.body, now);
    case 'on_confirm':
      return decideConfirmed(deps, pending, p, cb.body, now);
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
