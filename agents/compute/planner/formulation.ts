/**
 * The MILP. Slots s = 0..N-1 of half an hour.
 *
 *   it_s   = fixed_s + Σ_jobs kW·frac·x          IT kW, ≤ IT capacity
 *   site_s + flex_s + over_s = PUE·it_s + ch_s − dis_s
 *                                                 grid import; site_s ≤ the cap of flexibility sold,
 *                                                 flex_s up to the connection limit at the cost of
 *                                                 under-delivering, over_s a heavily penalised breach
 *                                                 of the connection limit (keeps every model feasible)
 *   soc_s  = soc_{s-1} + ½·ηc·ch_s − ½·dis_s/ηd   battery, SoC within limits, terminal SoC kept
 *   under a sold cap, per run of slots a..b with a hold H_k (kW):
 *     dis_k − ch_k − short_k ≤ P − H_k              the power to discharge H_k more is left
 *     soc_j + ½/ηd·Σ_{a≤k≤j} short_k ≥ minSoC + ½/ηd·Σ_{a≤k≤j} H_k   and the energy, for every j
 *                                                 short_k ≥ 0 charged at FLEX_HOLD_RISK × the breach
 *   non-preemptible group g: Σ_s x_{g,s} + defer_g + unplaced_g = n_g,  x integer, s windowed
 *   preemptible group g:   ½·Σ_s r_{g,s} + defer_g + unserved_g = n_g·kWh_g, r continuous
 *   onsite_{s,k} ≤ kW_{s,k},  Σ_k onsite_{s,k} ≤ site_s + flex_s + over_s
 *                                                 energy on-site assets offer (cheaper than the grid):
 *                                                 the first kW of load in the slot at the asset's cost,
 *                                                 a discount on the import it displaces
 *   min Σ_s ½·(price_s + carbon£·I_s)·(site_s + over_s) − Σ ½·(grid − asset cost)·onsite
 *       + lateness + defer·mean cost + big·(unplaced, over)
 *
 * Alike jobs (same window, runtime, power, penalty) are one group with an integer count, so
 * a week of 1-GPU jobs does not become thousands of binaries.
 */
import {
  type Horizon,
  type Item,
  type RunItem,
  type StartItem,
  SLOT_H,
  latenessPenalty,
  slotLatenessH,
  startLatenessH,
} from './horizon.ts';
import { ModelBuilder, type SparseModel } from './model-builder.ts';
import type { JobSchedule, Schedule } from './schedule.ts';

/** How many slots past a job's last on-time start the model still offers (late starts). */
const MAX_LATE_SLOTS = 24;
const EPS_START = 1e-6;
const EPS_BATTERY = 1e-4;
const OVER_PENALTY_PER_KWH = 50;
const CARBON_CAP_PENALTY = 1;
/**
 * What a kW of battery hold left unkept costs, as a share of the slot's breach price. Below 1 (×ηd)
 * so that, once a job has arrived and the cap binds, discharging the held energy is cheaper than
 * falling short; high enough (≈ £135 per MWh of stored energy at the £300 breach floor) that the
 * plan does not spend the hold on an ordinary price spread before the window. It stands for the
 * chance that an arrival beyond the room kept for the worst past day comes at all; set from that
 * reasoning, not fitted.
 */
export const FLEX_HOLD_RISK = 0.5;

export interface StartGroup {
  readonly items: StartItem[];
  /** candidate start slot → column */
  readonly starts: number[];
  readonly cols: number[];
  readonly deferCol: number;
  readonly unplacedCol: number;
}

export interface RunGroup {
  readonly items: RunItem[];
  readonly slots: number[];
  readonly cols: number[];
  readonly deferCol: number;
  readonly unservedCol: number;
}

