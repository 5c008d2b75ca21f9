/**
 * A greedy planner: least slack first, each job into its cheapest window that still has room,
 * battery idle. It is the fallback when the solver runs out of time, the warm start for new
 * jobs, and a baseline in its own right.
 */
import { type Horizon, type Item, type RunItem, type StartItem, SLOT_H } from './horizon.ts';
import { candidateStarts, deferCostPerKwh, runLatenessPerKwh, startExtraCost, startKwh } from './formulation.ts';
import { type JobSchedule, type Schedule, emptyBattery, scheduleNotStarted, scheduleRuns, scheduleStart } from './schedule.ts';

export interface LoadState {
  readonly itKw: Float64Array;
}

function slackSlots(h: Horizon, it: Item): number {
  if (it.kind === 'start') return it.onTimeLast - it.earliest;
  if (it.kind === 'run') return it.onTimeEnd - it.earliest - it.remKwh / (it.powerKw * SLOT_H);
  return -Infinity;
}

/** Room for `addKw` more IT load in slot s: IT capacity and the import cap with the battery idle. */
export function fits(h: Horizon, load: Float64Array, s: number, addKw: number): boolean {
  const it = load[s]! + addKw;
  return it <= h.site.itCapacityKw + 1e-6 && it * h.site.pue <= h.importCapKw[s]! + 1e-6;
}

export function headroomKw(h: Horizon, load: Float64Array, s: number): number {
  return Math.max(0, Math.min(h.site.itCapacityKw, h.importCapKw[s]! / h.site.pue) - load[s]!);
}

/** Cost in the horizon of a start, plus tail, lateness; Infinity when it does not fit. */
export function startCost(h: Horizon, load: Float64Array, it: StartItem, s: number, checkRoom = true): number {
  let c = 0;
  for (let k = 0; k < it.frac.length && s + k < h.n; k++) {
    const kw = it.powerKw * it.frac[k]!;
    if (checkRoom && !fits(h, load, s + k, kw)) return Infinity;
    c += kw * SLOT_H * h.site.pue * h.costPerKwh[s + k]!;
  }
  return c + startExtraCost(h, it, s);
}

export function placeStart(h: Horizon, load: Float64Array, it: StartItem): JobSchedule {
  let best = -1;
  let bestCost = Infinity;
  for (const s of candidateStarts(h, it)) {
    const c = startCost(h, load, it, s);
    if (c < bestCost) {
      bestCost = c;
      best = s;
    }
  }
  if (it.deferrable) {
    const { inKwh, tailKwh } = startKwh(it, 0, h.n);
    if ((inKwh + tailKwh) * deferCostPerKwh(h) < bestCost) return scheduleNotStarted(h, it, 'deferred');
  }
  if (best < 0) return scheduleNotStarted(h, it, 'unplaced');
  const js = scheduleStart(h, it, best);
  for (let s = 0; s < h.n; s++) load[s]! += js.runKw[s]!;
  return js;
}

export function placeRuns(h: Horizon, load: Float64Array, it: RunItem): JobSchedule {
  const slots: number[] = [];
  for (let s = it.earliest; s < h.n; s++) slots.push(s);
  const unit = (s: number) => h.site.pue * h.costPerKwh[s]! + runLatenessPerKwh(h, it, s);
  slots.sort((a, b) => unit(a) - unit(b) || a - b);
  const runKw = new Float64Array(h.n);
  let left = it.remKwh;
  const deferUnit = deferCostPerKwh(h);
  let deferred = 0;
  for (const s of slots) {
    if (left <= 1e-9) break;
    if (unit(s) > deferUnit && deferred < it.deferCapKwh) {
      const d = Math.min(left, it.deferCapKwh - deferred);
      deferred += d;
      left -= d;
      if (left <= 1e-9) break;
    }
    const kw = Math.min(it.powerKw, headroomKw(h, load, s), left / SLOT_H);
    if (kw <= 1e-9) continue;
    runKw[s] = kw;
    load[s]! += kw;
    left -= kw * SLOT_H;
  }
  if (left > 1e-9 && deferred < it.deferCapKwh) {
    const d = Math.min(left, it.deferCapKwh - deferred);
    deferred += d;
    left -= d;
  }
  return scheduleRuns(it, runKw, deferred);
}

/** Greedy schedule for `items` on top of the load already in `base` (kept schedules). */
export function greedySchedule(h: Horizon, items: ReadonlyArray<Item>, base: ReadonlyArray<JobSchedule> = []): Schedule {
  const load = new Float64Array(h.n);
  const jobs = new Map<string, JobSchedule>();
  for (const js of base) {
    jobs.set(js.jobId, js);
    for (let s = 0; s < h.n; s++) load[s]! += js.runKw[s]!;
  }
  const rest: Item[] = [];
  for (const it of items) {
    if (jobs.has(it.job.id)) continue;
    if (it.kind === 'fixed') {
      const js = scheduleStart(h, it, it.offset);
      jobs.set(it.job.id, js);
      for (let s = 0; s < h.n; s++) load[s]! += js.runKw[s]!;
    } else rest.push(it);
  }
  rest.sort((a, b) => slackSlots(h, a) - slackSlots(h, b) || (a.job.id < b.job.id ? -1 : 1));
  for (const it of rest) {
    if (it.kind === 'start') jobs.set(it.job.id, it.earliest >= h.n ? scheduleNotStarted(h, it, 'deferred') : placeStart(h, load, it));
    else if (it.kind === 'run') jobs.set(it.job.id, placeRuns(h, load, it));
  }
  return { jobs, ...emptyBattery(h.n) };
}
