import type { Quote, UpdateRequest } from '../schemas/beckn/index.ts';
import { parseIsoDuration } from './context.ts';
import { BecknErrorCode, fault, type BecknFault } from './errors.ts';

/** Pure checks behind the business NACKs; each returns the fault, or undefined when all is well. */

/**
 * 40003 when the quote a BAP confirms is no longer what the BPP would quote: another price or
 * currency, or older than its ttl. No quote in the confirm (the short DEG flow) is accepted.
 */
export function checkQuote(input: {
  readonly accepted: Quote | undefined;
  readonly current: Quote;
  /** When the BPP issued the quote being accepted (on_select/on_init), by its Clock. */
  readonly quotedAtMs?: number;
  readonly nowMs: number;
}): BecknFault | undefined {
  const path = 'message.order.quote';
  if (input.quotedAtMs !== undefined) {
    const ttl = parseIsoDuration(input.current.ttl ?? input.accepted?.ttl ?? '') ?? undefined;
    if (ttl !== undefined && input.nowMs > input.quotedAtMs + ttl) {
      return fault(BecknErrorCode.QUOTE_UNAVAILABLE, `the quote expired ${Math.round((input.nowMs - input.quotedAtMs - ttl) / 1000)} s ago; select again`, path);
    }
  }
  if (!input.accepted) return undefined;
  const a = input.accepted.price;
  const c = input.current.price;
  if (a.currency !== c.currency || Math.abs(Number(a.value) - Number(c.value)) >= 0.005) {
    return fault(BecknErrorCode.QUOTE_UNAVAILABLE, `quoted ${a.value} ${a.currency}, the price is now ${c.value} ${c.currency}`, `${path}.price`);
  }
  return undefined;
}

/**
 * 50001 once the cancellation gate has passed: by default the offer's notice period before the
 * window, the time the site needs to put its plan back.
 */
export function checkCancel(input: { readonly windowStartMs: number; readonly gateMin: number; readonly nowMs: number }): BecknFault | undefined {
  const gateMs = input.windowStartMs - input.gateMin * 60_000;
  if (input.nowMs >= gateMs) {
    return fault(BecknErrorCode.CANCELLATION_NOT_POSSIBLE, `the cancellation gate closed at ${new Date(gateMs).toISOString()} (${input.gateMin} min before the window)`, 'message.order_id');
  }
  return undefined;
}

/** The parts of an order CACO lets a BAP update: the kW (items) and the window (fulfillments). */
export const UPDATABLE = ['items', 'fulfillments'] as const;
export type Updatable = (typeof UPDATABLE)[number];

const ALIASES: Readonly<Record<string, Updatable>> = { items: 'items', item: 'items', fulfillments: 'fulfillments', fulfillment: 'fulfillments' };

/** `"order.items, fulfillment"` → `['items', 'fulfillments']`; undefined entries are unknown targets. */
export function parseUpdateTarget(target: string): Array<{ raw: string; field: Updatable | undefined }> {
  return target
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((raw) => ({ raw, field: ALIASES[raw.replace(/^order\./, '')] }));
}

/**
 * 30012 for an update_target CACO does not update or that the order does not carry; 30013 when
 * the order changes anything outside update_target (BECKN-005).
 */
export function checkUpdate(message: UpdateRequest['message'], allowed: ReadonlyArray<Updatable> = UPDATABLE): BecknFault | undefined {
  const targets = parseUpdateTarget(message.update_target);
  if (targets.length === 0) return fault(BecknErrorCode.INVALID_UPDATE_TARGET, 'update_target names nothing', 'message.update_target');
  for (const t of targets) {
    if (t.field === undefined || !allowed.includes(t.field)) {
      return fault(BecknErrorCode.INVALID_UPDATE_TARGET, `"${t.raw}" cannot be updated (allowed: ${allowed.map((a) => `order.${a}`).join(', ')})`, 'message.update_target');
    }
  }
  const named = new Set(targets.map((t) => t.field));
  const order = message.order as Readonly<Record<string, unknown>>;
  for (const f of named) {
    if (f !== undefined && order[f] === undefined) return fault(BecknErrorCode.INVALID_UPDATE_TARGET, `update_target names order.${f} but the order has none`, 'message.update_target');
  }
  for (const k of Object.keys(order)) {
    if (k === 'id' || order[k] === undefined) continue;
    if (!named.has(k as Updatable)) {
      return fault(BecknErrorCode.UPDATE_INCONSISTENCY, `order.${k} changes but update_target is "${message.update_target}"`, `message.order.${k}`);
    }
  }
  return undefined;
}