export interface Formulation {
  readonly model: SparseModel;
  readonly h: Horizon;
  readonly startGroups: StartGroup[];
  readonly runGroups: RunGroup[];
  /** Jobs whose schedule is fixed going in (running jobs, kept starts, items beyond the horizon). */
  readonly fixed: JobSchedule[];
  readonly fixedLoadKw: Float64Array;
  readonly cols: { readonly it: Int32Array; readonly site: Int32Array; readonly flex: Int32Array; readonly over: Int32Array; readonly ch: Int32Array; readonly dis: Int32Array; readonly soc: Int32Array };
  readonly carbonSlackCol: number;
  /** Per slot under a battery hold, the column of the hold left unkept (kW); -1 elsewhere. */
  readonly holdShortCols: Int32Array;
  /** Per slot, one column per on-site tier (h.onsite[s][k]); empty where none is offered. */
  readonly onsiteCols: ReadonlyArray<ReadonlyArray<number>>;
  readonly socInitKwh: number;
  /** The SoC floor: the battery's minimum, or the start where that is lower. */
  readonly minSocKwh: number;
  readonly etaC: number;
  readonly etaD: number;
}

export interface FormulateOptions {
  readonly socInitKwh: number;
  readonly terminalSocFraction: number;
  readonly carbonCapGPerKwh?: number;
  /** Schedules kept from the previous plan (incremental re-plan). */
  readonly keep?: ReadonlyMap<string, JobSchedule>;
  /** Integer start variables (false: the LP relaxation). */
  readonly integer?: boolean;
  /**
   * IT kW per slot that roomy non-preemptible starts may not take: kept free for tight jobs
   * that have not arrived yet (preemptible work may use it; it can be evicted when they come).
   */
  readonly reserveKw?: number;
}

export function startKwh(item: StartItem, s: number, n: number): { inKwh: number; tailKwh: number } {
  let inKwh = 0;
  let tailKwh = 0;
  for (let k = 0; k < item.frac.length; k++) {
    const e = item.powerKw * item.frac[k]! * SLOT_H;
    if (s + k < n) inKwh += e;
    else tailKwh += e;
  }
  return { inKwh, tailKwh };
}

/** Candidate start slots of a non-preemptible item, windowed to what can matter. */
export function candidateStarts(h: Horizon, it: StartItem): number[] {
  if (it.earliest >= h.n) return [];
  if (it.fixedStart) return [it.earliest];
  const last = Math.min(h.n - 1, Math.max(it.onTimeLast, it.earliest) + (it.deferrable ? 0 : MAX_LATE_SLOTS));
  const out: number[] = [];
  for (let s = it.earliest; s <= last; s++) out.push(s);
  return out;
}

/** Objective coefficient of starting one job of the item in slot s, other than the energy it draws in the horizon. */
export function startExtraCost(h: Horizon, it: StartItem, s: number): number {
  const { tailKwh } = startKwh(it, s, h.n);
  const lateH = startLatenessH(h, it.job.deadlineMs, s, it.remMin);
  return tailKwh * h.site.pue * h.meanCostPerKwh + latenessPenalty(it.penaltyGbpPerH, lateH) + (lateH > 1e-9 ? overSale(h, it).perJobGbp : 0) + EPS_START * s;
}

interface OverSale {
  /** £ added to each kWh of the job's work run late. */
  readonly perKwh: number;
  /** £ added to a late start of the whole job: perKwh × the most of its energy that could sit in the sold slots. */
  readonly perJobGbp: number;
}
const NO_SALE: OverSale = { perKwh: 0, perJobGbp: 0 };
const overSales = new WeakMap<Item, OverSale>();

/**
 * What making a job late costs beyond its SLA penalty while flexibility is sold in its on-time
 * window: PUE × the dearest breach there, per kWh, on no more of its energy than could sit in
 * those sold slots. That is more than the shortfall the lateness could avoid, so a sale never
 * makes a job late: lateness is priced per job and a shortfall per MWh, and a large job (9 MW
 * for an hour under a 2 MW cap) was cheaper an hour late than in the window (a helper's
 * review). Nothing for a job whose window no sale touches: charged on every late kWh while
 * any sale was in the horizon, it made the plan delay a gold job rather than a larger bronze
 * one, for a sale neither touched (the review of that fix). 0 where nothing is sold.
 */
