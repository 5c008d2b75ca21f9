/**
 * A schedule is the planner's decision in slot terms, before costing: per job where it runs,
 * and the battery's charge/discharge. Solver output, the greedy planner and the baselines all
 * produce one; `evaluate` turns it into a PlanResult.
 */
import { type Horizon, type Item, SLOT_H } from './horizon.ts';

export interface JobSchedule {
  readonly jobId: string;
  readonly kind: 'scheduled' | 'deferred' | 'unplaced';
  /** Non-preemptible: start slot (0 for a job already running). */
  readonly startSlot: number | null;
  /** Average IT kW per slot over the horizon. */
  readonly runKw: Float64Array;
  /** Preemptible work left for after the horizon, within the deadline. */
  readonly deferredKwh: number;
  /** Work with no room anywhere: it will miss. */
  readonly unservedKwh: number;
}

export interface Schedule {
  readonly jobs: Map<string, JobSchedule>;
  readonly chargeKw: Float64Array;
  readonly dischargeKw: Float64Array;
}

export function emptyBattery(n: number): Pick<Schedule, 'chargeKw' | 'dischargeKw'> {
  return { chargeKw: new Float64Array(n), dischargeKw: new Float64Array(n) };
}

/** Place a non-preemptible item at `start`: its kW in each slot of the horizon. */
export function startProfile(h: Horizon, powerKw: number, frac: ReadonlyArray<number>, start: number): Float64Array {
  const out = new Float64Array(h.n);
  for (let k = 0; k < frac.length; k++) {
    const s = start + k;
    if (s >= 0 && s < h.n) out[s] = powerKw * frac[k]!;
  }
  return out;
}

export function scheduleStart(h: Horizon, item: Extract<Item, { kind: 'start' | 'fixed' }>, start: number): JobSchedule {
  return { jobId: item.job.id, kind: 'scheduled', startSlot: start, runKw: startProfile(h, item.powerKw, item.frac, start), deferredKwh: 0, unservedKwh: 0 };
}

export function scheduleNotStarted(h: Horizon, item: Item, kind: 'deferred' | 'unplaced'): JobSchedule {
  const kwh = item.kind === 'run' ? item.remKwh : (item.powerKw * item.remMin) / 60;
  return {
    jobId: item.job.id,
    kind,
    startSlot: null,
    runKw: new Float64Array(h.n),
    deferredKwh: kind === 'deferred' ? kwh : 0,
    unservedKwh: kind === 'unplaced' ? kwh : 0,
  };
}

export function scheduleRuns(item: Extract<Item, { kind: 'run' }>, runKw: Float64Array, deferredKwh: number): JobSchedule {
  let done = 0;
  for (let s = 0; s < runKw.length; s++) done += runKw[s]! * SLOT_H;
  const unserved = Math.max(0, item.remKwh - done - deferredKwh);
  const tol = 1e-6 * Math.max(1, item.remKwh);
  return {
    jobId: item.job.id,
    kind: unserved > tol ? 'unplaced' : done > tol ? 'scheduled' : 'deferred',
    startSlot: null,
    runKw,
    deferredKwh,
    unservedKwh: unserved > tol ? unserved : 0,
  };
}
