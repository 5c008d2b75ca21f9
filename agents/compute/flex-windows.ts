import { DEFAULT_FLEX_WINDOW_SLOTS, type FlexibilitySlot, type SlotPlan } from './planner/index.ts';
import { DAY_MS, HALF_HOUR_MS, HOUR_MS } from '../../core/time/index.ts';

export interface FlexWindow {
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly kw: number;
  readonly marginalCostGbpPerMwh: number;
  readonly baselineKw: number;
}

export interface FlexWindowOptions {
  /** Slots per window (2 = one hour). */
  readonly slotsPerWindow: number;
  /** Windows start at least this many slots ahead: the notice a buyer needs. */
  readonly noticeSlots: number;
  /** Smaller reductions are not worth offering. */
  readonly minKw: number;
  /**
   * What a MWh short costs the site (the price forgone plus the penalty, ≈ £100/MWh at the
   * coordination defaults): the risk premium added to the marginal cost is this times the
   * estimated chance of falling short (see firmWindowKw).
   */
  readonly shortfallGbpPerMwh?: number;
}

export const DEFAULT_FLEX_WINDOWS: FlexWindowOptions = { slotsPerWindow: DEFAULT_FLEX_WINDOW_SLOTS, noticeSlots: 2, minKw: 100, shortfallGbpPerMwh: 100 };

/**
 * The reduction the site can promise for one slot whatever arrives after the sale:
 * - the battery's extra discharge, only as far as the energy it holds lasts for the whole
 *   window (`batteryEnergyKw`: usable kWh at the window's start × η over the window's hours);
 * - queued deferrable work that can move elsewhere on time (the plan's `fromJobsKw`);
 * - less the import that jobs still to arrive could add above the baseline (`arrivalRiskKw`:
 *   the highest import at this time of day in the past week above the baseline), which the
 *   offer must absorb.
 * Never negative, never above the baseline. Pure.
 */
export function firmSlotKw(f: Pick<FlexibilitySlot, 'fromJobsKw' | 'fromBatteryKw'>, batteryEnergyKw: number, arrivalRiskKw: number, baselineKw: number): number {
  const battery = firmBatteryKw(f, batteryEnergyKw);
  return Math.max(0, Math.min(baselineKw, battery + Math.max(0, f.fromJobsKw) - Math.max(0, arrivalRiskKw)));
}

/** The battery's part of a slot's firm kW: its headroom, as far as the energy lasts. */
function firmBatteryKw(f: Pick<FlexibilitySlot, 'fromBatteryKw'>, batteryEnergyKw: number): number {
  return Math.max(0, Math.min(f.fromBatteryKw, batteryEnergyKw));
}

export interface PastJob {
  readonly earliestStartMs: number;
  readonly deadlineMs: number;
  readonly runtimeMin: number;
  readonly powerKw: number;
  readonly class: string;
}

/**
 * IT kW that jobs arriving after `nowMs` would force into [startMs, endMs) — released after now
 * and unable to run wholly before the slot or to wait until after it (serving load, submitted as
 * it starts, always is) — on each of the past `days` days at the same times. The median is
 * what the site should expect on top of its plan (the baseline includes it), the largest what
 * an offer must be able to absorb. Deferrable arrivals are not counted: the plan moves them out
 * of a sold window (a shortfall is charged at least DELIVERY_PRIORITY_GBP_PER_MWH). Days for
 * which `observed` is false are left out (one value per observed day). Pure.
 */
export function tightArrivalsByDay(past: ReadonlyArray<PastJob>, nowMs: number, startMs: number, endMs: number, days = 7, observed: (daysBack: number) => boolean = () => true): number[] {
  const out: number[] = [];
  for (let d = 1; d <= days; d++) {
    // A day the site did not see (before it started) is unknown, not a day of no arrivals.
    if (!observed(d)) continue;
    const shift = d * DAY_MS;
    const now = nowMs - shift;
    const a = startMs - shift;
    const b = endMs - shift;
    let kw = 0;
    for (const j of past) {
      if (j.earliestStartMs <= now || j.earliestStartMs >= b) continue;
      const run = j.runtimeMin * 60_000;
      // Must overlap [a, b): it cannot finish before a (released too late) nor start after b (deadline too near).
      if (j.earliestStartMs + run > a && j.deadlineMs - run < b) kw += j.powerKw;
    }
    out.push(kw);
  }
  return out;
}

/** The largest of `tightArrivalsByDay`. */
export function tightArrivalsKw(past: ReadonlyArray<PastJob>, nowMs: number, startMs: number, endMs: number, days = 7): number {
  return Math.max(0, ...tightArrivalsByDay(past, nowMs, startMs, endMs, days));
}