export function overSale(h: Horizon, it: StartItem | RunItem): OverSale {
  if (h.dearestBreachPerKwh <= 0) return NO_SALE;
  const known = overSales.get(it);
  if (known) return known;
  const end = Math.min(h.n, it.kind === 'start' ? it.onTimeLast + it.frac.length : it.onTimeEnd);
  let dearest = 0;
  let sold = 0;
  for (let s = Math.max(0, it.earliest); s < end; s++) {
    const b = h.flexBreachPerKwh[s]!;
    if (b > 0) sold++;
    dearest = Math.max(dearest, b);
  }
  const perKwh = h.site.pue * dearest;
  const kwh = it.kind === 'start' ? (it.powerKw * it.remMin) / 60 : it.remKwh;
  const out = dearest > 0 ? { perKwh, perJobGbp: perKwh * Math.min(kwh, it.powerKw * SLOT_H * sold) } : NO_SALE;
  overSales.set(it, out);
  return out;
}

/** A start with ≥ 2 h of slack is roomy: it can wait, so it must leave the reserve alone. */
export function isRoomyStart(it: Item): boolean {
  return it.kind === 'start' && !it.fixedStart && it.onTimeLast - it.earliest >= 4;
}

export function deferCostPerKwh(h: Horizon): number {
  // A hair above the mean so that work is not pushed out for nothing.
  return h.site.pue * h.meanCostPerKwh * 1.0001 + 1e-5;
}

export function unplacedCost(h: Horizon, it: Item): number {
  const kwh = it.kind === 'run' ? it.remKwh : (it.powerKw * it.remMin) / 60;
  const rate = it.kind === 'fixed' ? 0 : it.penaltyGbpPerH;
  // Dearer than any late start, the charge of a late start under a sale included.
  return rate * (2 + (h.n * SLOT_H) + 24) + kwh * 10 + (it.kind === 'start' ? overSale(h, it).perJobGbp : 0);
}

/** The least energy a slot's worth of a job is taken to carry, when costs are divided by it (see runLatenessPerKwh). */
const MIN_SLOT_KWH = 1e-6;

/**
 * The lateness price of a kWh of a preemptible job run in slot s: the penalty for finishing at
 * the end of s, carried by one slot's worth of the job's work. The job is as late as its last
 * kWh, so a slot of work after the deadline costs the whole penalty whatever ran before it;
 * spread over all of the job's remaining energy (as it once was), a late slot of a 24 h job
 * cost 1/48 of the penalty, and the plan made long jobs late to skip a price peak.
 */
export function runLatenessPerKwh(h: Horizon, it: RunItem, s: number): number {
  // Never 0: a job the intake's minimums let through has at least 1 W for half an hour, but a
  // cost of 0/0 (NaN) makes HiGHS refuse the whole site's model, so the floor is kept here too.
  const lateH = slotLatenessH(h, it.job.deadlineMs, s);
  return latenessPenalty(it.penaltyGbpPerH, lateH) / Math.max(MIN_SLOT_KWH, Math.min(it.remKwh, it.powerKw * SLOT_H)) + (lateH > 1e-9 ? overSale(h, it).perKwh : 0);
}

function startKey(it: StartItem): string {
  return `${it.earliest}|${it.onTimeLast}|${it.remMin.toFixed(6)}|${it.powerKw}|${it.penaltyGbpPerH}|${it.deferrable}|${it.fixedStart}|${it.job.deadlineMs}`;
}

function runKey(it: RunItem): string {
  return `${it.earliest}|${it.onTimeEnd}|${it.remKwh.toFixed(6)}|${it.powerKw}|${it.penaltyGbpPerH}|${it.deferCapKwh.toFixed(6)}|${it.job.deadlineMs}`;
}

/** The last slot a run item's work may be placed in: its on-time end, or a bounded lateness past it. */
function runLastSlot(h: Horizon, it: RunItem): number {
  return Math.min(h.n - 1, Math.max(it.onTimeEnd - 1, it.earliest) + (it.deferCapKwh > 0 ? 0 : MAX_LATE_SLOTS));
}

/**
 * The number of columns `formulate` would build, without building them: whether a plan is
 * decomposed depends only on it, and building a model of 300,000 columns just to count them
 * held the event loop ~0.4 s a re-plan. A property test keeps it equal to formulate's count.
 */
