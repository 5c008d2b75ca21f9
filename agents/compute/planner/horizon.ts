/**
 * The planning grid: half-hour slots from `nowMs`, and each job turned into what the
 * formulation needs (its window in slots, its per-slot energy pattern, its penalties).
 */
import type { SiteConfig } from '../jobs/index.ts';
import type { PlanInput, PlanJob } from './types.ts';
import { HALF_HOUR_MS, HOUR_MS } from '../../../core/time/index.ts';

export const SLOT_MS = HALF_HOUR_MS;
export const SLOT_H = 0.5;

export interface Horizon {
  readonly t0: number;
  readonly n: number;
  readonly site: SiteConfig;
  readonly price: Float64Array;
  readonly intensity: Float64Array;
  /** £ per kWh imported in the slot: energy price plus carbon price. */
  readonly costPerKwh: Float64Array;
  readonly importCapKw: Float64Array;
  /** Soft caps from flexibility sold (≤ importCapKw), and the £/kWh of going above one. */
  readonly flexCapKw: Float64Array;
  readonly flexBreachPerKwh: Float64Array;
  /** Battery kW held back under a sold cap for arrivals the plan cannot see (≤ the battery's power). */
  readonly flexHoldKw: Float64Array;
  /**
   * Per slot, the on-site supply cheaper than the grid (by price plus carbon price), cheapest
   * first: the first `kw` of site load in the slot costs `costPerKwh` of the tier instead.
   */
  readonly onsite: ReadonlyArray<ReadonlyArray<HorizonOnsiteTier>>;
  /** Mean cost per kWh over the horizon: the estimate for work left beyond it. */
  readonly meanCostPerKwh: number;
  /** The dearest breach of a sold cap anywhere in the horizon, £/kWh (0: nothing sold); see formulation's overSale. */
  readonly dearestBreachPerKwh: number;
  /** Half-hours per flexibility offer window, windows aligned to their length (see flexibility.ts). */
  readonly flexWindowSlots: number;
}

export const DEFAULT_FLEX_WINDOW_SLOTS = 2;

export interface HorizonOnsiteTier {
  readonly kw: number;
  readonly price: number;
  readonly intensity: number;
  /** £ per kWh: energy price plus carbon price, as the grid's costPerKwh. */
  readonly costPerKwh: number;
}

export function floorSlot(ms: number): number {
  return Math.floor(ms / SLOT_MS) * SLOT_MS;
}

/** Signal value for slot i of the horizon; the last known value carries forward past the end. */
function signalAt(values: ReadonlyArray<number>, offset: number): number {
  if (values.length === 0) throw new RangeError('signals: empty series');
  const i = Math.min(Math.max(offset, 0), values.length - 1);
  const v = values[i]!;
  if (!Number.isFinite(v)) throw new RangeError(`signals: value at index ${i} is not finite`);
  return v;
}

export function makeHorizon(input: PlanInput, n: number): Horizon {
  const t0 = floorSlot(input.nowMs);
  const { site, signals } = input;
  const flexWindowSlots = input.flexWindowSlots ?? DEFAULT_FLEX_WINDOW_SLOTS;
  if (!Number.isInteger(flexWindowSlots) || flexWindowSlots < 1 || flexWindowSlots > 96) throw new RangeError(`flexWindowSlots: ${flexWindowSlots} is not a whole number of half-hours from 1 to 96`);
  const off = Math.round((t0 - signals.startMs) / SLOT_MS);
  if (off < 0) throw new RangeError(`signals start ${new Date(signals.startMs).toISOString()} after the plan start ${new Date(t0).toISOString()}`);
  const price = new Float64Array(n);
  const intensity = new Float64Array(n);
  const costPerKwh = new Float64Array(n);
  const importCapKw = new Float64Array(n);
  const flexCapKw = new Float64Array(n);
  const flexBreachPerKwh = new Float64Array(n);
  const flexHoldKw = new Float64Array(n);
  let sum = 0;
  let dearestBreach = 0;
  for (let s = 0; s < n; s++) {
    price[s] = signalAt(signals.priceGbpPerMwh, off + s);
    intensity[s] = signalAt(signals.intensityGPerKwh, off + s);
    costPerKwh[s] = price[s]! / 1000 + (site.carbonPriceGbpPerT * intensity[s]!) / 1e6;
    importCapKw[s] = input.importCapKw?.[s] ?? site.importCapKw;
    flexCapKw[s] = Math.max(0, Math.min(importCapKw[s]!, input.flexCapKw?.[s] ?? Infinity));
    flexBreachPerKwh[s] = Math.max(0, (input.flexBreachGbpPerMwh?.[s] ?? 0) / 1000);
    dearestBreach = Math.max(dearestBreach, flexBreachPerKwh[s]!);
    // A hold only means something where a shortfall costs: it is priced at a share of the breach.
    const hold = input.flexHoldKw?.[s] ?? 0;
    flexHoldKw[s] = flexBreachPerKwh[s]! > 0 && hold > 0 ? Math.min(hold, site.battery.powerKw) : 0;
    sum += costPerKwh[s]!;
  }
  const onsite: HorizonOnsiteTier[][] = Array.from({ length: n }, () => []);
  for (const t of input.onsite ?? []) {
    if (!Number.isInteger(t.slot) || t.slot < 0 || t.slot >= n || !(t.kw > 0)) continue;
    if (!Number.isFinite(t.priceGbpPerMwh) || !Number.isFinite(t.intensityGPerKwh)) throw new RangeError(`onsite: slot ${t.slot} has a non-finite price or intensity`);
    const c = t.priceGbpPerMwh / 1000 + (site.carbonPriceGbpPerT * t.intensityGPerKwh) / 1e6;
    // Supply dearer than the grid is never drawn (the site would import instead).
    if (c < costPerKwh[t.slot]! - 1e-12) onsite[t.slot]!.push({ kw: t.kw, price: t.priceGbpPerMwh, intensity: t.intensityGPerKwh, costPerKwh: c });
  }
  for (const tiers of onsite) tiers.sort((a, b) => a.costPerKwh - b.costPerKwh);
  return { t0, n, site, price, intensity, costPerKwh, importCapKw, flexCapKw, flexBreachPerKwh, flexHoldKw, onsite, meanCostPerKwh: sum / n, dearestBreachPerKwh: dearestBreach, flexWindowSlots };
}

