import type { FlexibilitySlot, SlotPlan } from './planner/index.ts';

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
}

export const DEFAULT_FLEX_WINDOWS: FlexWindowOptions = { slotsPerWindow: 2, noticeSlots: 2, minKw: 100 };

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
export function flexWindows(flex: ReadonlyArray<FlexibilitySlot>, slots: ReadonlyArray<SlotPlan>, o: FlexWindowOptions = DEFAULT_FLEX_WINDOWS, historicalKw: ReadonlyArray<number> = []): FlexWindow[] {
  const out: FlexWindow[] = [];
  for (let s = o.noticeSlots; s + o.slotsPerWindow <= Math.min(flex.length, slots.length); s += o.slotsPerWindow) {
    let kw = Infinity;
    let cost = 0;
    let base = 0;
    for (let k = 0; k < o.slotsPerWindow; k++) {
      const f = flex[s + k]!;
      kw = Math.min(kw, f.sheddableKw);
      cost = Math.max(cost, f.marginalCostGbpPerMwh);
      const hist = historicalKw[s + k];
      base += Math.max(slots[s + k]!.siteKw, hist !== undefined && Number.isFinite(hist) ? hist : 0);
    }
    base /= o.slotsPerWindow;
    // The reduction cannot exceed what the site imports.
    kw = Math.min(kw, Math.max(0, base));
    if (kw < o.minKw) continue;
    out.push({
      windowStartMs: flex[s]!.startMs,
      windowEndMs: flex[s + o.slotsPerWindow - 1]!.startMs + 1_800_000,
      kw: Math.floor(kw),
      marginalCostGbpPerMwh: Math.round(cost * 100) / 100,
      baselineKw: Math.round(base),
    });
  }
  return out;
}