export function columnCount(h: Horizon, items: ReadonlyArray<Item>, opt: Pick<FormulateOptions, 'keep' | 'carbonCapGPerKwh'>): number {
  const starts = new Map<string, StartItem>();
  const runs = new Map<string, RunItem>();
  for (const it of items) {
    if (opt.keep?.has(it.job.id) || it.kind === 'fixed' || it.earliest >= h.n) continue;
    // The first item of each group, as formulate reads it.
    if (it.kind === 'start') {
      const k = startKey(it);
      if (!starts.has(k)) starts.set(k, it);
    } else {
      const k = runKey(it);
      if (!runs.has(k)) runs.set(k, it);
    }
  }
  let cols = 7 * h.n + (opt.carbonCapGPerKwh !== undefined ? 1 : 0);
  for (const run of runsOf(h.flexHoldKw)) cols += run.length;
  for (const tiers of h.onsite) cols += tiers.length;
  for (const it of starts.values()) cols += candidateStarts(h, it).length + (it.deferrable ? 1 : 0) + 1;
  for (const it of runs.values()) cols += runLastSlot(h, it) - it.earliest + 1 + (it.deferCapKwh > 0 ? 1 : 0) + 1;
  return cols;
}

export function formulate(h: Horizon, items: ReadonlyArray<Item>, opt: FormulateOptions): Formulation {
  const { n, site } = h;
  const integer = opt.integer ?? true;
  const b = new ModelBuilder();
  const fixed: JobSchedule[] = [];
  const fixedLoadKw = new Float64Array(n);

  const startMap = new Map<string, StartItem[]>();
  const runMap = new Map<string, RunItem[]>();
  for (const it of items) {
    const kept = opt.keep?.get(it.job.id);
    if (kept) {
      fixed.push(kept);
      for (let s = 0; s < n; s++) fixedLoadKw[s]! += kept.runKw[s]!;
      continue;
    }
    if (it.kind === 'fixed') {
      const runKw = new Float64Array(n);
      for (let k = 0; k < it.frac.length && it.offset + k < n; k++) runKw[it.offset + k] = it.powerKw * it.frac[k]!;
      for (let s = 0; s < n; s++) fixedLoadKw[s]! += runKw[s]!;
      fixed.push({ jobId: it.job.id, kind: 'scheduled', startSlot: it.offset, runKw, deferredKwh: 0, unservedKwh: 0 });
    } else if (it.kind === 'start') {
      if (it.earliest >= n) {
        fixed.push({ jobId: it.job.id, kind: 'deferred', startSlot: null, runKw: new Float64Array(n), deferredKwh: (it.powerKw * it.remMin) / 60, unservedKwh: 0 });
        continue;
      }
      const k = startKey(it);
      const g = startMap.get(k);
      if (g) g.push(it);
      else startMap.set(k, [it]);
    } else {
      if (it.earliest >= n) {
        fixed.push({ jobId: it.job.id, kind: 'deferred', startSlot: null, runKw: new Float64Array(n), deferredKwh: it.remKwh, unservedKwh: 0 });
        continue;
      }
      const k = runKey(it);
      const g = runMap.get(k);
      if (g) g.push(it);
      else runMap.set(k, [it]);
    }
  }

  // Rows: IT balance, site balance, SoC balance per slot.
  const rowIt = new Int32Array(n);
  const rowSite = new Int32Array(n);
  const rowSoc = new Int32Array(n);
  for (let s = 0; s < n; s++) rowIt[s] = b.addRow(-fixedLoadKw[s]!, -fixedLoadKw[s]!);
  for (let s = 0; s < n; s++) rowSite[s] = b.addRow(0, 0);
  const bat = site.battery;
  const etaC = Math.sqrt(bat.roundTripEfficiency);
  const etaD = etaC;
  const socInit = opt.socInitKwh;
  for (let s = 0; s < n; s++) rowSoc[s] = b.addRow(s === 0 ? socInit : 0, s === 0 ? socInit : 0);
  const capRow = opt.carbonCapGPerKwh !== undefined ? b.addRow(-Infinity, 0) : -1;
  const reserve = opt.reserveKw ?? 0;
  const rowFirm = new Int32Array(n).fill(-1);
  if (reserve > 0) {
    for (let s = 0; s < n; s++) rowFirm[s] = b.addRow(-Infinity, Math.max(0, site.itCapacityKw - reserve - fixedLoadKw[s]!));
  }
  const roomy = (it: StartItem) => reserve > 0 && isRoomyStart(it);

  // On-site supply displaces import, so it can never exceed the slot's import (the row below).
  const rowOnsite = new Int32Array(n).fill(-1);
  for (let s = 0; s < n; s++) if (h.onsite[s]!.length) rowOnsite[s] = b.addRow(-Infinity, 0);

  // Battery holds under sold caps: a power row per slot and an energy row per slot of each run.
  const holdRuns = runsOf(h.flexHoldKw);
  const minSoc = Math.min(bat.minSocFraction * bat.energyKwh, socInit);
  const rowHoldPower = new Int32Array(n).fill(-1);
  const rowHoldEnergy = new Int32Array(n).fill(-1);
  for (const run of holdRuns) {
    let needKwh = 0;
    for (const k of run) {
      needKwh += (h.flexHoldKw[k]! * SLOT_H) / etaD;
      rowHoldPower[k] = b.addRow(-Infinity, bat.powerKw - h.flexHoldKw[k]!);
      rowHoldEnergy[k] = b.addRow(minSoc + needKwh, Infinity);
    }
  }
  const withRow = (rows: number[], coefs: number[], row: number, coef: number) => {
    if (row >= 0) {
      rows.push(row);
      coefs.push(coef);
    }
  };

  // Slot columns.
  const cols = { it: new Int32Array(n), site: new Int32Array(n), flex: new Int32Array(n), over: new Int32Array(n), ch: new Int32Array(n), dis: new Int32Array(n), soc: new Int32Array(n) };
  const maxSoc = Math.max(bat.maxSocFraction * bat.energyKwh, socInit);
  const terminal = Math.max(minSoc, Math.min(socInit, opt.terminalSocFraction * bat.energyKwh));
  for (let s = 0; s < n; s++) {
    const itUpper = Math.max(site.itCapacityKw, fixedLoadKw[s]!);
    cols.it[s] = b.addCol(0, 0, itUpper, [rowIt[s]!, rowSite[s]!], [-1, -site.pue]);
    const c = h.costPerKwh[s]! * SLOT_H;
    const carbonCoef = opt.carbonCapGPerKwh !== undefined ? h.intensity[s]! - opt.carbonCapGPerKwh : 0;
    const siteRows = capRow >= 0 ? [rowSite[s]!, capRow] : [rowSite[s]!];
    const siteCoefs = capRow >= 0 ? [1, carbonCoef] : [1];
    if (rowOnsite[s]! >= 0) {
      siteRows.push(rowOnsite[s]!);
      siteCoefs.push(-1);
    }
    const hardCap = Math.max(0, h.importCapKw[s]!);
    const softCap = Math.min(hardCap, h.flexCapKw[s]!);
    cols.site[s] = b.addCol(c, 0, softCap, siteRows, siteCoefs);
    cols.flex[s] = b.addCol(c + h.flexBreachPerKwh[s]! * SLOT_H, 0, hardCap - softCap, siteRows, siteCoefs);
    cols.over[s] = b.addCol(c + OVER_PENALTY_PER_KWH * SLOT_H, 0, Infinity, siteRows, siteCoefs);
    const chRows = [rowSite[s]!, rowSoc[s]!];
    const chCoefs = [-1, -etaC * SLOT_H];
    withRow(chRows, chCoefs, rowHoldPower[s]!, -1);
    cols.ch[s] = b.addCol(EPS_BATTERY, 0, bat.powerKw, chRows, chCoefs);
    const disRows = [rowSite[s]!, rowSoc[s]!];
    const disCoefs = [1, SLOT_H / etaD];
    withRow(disRows, disCoefs, rowHoldPower[s]!, 1);
    cols.dis[s] = b.addCol(EPS_BATTERY + (bat.degradationGbpPerMwh / 1000) * SLOT_H, 0, bat.powerKw, disRows, disCoefs);
    const socRows = s + 1 < n ? [rowSoc[s]!, rowSoc[s + 1]!] : [rowSoc[s]!];
    const socCoefs = s + 1 < n ? [1, -1] : [1];
    withRow(socRows, socCoefs, rowHoldEnergy[s]!, 1);
    cols.soc[s] = b.addCol(0, s === n - 1 ? terminal : minSoc, maxSoc, socRows, socCoefs);
  }
  const holdShortCols = new Int32Array(n).fill(-1);
  for (const run of holdRuns) {
    for (let i = 0; i < run.length; i++) {
      const k = run[i]!;
      const rows = [rowHoldPower[k]!];
      const coefs = [-1];
      // Held energy unkept in slot k relaxes the energy rows of k and every later slot of the run.
      for (let j = i; j < run.length; j++) withRow(rows, coefs, rowHoldEnergy[run[j]!]!, SLOT_H / etaD);
      holdShortCols[k] = b.addCol(FLEX_HOLD_RISK * etaD * h.flexBreachPerKwh[k]! * SLOT_H, 0, h.flexHoldKw[k]!, rows, coefs);
    }
  }
  const onsiteCols: number[][] = [];
  for (let s = 0; s < n; s++) {
    const c = h.costPerKwh[s]!;
    onsiteCols.push(h.onsite[s]!.map((t) => b.addCol((t.costPerKwh - c) * SLOT_H, 0, t.kw, [rowOnsite[s]!], [1])));
  }
  const carbonSlackCol = capRow >= 0 ? b.addCol(CARBON_CAP_PENALTY, 0, Infinity, [capRow], [-1]) : -1;

  const deferPerKwh = deferCostPerKwh(h);
  const startGroups: StartGroup[] = [];
  for (const groupItems of startMap.values()) {
    const it = groupItems[0]!;
    const count = groupItems.length;
    const row = b.addRow(count, count);
    const starts = candidateStarts(h, it);
    const gcols: number[] = [];
    for (const s of starts) {
      const rows = [row];
      const coefs = [1];
      const firm = roomy(it);
      for (let k = 0; k < it.frac.length && s + k < n; k++) {
        rows.push(rowIt[s + k]!);
        coefs.push(it.powerKw * it.frac[k]!);
        if (firm) {
          rows.push(rowFirm[s + k]!);
          coefs.push(it.powerKw * it.frac[k]!);
        }
      }
      gcols.push(b.addCol(startExtraCost(h, it, s), 0, count, rows, coefs, integer));
    }
    const kwh = (it.powerKw * it.remMin) / 60;
    const deferCol = it.deferrable ? b.addCol(kwh * deferPerKwh, 0, count, [row], [1]) : -1;
    const unplacedCol = b.addCol(unplacedCost(h, it), 0, count, [row], [1]);
    startGroups.push({ items: groupItems, starts, cols: gcols, deferCol, unplacedCol });
  }

  const runGroups: RunGroup[] = [];
  for (const groupItems of runMap.values()) {
    const it = groupItems[0]!;
    const count = groupItems.length;
    const row = b.addRow(count * it.remKwh, count * it.remKwh);
    const slots: number[] = [];
    const gcols: number[] = [];
    const lastSlot = runLastSlot(h, it);
    for (let s = it.earliest; s <= lastSlot; s++) {
      slots.push(s);
      gcols.push(b.addCol(runLatenessPerKwh(h, it, s) * SLOT_H + EPS_START * 1e-2 * s, 0, count * it.powerKw, [row, rowIt[s]!], [SLOT_H, 1]));
    }
    const deferCol = it.deferCapKwh > 0 ? b.addCol(deferPerKwh, 0, count * it.deferCapKwh, [row], [1]) : -1;
    // Dearer than running in any of its slots, however late: work left unserved is not done at all.
    const unservedCol = b.addCol(unplacedCost(h, it) / Math.max(MIN_SLOT_KWH, it.remKwh) + runLatenessPerKwh(h, it, lastSlot), 0, Infinity, [row], [1]);
    runGroups.push({ items: groupItems, slots, cols: gcols, deferCol, unservedCol });
  }

  return { model: b.build(), h, startGroups, runGroups, fixed, fixedLoadKw, cols, carbonSlackCol, holdShortCols, onsiteCols, socInitKwh: socInit, minSocKwh: minSoc, etaC, etaD };
}

