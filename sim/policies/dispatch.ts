/**
 * Shared placement for the rule-based baselines: each rule ranks the starts (or slots) it
 * would like for a job; jobs are placed in release order into the first ranked choice that
 * has room. The room check is the only thing a rule cannot ignore: a plan must be executable.
 */
import {
  type Horizon,
  type Item,
  type PlanInput,
  type PlanJob,
  type PlanResult,
  type Schedule,
  type JobSchedule,
  evaluate,
  makeHorizon,
  toItem,
} from '../../agents/compute/planner/index.ts';
import { fits } from '../../agents/compute/planner/index.ts';
import { scheduleNotStarted, scheduleRuns, scheduleStart } from '../../agents/compute/planner/index.ts';
import { SLOT_H } from '../../agents/compute/planner/index.ts';
import { HALF_HOUR_MS } from '../../core/time/index.ts';

export type StartItem = Extract<Item, { kind: 'start' }>;
export type RunItem = Extract<Item, { kind: 'run' }>;

export interface Rule {
  readonly name: string;
  /** Start slots in order of preference (only those ≥ earliest are considered). */
  rankStarts(h: Horizon, it: StartItem): number[];
  /** Slots in the order a preemptible job should fill them, or null to treat it as one contiguous run (rankStarts). */
  rankSlots(h: Horizon, it: RunItem): number[] | null;
}

function allStarts(h: Horizon, earliest: number): number[] {
  const out: number[] = [];
  for (let s = earliest; s < h.n; s++) out.push(s);
  return out;
}

function place(h: Horizon, load: Float64Array, it: StartItem | RunItem, starts: number[], asStart: { powerKw: number; frac: ReadonlyArray<number> }): number {
  for (const s of starts) {
    let ok = true;
    for (let k = 0; k < asStart.frac.length && s + k < h.n; k++) {
      if (!fits(h, load, s + k, asStart.powerKw * asStart.frac[k]!)) {
        ok = false;
        break;
      }
    }
    if (ok) return s;
  }
  return -1;
}

export function ruleSchedule(h: Horizon, items: ReadonlyArray<Item>, rule: Rule): Schedule {
  const load = new Float64Array(h.n);
  const jobs = new Map<string, JobSchedule>();
  const rest: (StartItem | RunItem)[] = [];
  for (const it of items) {
    if (it.kind === 'fixed') {
      const js = scheduleStart(h, it, it.offset);
      jobs.set(it.job.id, js);
      for (let s = 0; s < h.n; s++) load[s]! += js.runKw[s]!;
    } else rest.push(it);
  }
  // Serving first (it cannot wait), then release order.
  rest.sort((a, b) => Number(b.job.class === 'serving') - Number(a.job.class === 'serving') || a.job.earliestStartMs - b.job.earliestStartMs || (a.job.id < b.job.id ? -1 : 1));
  for (const it of rest) {
    if (it.earliest >= h.n) {
      jobs.set(it.job.id, scheduleNotStarted(h, it, 'deferred'));
      continue;
    }
    const slots = it.kind === 'run' ? rule.rankSlots(h, it) : null;
    if (it.kind === 'run' && slots) {
      const runKw = new Float64Array(h.n);
      let left = it.remKwh;
      for (const s of slots) {
        if (left <= 1e-9) break;
        if (s < it.earliest) continue;
        const room = Math.max(0, Math.min(h.site.itCapacityKw, h.importCapKw[s]! / h.site.pue) - load[s]!);
        const kw = Math.min(it.powerKw, room, left / SLOT_H);
        if (kw <= 1e-9) continue;
        runKw[s] = kw;
        load[s]! += kw;
        left -= kw * SLOT_H;
      }
      jobs.set(it.job.id, scheduleRuns(it, runKw, Math.min(left, it.deferCapKwh)));
      continue;
    }
    const remMin = it.kind === 'start' ? it.remMin : (it.remKwh / it.powerKw) * 60;
    const frac = it.kind === 'start' ? it.frac : fracOf(remMin);
    const asStartItem: StartItem = it.kind === 'start' ? it : { kind: 'start', job: it.job, powerKw: it.powerKw, remMin, frac, earliest: it.earliest, onTimeLast: Math.floor((it.job.deadlineMs - remMin * 60_000 - h.t0) / HALF_HOUR_MS + 1e-9), deferrable: false, penaltyGbpPerH: it.penaltyGbpPerH, fixedStart: false };
    const ranked = asStartItem.fixedStart ? [asStartItem.earliest] : rule.rankStarts(h, asStartItem).filter((s) => s >= it.earliest);
    // When the preferred starts are full, the earliest start with room (first come, first served).
    const s = place(h, load, it, [...ranked, ...allStarts(h, it.earliest)], { powerKw: it.powerKw, frac });
    if (s < 0) {
      jobs.set(it.job.id, scheduleNotStarted(h, it, 'unplaced'));
      continue;
    }
    if (it.kind === 'start') {
      const js = scheduleStart(h, it, s);
      jobs.set(it.job.id, js);
      for (let t = 0; t < h.n; t++) load[t]! += js.runKw[t]!;
    } else {
      const runKw = new Float64Array(h.n);
      let kwhIn = 0;
      for (let k = 0; k < frac.length && s + k < h.n; k++) {
        runKw[s + k] = it.powerKw * frac[k]!;
        load[s + k]! += runKw[s + k]!;
        kwhIn += runKw[s + k]! * SLOT_H;
      }
      jobs.set(it.job.id, scheduleRuns(it, runKw, Math.min(Math.max(0, it.remKwh - kwhIn), it.deferCapKwh)));
    }
  }
  return { jobs, chargeKw: new Float64Array(h.n), dischargeKw: new Float64Array(h.n) };
}

function fracOf(remMin: number): number[] {
  const slots = Math.max(1, Math.ceil(remMin / 30 - 1e-9));
  return Array.from({ length: slots }, (_, k) => Math.min(1, remMin / 30 - k));
}

/** A rule as a planner: same input and output as `plan`, so one harness runs them all. */
export function rulePlanner(rule: Rule, horizonSlots = 96): (input: PlanInput) => Promise<PlanResult> {
  return async (input) => {
    const t0 = performance.now();
    const h = makeHorizon(input, horizonSlots);
    const jobsById = new Map<string, PlanJob>(input.jobs.map((j) => [j.id, j]));
    const items = input.jobs.map((j) => toItem(h, j)).filter((x): x is Item => x !== null);
    const sched = ruleSchedule(h, items, rule);
    const ms = performance.now() - t0;
    return evaluate(h, jobsById, items, sched, input.batterySocKwh, 'greedy', {
      mode: 'greedy',
      modelStatus: `rule: ${rule.name}`,
      objectiveGbp: null,
      boundGbp: null,
      gap: null,
      buildMs: 0,
      solveMs: ms,
      totalMs: ms,
      columns: 0,
      integerColumns: 0,
      rows: 0,
      groups: 0,
      mipNodes: 0,
      lpIterations: 0,
    }, h.t0);
  };
}
