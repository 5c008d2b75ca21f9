import { DAY_MS, halfHourFloor } from '../../core/time/index.ts';
import { tightArrivalsByDay, type PastJob } from './flex-windows.ts';
import type { ComputeState } from './state.ts';

/**
 * What jobs not yet submitted will add to a slot: the tight arrivals (released after now,
 * unable to avoid the slot; serving load above all, submitted as it starts) at the same times
 * on each of the past seven days. A plan knows only the jobs that have arrived, so both the
 * offer (its baseline and the risk it must absorb) and the plan that has to deliver a sale
 * (the room it leaves under a sold cap) read them from here.
 */
export interface SlotArrivals {
  /** The median day's IT kW: what the site should expect on top of its plan. */
  readonly median: number;
  /** The worst day's IT kW: what a sold reduction must still hold against. */
  readonly max: number;
}

/** The sample arrivals are read from: the jobs of the past days, and since when the site saw them. */
export interface ArrivalHistory {
  /** Jobs released in the past 8 days with windows under 2 days. */
  readonly jobs: ReadonlyArray<PastJob>;
  /** The first half-hour the site metered (of the last 8 days); Infinity when none. */
  readonly observedSinceMs: number;
}

export function arrivalHistory(s: ComputeState, t: number): ArrivalHistory {
  const jobs: PastJob[] = [];
  for (const r of s.jobs.values()) {
    const j = r.job;
    if (j.earliestStartMs > t - 8 * DAY_MS && j.deadlineMs - j.earliestStartMs < 2 * DAY_MS) jobs.push(j);
  }
  let observedSinceMs = Infinity;
  for (const k of s.importKwBySlot.keys()) if (k < observedSinceMs) observedSinceMs = k;
  return { jobs, observedSinceMs };
}

/**
 * The tight arrivals expected in [startMs, endMs) after `t`, over the past days the site saw
 * from `t`'s time of day on; undefined when it saw none (a site in its first day cannot know
 * what will arrive, and a day it did not see is not a day without arrivals). Pure.
 */
export function slotArrivals(h: ArrivalHistory, t: number, startMs: number, endMs: number): SlotArrivals | undefined {
  const byDay = tightArrivalsByDay(h.jobs, t, startMs, endMs, 7, (d) => halfHourFloor(t) - d * DAY_MS >= h.observedSinceMs).sort((a, b) => a - b);
  if (byDay.length === 0) return undefined;
  return { median: byDay[Math.floor((byDay.length - 1) / 2)]!, max: byDay.at(-1)! };
}

/**
 * Per slot of a plan starting at `t0Ms`, the site kW a sold window must keep free for jobs
 * still to arrive: PUE × the worst past day's tight arrivals, in the slots a window covers
 * (0 elsewhere). The cap a sale puts on the plan is the offer's baseline less the kW sold; the
 * baseline counted those arrivals, the plan does not, so without this room the plan fills the
 * window with deferrable work up to the cap and the arrivals push the import over it (seen in
 * the default week with the ensemble forecaster: 0 of 0.765 MWh delivered). The worst day,
 * not the median: on the tuning weeks (every Monday of 2023-01..03, `npm run bench --
 * flexibility --weeks tuning`, ensemble) it delivered 100 % against 97.8 % with the median. Pure.
 */
export function arrivalRoomKw(
  history: ArrivalHistory,
  t0Ms: number,
  slots: number,
  slotMs: number,
  pue: number,
  windows: Iterable<{ readonly startMs: number; readonly endMs: number }>,
): number[] {
  const held = [...windows];
  const out = new Array<number>(slots).fill(0);
  if (held.length === 0) return out;
  for (let i = 0; i < slots; i++) {
    const start = t0Ms + i * slotMs;
    if (held.some((w) => start >= w.startMs && start < w.endMs)) out[i] = pue * (slotArrivals(history, t0Ms, start, start + slotMs)?.max ?? 0);
  }
  return out;
}
