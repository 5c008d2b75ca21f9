import type { CapWindow } from './state.ts';

/**
 * The import caps that the flexibility orders sold put on the plan, one number per slot.
 *
 * Orders in one window are promised on top of each other: each buyer pays for its own kW
 * below the baseline, so the site must cut by their sum. Taking the tightest single order's
 * cap (the minimum) would deliver only the largest order and leave the rest short, with penalties.
 * When orders in one slot came from offers with different baselines (the offer was republished
 * between two sales), the lowest baseline is used: cutting below it satisfies every order.
 */

/** What the plan charges itself per MWh it would fall short of a sold reduction, at least. */
export const DELIVERY_PRIORITY_GBP_PER_MWH = 300;

export interface FlexCaps {
  /** Import cap per slot, kW (never above the site's own cap, never below zero). */
  readonly caps: number[];
  /** Per slot: what each MWh short of the cap costs, £/MWh (0 when no order holds the slot). */
  readonly breach: number[];
  /** Per slot: the kW sold (0 where no order holds the slot), which the plan holds in the battery. */
  readonly soldKw: number[];
  /** Each order with the slots (indices) it holds. */
  readonly orders: Array<{ readonly id: string; readonly slots: Set<number> }>;
}

export function flexCapsFor(input: {
  readonly t0Ms: number;
  readonly slots: number;
  readonly slotMs: number;
  readonly siteImportCapKw: number;
  readonly windows: Iterable<Pick<CapWindow, 'orderId' | 'startMs' | 'endMs' | 'kw' | 'baselineKw' | 'shortfallGbpPerMwh'>>;
  /**
   * The least a planned shortfall is charged at, £/MWh (default DELIVERY_PRIORITY_GBP_PER_MWH).
   * The order's price plus penalty (≈ £90/MWh) is below what holding the battery or moving a
   * job costs at a price spike, so a plan priced on it alone sells and then does not deliver.
   * A late kWh of work is charged more than any shortfall it could avoid (planner/formulation.ts, overSale), so a sale never makes a job late.
   */
  readonly minBreachGbpPerMwh?: number;
  /**
   * Per slot, site kW the plan must leave free under a sold cap for jobs not yet submitted
   * (`arrivalRoomKw`): the baseline counted them, the plan cannot. Default none.
   */
  readonly arrivalRoomKw?: ReadonlyArray<number>;
}): FlexCaps {
  const windows = [...input.windows];
  const caps: number[] = [];
  const breach: number[] = [];
  const sold: number[] = [];
  const orders = new Map<string, Set<number>>();
  for (let i = 0; i < input.slots; i++) {
    const t = input.t0Ms + i * input.slotMs;
    let baseline = Infinity;
    let soldKw = 0;
    let cost = 0;
    for (const c of windows) {
      if (t < c.startMs || t >= c.endMs) continue;
      baseline = Math.min(baseline, c.baselineKw);
      soldKw += c.kw;
      cost = Math.max(cost, c.shortfallGbpPerMwh);
      let held = orders.get(c.orderId);
      if (!held) orders.set(c.orderId, (held = new Set()));
      held.add(i);
    }
    const room = input.arrivalRoomKw?.[i] ?? 0;
    caps.push(baseline === Infinity ? input.siteImportCapKw : Math.min(input.siteImportCapKw, Math.max(0, baseline - soldKw - room)));
    sold.push(soldKw);
    breach.push(cost > 0 ? Math.max(cost, input.minBreachGbpPerMwh ?? DELIVERY_PRIORITY_GBP_PER_MWH) : 0);
  }
  return { caps, breach, soldKw: sold, orders: [...orders].map(([id, slots]) => ({ id, slots })) };
}