/** A non-preemptible job not yet started: choose one start slot. */
export interface StartItem {
  readonly kind: 'start';
  readonly job: PlanJob;
  readonly powerKw: number;
  readonly remMin: number;
  /** Fraction of full power in each run slot (the last one may be partial). */
  readonly frac: ReadonlyArray<number>;
  readonly earliest: number;
  /** Last start slot that finishes by the deadline (may lie beyond the horizon). */
  readonly onTimeLast: number;
  /** May wait beyond the horizon and still be on time. */
  readonly deferrable: boolean;
  readonly penaltyGbpPerH: number;
  /** Serving and pinned load: only the earliest slot is a candidate. */
  readonly fixedStart: boolean;
}

/** Load already committed: a running non-preemptible job's remaining slots from `offset`. */
export interface FixedItem {
  readonly kind: 'fixed';
  readonly job: PlanJob;
  readonly powerKw: number;
  readonly offset: number;
  readonly frac: ReadonlyArray<number>;
  readonly remMin: number;
}

/** A preemptible job: any amount up to its power in each slot of its window. */
export interface RunItem {
  readonly kind: 'run';
  readonly job: PlanJob;
  readonly powerKw: number;
  readonly remKwh: number;
  readonly earliest: number;
  /** Slots < onTimeEnd finish by the deadline. */
  readonly onTimeEnd: number;
  /** kWh that may wait beyond the horizon and still finish on time. */
  readonly deferCapKwh: number;
  readonly penaltyGbpPerH: number;
}

export type Item = StartItem | FixedItem | RunItem;

export function runFractions(remMin: number): number[] {
  const slots = Math.max(1, Math.ceil(remMin / 30 - 1e-9));
  const out: number[] = [];
  for (let k = 0; k < slots; k++) out.push(Math.min(1, remMin / 30 - k));
  return out;
}

export function remainingMin(job: PlanJob): number {
  return Math.max(0, job.runtimeMin - (job.doneMin ?? 0));
}

/** Hours late if a non-preemptible job of `remMin` starts in slot s. */
export function startLatenessH(h: Horizon, deadlineMs: number, s: number, remMin: number): number {
  return Math.max(0, h.t0 + s * SLOT_MS + remMin * 60_000 - deadlineMs) / HOUR_MS;
}

/** Hours late for work done in slot s (its end past the deadline). */
export function slotLatenessH(h: Horizon, deadlineMs: number, s: number): number {
  return Math.max(0, h.t0 + (s + 1) * SLOT_MS - deadlineMs) / HOUR_MS;
}

/** The penalty for finishing `lateH` hours late: one hour's worth for missing, then per hour. */
export function latenessPenalty(rate: number, lateH: number): number {
  return lateH > 1e-9 ? rate * (1 + lateH) : 0;
}

export function toItem(h: Horizon, job: PlanJob): Item | null {
  const rem = remainingMin(job);
  if (rem <= 1e-9) return null;
  const rate = h.site.slaPenaltyGbpPerH[job.slaClass];
  if (!job.preemptible && job.startedMs !== undefined) {
    const frac = runFractions(rem);
    return { kind: 'fixed', job, powerKw: job.powerKw, offset: 0, frac, remMin: rem };
  }
  const earliest = Math.max(0, Math.ceil((job.earliestStartMs - h.t0) / SLOT_MS - 1e-9));
  if (!job.preemptible) {
    const frac = runFractions(rem);
    const onTimeLast = Math.floor((job.deadlineMs - rem * 60_000 - h.t0) / SLOT_MS + 1e-9);
    return {
      kind: 'start',
      job,
      powerKw: job.powerKw,
      remMin: rem,
      frac,
      earliest,
      onTimeLast,
      deferrable: onTimeLast >= h.n && job.class !== 'serving' && job.pinned !== true,
      penaltyGbpPerH: rate,
      // A pin fixes the start as serving does: it only raised the earliest start, so the planner
      // chose the cheapest slot after the pin (a job pinned to 02:00 planned for 12:00).
      fixedStart: job.class === 'serving' || job.pinned === true,
    };
  }
  const remKwh = (job.powerKw * rem) / 60;
  const horizonEnd = h.t0 + h.n * SLOT_MS;
  const deferCapKwh = Math.max(0, (job.powerKw * (job.deadlineMs - Math.max(horizonEnd, job.earliestStartMs))) / HOUR_MS);
  const onTimeEnd = Math.floor((job.deadlineMs - h.t0) / SLOT_MS + 1e-9);
  return { kind: 'run', job, powerKw: job.powerKw, remKwh, earliest, onTimeEnd, deferCapKwh: Math.min(deferCapKwh, remKwh), penaltyGbpPerH: rate };
}
