import { eventOf } from '../../../core/runtime/index.ts';
import { OrderActivated } from '../../../schemas/index.ts';
import type { CoordinationState } from '../state.ts';
import { statusPush } from './callbacks.ts';
import { decided, iso, orderStream, type ActivationTimer, type CoordinationDecideDeps, type Decided, type Now } from './deps.ts';

export const ACTIVATE_TIMER = 'activate';

/** The order a due `activate` timer names; undefined for any other timer or a malformed one. */
export function activationOf(name: string, data: unknown): string | undefined {
  if (name !== ACTIVATE_TIMER || typeof data !== 'object' || data === null || !('orderId' in data)) return undefined;
  return typeof data.orderId === 'string' ? data.orderId : undefined;
}

/** The timer's data as `activationOf` reads it back. */
export const activationData = (t: ActivationTimer): { readonly orderId: string } => ({ orderId: t.orderId });

/** The window of a confirmed order begins: hold the import below the cap, and tell the buyer. */
export function decideActivation(deps: CoordinationDecideDeps, s: CoordinationState, orderId: string, now: Now): Decided {
  const o = s.orders.get(orderId);
  if (!o || o.phase !== 'confirmed') return decided([]);
  const push = statusPush(deps, s, { ...o, phase: 'active', updatedMs: now.nowMs }, now);
  return decided([{ stream: orderStream(orderId), events: [eventOf(OrderActivated, { orderId, at: iso(now.nowMs), capKw: Math.max(0, o.baselineKw - o.kw) }), push] }]);
}
