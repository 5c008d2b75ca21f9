import { eventOf, type Decision } from '../../../core/runtime/index.ts';
import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { orderStatement } from '../../../projections/settlement/index.ts';
import { OrderFulfilled } from '../../../schemas/index.ts';
import type { CoordinationOut } from '../messages.ts';
import type { CoordinationState } from '../state.ts';
import { statusPush } from './callbacks.ts';
import { decided, orderStream, type CoordinationDecideDeps, type Decided, type Now } from './deps.ts';

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * `site.meter.read` (already folded into the settlement): each running order's buyer hears the
 * half-hour's delivery; an order whose window has closed and settled is fulfilled.
 */
export function decideMeterRead(deps: CoordinationDecideDeps, s: CoordinationState, periodStart: string, now: Now): Decided {
  const periodStartMs = Date.parse(periodStart);
  const out: Array<Decision<CoordinationOut>> = [];
  // Only running orders, filtered before the sort: every order ever made stays in the state
  // (its status can still be asked), and this runs every half-hour.
  const running = [...s.orders.values()].filter((o) => o.phase === 'active' || o.phase === 'confirmed');
  for (const o of running.sort((a, b) => a.windowStartMs - b.windowStartMs || (a.orderId < b.orderId ? -1 : 1))) {
    if (periodStartMs + HALF_HOUR_MS <= o.windowStartMs) continue;
    const st = orderStatement(s.settlement, o.orderId);
    const done = periodStartMs + HALF_HOUR_MS >= o.windowEndMs && st !== undefined && st.totals.periodsPending === 0;
    if (!done) {
      if (o.phase === 'active' && periodStartMs < o.windowEndMs) out.push({ stream: orderStream(o.orderId), events: [statusPush(deps, s, o, now)] });
      continue;
    }
    const t = st.totals;
    const fulfilled = eventOf(OrderFulfilled, {
      orderId: o.orderId,
      deliveredMwh: t.deliveredMwh,
      contractedMwh: t.contractedMwh,
      paymentGbp: t.paymentGbp,
      penaltyGbp: t.penaltyGbp,
      netGbp: t.netGbp,
      periods: st.lines.map((l) => ({
        settlementDate: l.settlementDate,
        settlementPeriod: l.settlementPeriod,
        baselineKwh: round3((l.baselineKw ?? 0) * 0.5 * l.activeFraction),
        meteredKwh: round3((l.meteredKw ?? 0) * 0.5 * l.activeFraction),
        deliveredKwh: round3(l.deliveredMwh * 1000),
      })),
    });
    const summary = { deliveredMwh: t.deliveredMwh, contractedMwh: t.contractedMwh, paymentGbp: t.paymentGbp, penaltyGbp: t.penaltyGbp, netGbp: t.netGbp };
    const push = statusPush(deps, s, { ...o, phase: 'fulfilled', updatedMs: now.nowMs, fulfilled: summary }, now);
    out.push({ stream: orderStream(o.orderId), events: [fulfilled, push] });
  }
  return decided(out);
}
