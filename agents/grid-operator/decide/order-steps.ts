import { cancelRequest, confirmRequest, fulfillmentIdOf, initRequest } from '../../../beckn/index.ts';
import { eventOf } from '../../../core/runtime/index.ts';
import { PurchaseOrdered } from '../../../schemas/index.ts';
import type { BecknBody } from '../../../schemas/beckn/index.ts';
import type { Pending } from '../pending.ts';
import type { Purchase, SelectedItem } from '../state.ts';
import { contextFor, decided, declined, iso, requestEvent, streamOf, towards, type Decided, type GridOperatorDecideDeps, type Now } from './deps.ts';

type OrderMessage = BecknBody<'on_select'>['message']['order'];

/** A decimal Beckn amount (a string on the wire) as £; `otherwise` when absent. */
const gbp = (value: string | undefined, otherwise: number): number => (value === undefined ? otherwise : Number(value));

const itemOf = (o: OrderMessage) => o.items?.[0];

/** Both sides round to the penny (policy.ts `costOf`, beckn `quoteFor`); anything more is a different price. */
const PENNY_GBP = 0.01;

/**
 * Why a BPP's quote is not the price the item was selected at (its catalogue price for the kW
 * chosen, within the cap and the budget), or undefined when it is, or says none. The grid
 * operator accepts only that price: a higher one could break the cap or the budgets, and the
 * amount committed is the one it accepted, never a figure the BPP sends.
 */
function priceFault(action: string, quote: OrderMessage['quote'], sel: SelectedItem): string | undefined {
  if (!quote) return undefined;
  const { currency, value } = quote.price;
  const gbp = Number(value);
  if (currency === 'GBP' && Math.abs(gbp - sel.estimatedGbp) <= PENNY_GBP + 1e-9) return undefined;
  return `${action} quotes ${value} ${currency}, not the £${sel.estimatedGbp.toFixed(2)} it was selected at`;
}

/** The item of ours an order message is about, with what we selected of it. */
function choiceOf(o: OrderMessage, p: Purchase) {
  const item = itemOf(o);
  const sel = item ? p.items.get(item.id) : undefined;
  return item && sel ? { providerId: o.provider?.id ?? '', itemId: item.id, kw: sel.kw, fulfillmentId: o.fulfillments?.[0]?.id ?? fulfillmentIdOf(item.id) } : undefined;
}

/**
 * on_select → init; on_init → confirm (with the quote and payments the BPP gave). The quote is
 * recorded once the BPP has taken the init (decide/outcome.ts).
 */
export function decideQuote(deps: GridOperatorDecideDeps, pending: Pending, p: Purchase, action: 'on_select' | 'on_init', body: BecknBody<'on_select' | 'on_init'>, now: Now): Decided {
  const cfg = deps.config;
  const order = body.message.order;
  const choice = choiceOf(order, p);
  const itemId = itemOf(order)?.id ?? null;
  if (body.error || !choice) return decided(pending, [declined(p, itemId, body.error?.code ?? null, `${action} ${body.error ? `error: ${body.error.message ?? body.error.code}` : 'names no item we selected'}`)]);
  const sel = p.items.get(choice.itemId);
  if (sel?.status !== 'pending') return decided(pending);
  const changed = priceFault(action, order.quote, sel);
  if (changed) return decided(pending, [declined(p, sel.itemId, null, changed)]);
  const to = towards(p, sel.bpp);
  if (action === 'on_select') {
    const init = initRequest(contextFor(cfg, 'init', to, now), { ...choice, billing: cfg.billing });
    return decided(pending, [{ stream: streamOf(p.purchaseId), events: [requestEvent(to.bppUri, 'init', init, { purpose: 'init', purchaseId: p.purchaseId, itemId: choice.itemId, kw: choice.kw, quoteGbp: gbp(order.quote?.price.value, 0) })] }]);
  }
  const confirm = confirmRequest(contextFor(cfg, 'confirm', to, now), { ...choice, billing: cfg.billing, ...(order.quote ? { quote: order.quote } : {}), ...(order.payments ? { payments: order.payments } : {}) });
  return decided(pending, [{ stream: streamOf(p.purchaseId), events: [requestEvent(to.bppUri, 'confirm', confirm, { purpose: 'confirm', purchaseId: p.purchaseId, itemId: choice.itemId })] }]);
}

/**
 * on_confirm: the order is bought, at the price it was selected at (what the grid operator
 * accepted); an on_confirm quoting another price is declined, never committed at its figure,
 * and the order the BPP says it confirmed is cancelled with it: else the BPP would hold (and
 * the site deliver) flexibility this agent does not count as bought.
 */
export function decideConfirmed(deps: GridOperatorDecideDeps, pending: Pending, p: Purchase, body: BecknBody<'on_confirm'>, now: Now): Decided {
  const order = body.message.order;
  const itemId = itemOf(order)?.id ?? null;
  const sel = itemId ? p.items.get(itemId) : undefined;
  if (body.error || !order.id || !sel) return decided(pending, [declined(p, itemId, body.error?.code ?? null, body.error ? `on_confirm error: ${body.error.message ?? body.error.code}` : 'on_confirm without an order id or our item')]);
  if (sel.status !== 'pending') return decided(pending);
  const changed = priceFault('on_confirm', order.quote, sel);
  if (changed) {
    const to = towards(p, sel.bpp);
    const cancel = cancelRequest(contextFor(deps.config, 'cancel', to, now), { orderId: order.id, reasonId: 'price-changed', reason: `not bought: ${changed}` });
    return decided(pending, [declined(p, sel.itemId, null, changed), { stream: streamOf(p.purchaseId), events: [requestEvent(to.bppUri, 'cancel', cancel, { purpose: 'cancel', purchaseId: p.purchaseId, orderId: order.id })] }]);
  }
  return decided(pending, [
    {
      stream: streamOf(p.purchaseId),
      events: [
        eventOf(PurchaseOrdered, {
          purchaseId: p.purchaseId,
          transactionId: p.transactionId,
          orderId: order.id,
          itemId: sel.itemId,
          kw: sel.kw,
          priceGbpPerMwh: sel.priceGbpPerMwh,
          windowStart: iso(sel.windowStartMs),
          windowEnd: iso(sel.windowEndMs),
          // What was accepted, not the callback's own figure (which priceFault has checked against it).
          committedGbp: sel.estimatedGbp,
          cancelGate: iso(sel.cancelGateMs),
        }),
      ],
    },
  ]);
}