/** A rough chance of falling short: the share of the raw flexibility that arrivals could eat. */
export function shortfallRisk(rawKw: number, arrivalRiskKw: number): number {
  if (rawKw <= 0) return 1;
  return Math.max(0, Math.min(1, Math.max(0, arrivalRiskKw) / rawKw));
}

/**
 * Group the plan's per-slot flexibility into windows a buyer can order: the kW that can be
 * shed in every slot of the window (the minimum), at the dearest slot's marginal cost, with
 * the planned site import as the baseline delivery is measured against.
 */
/**
 * @param historicalKw per slot, what the site imported at the same time on earlier days (NaN
 *   when unknown). The plan knows only the jobs that have arrived, so for hours ahead it
 *   under-states the import the site will have; the baseline is the plan topped up to that
 *   history, or a cap of `baseline − kW` would leave no room for the jobs still to come.
 */
/**
 * @param highKw per slot, the highest import at the same time of day over the past week (NaN
 *   when unknown): how far jobs still to arrive could push the import above the baseline.
 * @param battery usable energy above the minimum SoC before each slot (kWh), with η, for
 *   checking that the battery's part lasts the whole window. Omitted: not checked (tests, tools).
 */
export function flexWindows(
  flex: ReadonlyArray<FlexibilitySlot>,
  slots: ReadonlyArray<SlotPlan>,
  o: FlexWindowOptions = DEFAULT_FLEX_WINDOWS,
  historicalKw: ReadonlyArray<number> = [],
  highKw: ReadonlyArray<number> = [],
  battery?: { readonly minSocKwh: number; readonly eta: number; readonly socStartKwh: number },
): FlexWindow[] {
  const out: FlexWindow[] = [];
  const windowH = (o.slotsPerWindow * HALF_HOUR_MS) / HOUR_MS;
  // Battery energy (kWh, after η) already promised: first what the plan holds for windows sold
  // before it (`heldKw`), then what an earlier window of this plan counts as firm. Each window is
  // offered on its own, and a buyer may take several before the site re-plans: a kWh promised to
  // one window must not be promised again to the next.
  let committedKwh = 0;
  for (const f of flex) committedKwh += (f.heldKw * HALF_HOUR_MS) / HOUR_MS;
  for (let s = o.noticeSlots; s + o.slotsPerWindow <= Math.min(flex.length, slots.length); s += o.slotsPerWindow) {
    let base = 0;
    const bases: number[] = [];
    for (let k = 0; k < o.slotsPerWindow; k++) {
      const hist = historicalKw[s + k];
      const b = Math.max(slots[s + k]!.siteKw, hist !== undefined && Number.isFinite(hist) ? hist : 0);
      bases.push(b);
      base += b;
    }
    base /= o.slotsPerWindow;
    // Energy the battery holds at the window's start, spread over the window: its firm kW.
    const socBefore = s === 0 ? battery?.socStartKwh : slots[s - 1]!.socKwh;
    const batteryEnergyKw = battery && socBefore !== undefined ? Math.max(0, ((socBefore - battery.minSocKwh) * battery.eta - committedKwh) / windowH) : Infinity;
    let kw = Infinity;
    let cost = 0;
    let risk = 0;
    let batteryKw = Infinity;
    for (let k = 0; k < o.slotsPerWindow; k++) {
      const f = flex[s + k]!;
      const high = highKw[s + k];
      const arrivalRiskKw = high !== undefined && Number.isFinite(high) ? Math.max(0, high - bases[k]!) : 0;
      // Planned discharge in the window already draws on the same energy: only what is left is firm.
      const energyKw = batteryEnergyKw - slots[s + k]!.dischargeKw;
      const firm = firmSlotKw(f, energyKw, arrivalRiskKw, base);
      kw = Math.min(kw, Math.min(firm, f.sheddableKw));
      batteryKw = Math.min(batteryKw, firmBatteryKw(f, energyKw));
      cost = Math.max(cost, f.marginalCostGbpPerMwh);
      risk = Math.max(risk, shortfallRisk(f.fromJobsKw + f.fromBatteryKw, arrivalRiskKw));
    }
    if (!(kw >= o.minKw)) continue;
    // What this window may draw from the battery is the battery's first (a shortfall of the
    // moved work falls on it): counted once, here.
    committedKwh += Math.min(kw, batteryKw) * windowH;
    // The shortfall risk is priced in: the expected cost of falling short on each MWh sold.
    cost += risk * (o.shortfallGbpPerMwh ?? 100);
    out.push({
      windowStartMs: flex[s]!.startMs,
      windowEndMs: flex[s + o.slotsPerWindow - 1]!.startMs + HALF_HOUR_MS,
      kw: Math.floor(kw),
      marginalCostGbpPerMwh: Math.round(cost * 100) / 100,
      baselineKw: Math.round(base),
    });
  }
  return out;
}
