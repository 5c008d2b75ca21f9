import type { SiteConfig } from './jobs/index.ts';
import type { PlanResult } from './planner/index.ts';
import { DAY_MS, HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';
import { arrivalHistory, slotArrivals, type ArrivalHistory, type SlotArrivals } from './expected-arrivals.ts';
import { flexWindows, type FlexWindow, type FlexWindowOptions } from './flex-windows.ts';
import { OFFER_SLOTS } from './horizon.ts';
import type { ComputeState } from './state.ts';

/**
 * The flexibility a plan leaves, in windows the coordination agent can offer, each against a
 * baseline: the plan plus what jobs still to arrive add. For the slots an offer can be made
 * for, those are the tight arrivals (released after now, unable to avoid the slot; serving
 * load above all, submitted as it starts) at the same times over the past week: the baseline
 * takes the median day's (the load expected without any action), and the offer must absorb up
 * to the worst day's. Beyond them, the import metered at the same half-hour on the latest
 * earlier day (up to a week back). A site that has not yet seen a day of arrivals (its first
 * day) offers nothing in those slots: it cannot know what it would have to absorb.
 */
export function offerWindows(site: SiteConfig, options: FlexWindowOptions, s: ComputeState, t: number, result: PlanResult, socKwh: number, history: ArrivalHistory = arrivalHistory(s, t)): FlexWindow[] {
  const historicalKw = result.slots.map((x) => {
    for (let back = 1; back <= 7; back++) {
      const v = s.importKwBySlot.get(x.startMs - back * DAY_MS);
      if (v !== undefined) return v;
    }
    return NaN;
  });
  // Per slot: the arrivals estimated, 'unknown' (no past day seen: nothing is offered there), or
  // 'beyond-offers' (no offer reaches the slot: the metered import stands in for the baseline).
  const arrivals: Array<SlotArrivals | 'unknown' | 'beyond-offers'> = result.slots.map((x, i) => (i < OFFER_SLOTS ? (slotArrivals(history, t, x.startMs, x.startMs + SLOT_MS) ?? 'unknown') : 'beyond-offers'));
  const unknown = result.slots.filter((_, i) => arrivals[i] === 'unknown').map((x) => x.startMs);
  const expectedKw = result.slots.map((x, i) => {
    const a = arrivals[i]!;
    return typeof a === 'object' ? x.siteKw + site.pue * a.median : historicalKw[i]!;
  });
  const highKw = result.slots.map((x, i) => {
    const a = arrivals[i]!;
    return typeof a === 'object' ? x.siteKw + site.pue * a.max : NaN;
  });
  const bat = site.battery;
  const windows = flexWindows(result.flexibility, result.slots, options, expectedKw, highKw, {
    minSocKwh: bat.minSocFraction * bat.energyKwh,
    eta: Math.sqrt(bat.roundTripEfficiency),
    socStartKwh: socKwh,
  });
  return unknown.length === 0 ? windows : windows.filter((w) => !unknown.some((ms) => ms >= w.windowStartMs && ms < w.windowEndMs));
}