/** Runs of consecutive slots with a positive value, as slot indices. */
function runsOf(values: Float64Array): number[][] {
  const runs: number[][] = [];
  let cur: number[] = [];
  for (let s = 0; s < values.length; s++) {
    if (values[s]! > 0) cur.push(s);
    else if (cur.length) {
      runs.push(cur);
      cur = [];
    }
  }
  if (cur.length) runs.push(cur);
  return runs;
}

/** Column values for a schedule: the MIP start HiGHS checks and, if feasible, keeps as incumbent. */
export function hintFromSchedule(f: Formulation, sched: Schedule): Float64Array {
  const x = new Float64Array(f.model.numCols);
  const { n, site } = f.h;
  const it = Float64Array.from(f.fixedLoadKw);
  for (const g of f.startGroups) {
    let placed = 0;
    let deferred = 0;
    for (const item of g.items) {
      const js = sched.jobs.get(item.job.id);
      if (js?.kind === 'scheduled' && js.startSlot !== null) {
        const i = g.starts.indexOf(js.startSlot);
        if (i >= 0) {
          x[g.cols[i]!]! += 1;
          placed++;
          for (let k = 0; k < item.frac.length && js.startSlot + k < n; k++) it[js.startSlot + k]! += item.powerKw * item.frac[k]!;
          continue;
        }
      }
      if (js?.kind === 'deferred' && g.deferCol >= 0) {
        deferred++;
      }
    }
    if (g.deferCol >= 0) x[g.deferCol] = deferred;
    x[g.unplacedCol] = g.items.length - placed - deferred;
  }
  for (const g of f.runGroups) {
    let deferred = 0;
    let total = 0;
    for (const item of g.items) {
      const js = sched.jobs.get(item.job.id);
      if (!js) continue;
      for (let i = 0; i < g.slots.length; i++) {
        const v = js.runKw[g.slots[i]!]!;
        x[g.cols[i]!]! += v;
        it[g.slots[i]!]! += v;
        total += v * SLOT_H;
      }
      deferred += js.deferredKwh;
    }
    if (g.deferCol >= 0) x[g.deferCol] = deferred;
    x[g.unservedCol] = Math.max(0, g.items.length * g.items[0]!.remKwh - total - deferred);
  }
  let soc = f.socInitKwh;
  let heldKwh = 0;
  for (let s = 0; s < n; s++) {
    x[f.cols.it[s]!] = it[s]!;
    const ch = sched.chargeKw[s]!;
    const dis = sched.dischargeKw[s]!;
    x[f.cols.ch[s]!] = ch;
    x[f.cols.dis[s]!] = dis;
    soc += SLOT_H * (f.etaC * ch - dis / f.etaD);
    x[f.cols.soc[s]!] = soc;
    // The hold the schedule leaves unkept: first for power, then for the energy still held.
    const shortCol = f.holdShortCols[s]!;
    if (shortCol < 0) heldKwh = 0;
    else {
      const hold = f.h.flexHoldKw[s]!;
      let short = Math.min(hold, Math.max(0, dis - ch + hold - site.battery.powerKw));
      const need = f.minSocKwh + heldKwh + ((hold - short) * SLOT_H) / f.etaD - soc;
      if (need > 0) short = Math.min(hold, short + (need * f.etaD) / SLOT_H);
      heldKwh += ((hold - short) * SLOT_H) / f.etaD;
      x[shortCol] = short;
    }
    const load = site.pue * it[s]! + ch - dis;
    const cap = Math.max(0, f.h.importCapKw[s]!);
    const soft = Math.min(cap, f.h.flexCapKw[s]!);
    x[f.cols.site[s]!] = Math.min(Math.max(0, load), soft);
    x[f.cols.flex[s]!] = Math.min(Math.max(0, load - soft), cap - soft);
    x[f.cols.over[s]!] = Math.max(0, load - cap);
    let left = Math.max(0, load);
    f.onsiteCols[s]!.forEach((col, k) => {
      const take = Math.min(left, f.h.onsite[s]![k]!.kw);
      x[col] = take;
      left -= take;
    });
  }
  return x;
}
