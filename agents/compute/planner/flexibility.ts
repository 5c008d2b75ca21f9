/**
 * Flexibility available per slot, read off the plan's slack: deferrable job load that could
 * move out of the slot's offer window, and battery discharge headroom. The marginal cost of a
 * move is what the job would pay where it goes minus what it pays now (never below 0: a move
 * that saves money the plan would already have made).
 *
 * Job moves are worked out per offer window (`Horizon.flexWindowSlots` half-hours, aligned to
 * their length, as the coordination agent offers them), all of a window's moves against one
 * copy of the load: a move out of the window may only go where it lands outside the window, and
 * the room it takes is not there for the next job. Worked out slot by slot against the plan's
 * own headroom, two jobs counted the same free half-hour and a preemptible job "moved" to the
 * other half of the same window, so a window offered nearly its whole import and delivered half.
 */
import { type Horizon, type Item, type RunItem, type StartItem, SLOT_H, SLOT_MS } from './horizon.ts';
import { candidateStarts, startExtraCost } from './formulation.ts';
import type { JobSchedule, Schedule } from './schedule.ts';
import type { FlexibilitySlot, SlotPlan } from './types.ts';

/** The offer windows the horizon falls into: [first, end) slot ranges, aligned in absolute time. */
function flexWindowRanges(h: Pick<Horizon, 't0' | 'n' | 'flexWindowSlots'>): Array<readonly [number, number]> {
  const w = h.flexWindowSlots;
  // Slots from the plan's start to the first window boundary form a (partial) window of their own.
  const first = (w - (Math.round(h.t0 / SLOT_MS) % w)) % w;
  const out: Array<readonly [number, number]> = [];
  if (first > 0) out.push([0, Math.min(first, h.n)]);
  for (let a = first; a < h.n; a += w) out.push([a, Math.min(a + w, h.n)]);
  return out;
}

/** IT kW moved out of each slot of a window, and what the moves cost (£ per hour of the slot, IT kW × £/kWh at the meter). */
interface WindowMoves {
  readonly shedKw: Float64Array;
  readonly costGbpPerH: Float64Array;
}

/** Another on-time start of a job and what moving there costs (£/kWh at the meter, ≥ 0). */
interface Alternative {
  readonly s: number;
  readonly gbpPerKwh: number;
}

/**
 * A job the plan could move: a non-preemptible one by its whole start (`alts`: its other on-time
 * starts, cheapest first; their cost does not depend on the load, so it is worked out once for
 * every window the job runs in), a preemptible one by the kW in each slot (`byCost`: its on-time
 * slots in the horizon, cheapest first, for the same reason).
 */
type Movable =
  | { readonly kind: 'start'; readonly it: StartItem; readonly js: JobSchedule; readonly start: number; readonly alts: ReadonlyArray<Alternative> }
  | { readonly kind: 'run'; readonly it: RunItem; readonly js: JobSchedule; readonly byCost: ReadonlyArray<number> };

/**
 * Room for more IT load in slot s: IT capacity, and the import cap or the cap of flexibility
 * already sold there, whichever is lower (with the battery idle). A move into a sold window
 * would break that sale to make this one.
 */
function roomKw(h: Horizon, load: Float64Array, s: number): number {
  return Math.max(0, Math.min(h.site.itCapacityKw, h.flexCapKw[s]! / h.site.pue) - load[s]!);
}

export function flexibility(h: Horizon, items: ReadonlyArray<Item>, sched: Schedule, slots: ReadonlyArray<SlotPlan>, socInitKwh: number): FlexibilitySlot[] {
  const { n, site } = h;
  const pue = site.pue;
  const planLoad = new Float64Array(n);
  for (let s = 0; s < n; s++) planLoad[s] = slots[s]!.itKw;

  const movable: Movable[] = [];
  for (const it of items) {
    const js = sched.jobs.get(it.job.id);
    if (!js || js.kind !== 'scheduled') continue;
    if (it.kind === 'start' && !it.fixedStart && js.startSlot !== null) movable.push({ kind: 'start', it, js, start: js.startSlot, alts: alternatives(h, it, js.startSlot) });
    else if (it.kind === 'run') movable.push({ kind: 'run', it, js, byCost: slotsByCost(h, it) });
  }
  // Each window's jobs: those with work in it.
  const ranges = flexWindowRanges(h);
  const windowOf = new Int32Array(n);
  ranges.forEach(([a, b], i) => windowOf.fill(i, a, b));
  const jobsIn: Movable[][] = ranges.map(() => []);
  for (const m of movable) {
    let last = -1;
    for (let s = 0; s < n; s++) {
      if (m.js.runKw[s]! <= 1e-9 || windowOf[s] === last) continue;
      last = windowOf[s]!;
      jobsIn[last]!.push(m);
    }
  }

  const shedKw = new Float64Array(n);
  const costGbpPerH = new Float64Array(n);
  ranges.forEach(([a, b], i) => {
    const moves = windowMoves(h, Float64Array.from(planLoad), jobsIn[i]!, a, b);
    shedKw.set(moves.shedKw, a);
    costGbpPerH.set(moves.costGbpPerH, a);
  });

  const out: FlexibilitySlot[] = [];
  const bat = site.battery;
  const eta = Math.sqrt(bat.roundTripEfficiency);
  const minSoc = bat.minSocFraction * bat.energyKwh;
  // Energy (after η) held for windows already sold, wherever in the horizon they are: a window
  // before a sold one that spent it would leave the sold one short, and one after it cannot
  // count on it being left over.
  let heldKwh = 0;
  for (let s = 0; s < n; s++) heldKwh += h.flexHoldKw[s]! * SLOT_H;
  let socBefore = socInitKwh;
  for (let s = 0; s < n; s++) {
    const sp = slots[s]!;
    const fromJobsKw = shedKw[s]! * pue;
    let cost = costGbpPerH[s]! * pue;
    // Battery: more discharge (or less charge) this slot, refilled later at the cheapest remaining slot.
    const energyKw = Math.max(0, ((socBefore - minSoc) * eta - heldKwh) / SLOT_H);
    const heldKw = h.flexHoldKw[s]!;
    const fromBatteryKw = Math.max(0, Math.min(bat.powerKw - heldKw - sp.dischargeKw + sp.chargeKw, energyKw + sp.chargeKw));
    let refill = Infinity;
    for (let t = s + 1; t < n; t++) refill = Math.min(refill, h.costPerKwh[t]!);
    const batCost = refill === Infinity ? h.meanCostPerKwh : refill / bat.roundTripEfficiency;
    cost += fromBatteryKw * Math.max(0, batCost - h.costPerKwh[s]!);
    const total = Math.min(sp.siteKw, fromJobsKw + fromBatteryKw);
    const scale = fromJobsKw + fromBatteryKw > 0 ? total / (fromJobsKw + fromBatteryKw) : 0;
    out.push({
      startMs: sp.startMs,
      sheddableKw: total,
      marginalCostGbpPerMwh: fromJobsKw + fromBatteryKw > 0 ? (cost / (fromJobsKw + fromBatteryKw)) * 1000 : 0,
      fromJobsKw: fromJobsKw * scale,
      fromBatteryKw: fromBatteryKw * scale,
      heldKw,
    });
    socBefore = sp.socKwh;
  }
  return out;
}

/**
 * The work that can leave window [a, b), cheapest first: each job's cheapest move that still
 * fits once the moves before it have taken their room. Greedy, so it may find less than the
 * most that could move, never more.
 */
function windowMoves(h: Horizon, load: Float64Array, jobs: ReadonlyArray<Movable>, a: number, b: number): WindowMoves {
  const out: WindowMoves = { shedKw: new Float64Array(b - a), costGbpPerH: new Float64Array(b - a) };
  const ranked = jobs
    .map((m) => ({ m, c: m.kind === 'start' ? (bestStart(h, load, m, a, b)?.gbpPerKwh ?? Infinity) : runMoveCost(h, load, m, a, b) }))
    .filter((r) => r.c < Infinity)
    .sort((x, y) => x.c - y.c || (x.m.it.job.id < y.m.it.job.id ? -1 : 1));
  for (const { m } of ranked) {
    if (m.kind === 'start') moveStart(h, load, m, a, b, out);
    else moveRun(h, load, m, a, b, out);
  }
  return out;
}

/** The job's other on-time starts, cheapest first, priced against where it starts now. */
function alternatives(h: Horizon, it: StartItem, start: number): Alternative[] {
  const { n } = h;
  const d = it.frac.length;
  const pue = h.site.pue;
  const costAt = (s: number): number => {
    let c = 0;
    for (let k = 0; k < d && s + k < n; k++) c += it.powerKw * it.frac[k]! * SLOT_H * pue * h.costPerKwh[s + k]!;
    return c + startExtraCost(h, it, s);
  };
  const now = costAt(start);
  const kwh = (it.powerKw * it.remMin) / 60;
  return candidateStarts(h, it)
    .filter((s) => s <= it.onTimeLast && s !== start)
    .map((s) => ({ s, c: costAt(s) }))
    .sort((x, y) => x.c - y.c || x.s - y.s)
    .map(({ s, c }) => ({ s, gbpPerKwh: Math.max(0, (c - now) / (kwh * pue)) }));
}

/** The cheapest other start whose run lies wholly outside [a, b) and fits the room, with the job taken out of where it is. */
function bestStart(h: Horizon, load: Float64Array, m: Extract<Movable, { kind: 'start' }>, a: number, b: number): Alternative | null {
  const { it, js } = m;
  const d = it.frac.length;
  const fits = (s: number): boolean => {
    for (let k = 0; k < d && s + k < h.n; k++) if (roomKw(h, load, s + k) + js.runKw[s + k]! < it.powerKw * it.frac[k]! - 1e-6) return false;
    return true;
  };
  for (const alt of m.alts) if (!(alt.s < b && alt.s + d > a) && fits(alt.s)) return alt;
  return null;
}

function moveStart(h: Horizon, load: Float64Array, m: Extract<Movable, { kind: 'start' }>, a: number, b: number, out: WindowMoves): void {
  const best = bestStart(h, load, m, a, b);
  if (!best) return;
  const { it, js } = m;
  for (let s = 0; s < h.n; s++) load[s]! -= js.runKw[s]!;
  for (let k = 0; k < it.frac.length && best.s + k < h.n; k++) load[best.s + k]! += it.powerKw * it.frac[k]!;
  for (let s = a; s < b; s++) {
    out.shedKw[s - a]! += js.runKw[s]!;
    out.costGbpPerH[s - a]! += js.runKw[s]! * best.gbpPerKwh;
  }
}

/** A preemptible job's on-time slots in the horizon, cheapest first. */
function slotsByCost(h: Horizon, it: RunItem): number[] {
  const out: number[] = [];
  for (let s = it.earliest; s < Math.min(h.n, it.onTimeEnd); s++) out.push(s);
  return out.sort((x, y) => h.costPerKwh[x]! - h.costPerKwh[y]! || x - y);
}

/** Room for more of a preemptible job's work in slot s: below its power (with what this move already put there) and the slot's room. */
function runRoomKw(h: Horizon, load: Float64Array, m: Extract<Movable, { kind: 'run' }>, s: number, added: ReadonlyMap<number, number>): number {
  return Math.min(m.it.powerKw - m.js.runKw[s]! - (added.get(s) ?? 0), roomKw(h, load, s));
}

/** What moving the job's first kW out of the window would cost per kWh (Infinity: nowhere to go). */
function runMoveCost(h: Horizon, load: Float64Array, m: Extract<Movable, { kind: 'run' }>, a: number, b: number): number {
  const { it, js } = m;
  let here = Infinity;
  for (let s = a; s < b; s++) if (js.runKw[s]! > 1e-9) here = Math.min(here, h.costPerKwh[s]!);
  let to = it.deferCapKwh - js.deferredKwh > 1e-9 ? h.meanCostPerKwh : Infinity;
  const none = new Map<number, number>();
  for (const s of m.byCost) {
    if (h.costPerKwh[s]! >= to) break;
    if ((s < a || s >= b) && runRoomKw(h, load, m, s, none) > 1e-6) to = h.costPerKwh[s]!;
  }
  return to === Infinity ? Infinity : Math.max(0, to - here);
}

/** Move the job's work out of [a, b): to its cheapest on-time slots outside it with room, then past the horizon as far as it may wait. */
function moveRun(h: Horizon, load: Float64Array, m: Extract<Movable, { kind: 'run' }>, a: number, b: number, out: WindowMoves): void {
  const { it, js } = m;
  const added = new Map<number, number>();
  const left = new Float64Array(b - a);
  for (let s = a; s < b; s++) {
    left[s - a] = js.runKw[s]!;
    for (const d of m.byCost) {
      if (left[s - a]! <= 1e-9) break;
      if (d >= a && d < b) continue;
      const take = Math.min(left[s - a]!, runRoomKw(h, load, m, d, added));
      if (take <= 1e-6) continue;
      added.set(d, (added.get(d) ?? 0) + take);
      load[d]! += take;
      load[s]! -= take;
      out.shedKw[s - a]! += take;
      out.costGbpPerH[s - a]! += take * Math.max(0, h.costPerKwh[d]! - h.costPerKwh[s]!);
      left[s - a]! -= take;
    }
  }
  // What may wait past the horizon is one amount of energy for the whole window: shared out in
  // proportion to what each half-hour still has to shed, as the window sells its smallest.
  const deferKw = Math.max(0, it.deferCapKwh - js.deferredKwh) / SLOT_H;
  let total = 0;
  for (const x of left) total += x > 1e-9 ? x : 0;
  if (deferKw <= 1e-9 || total <= 1e-9) return;
  const share = Math.min(1, deferKw / total);
  for (let s = a; s < b; s++) {
    const take = left[s - a]! > 1e-9 ? left[s - a]! * share : 0;
    load[s]! -= take;
    out.shedKw[s - a]! += take;
    out.costGbpPerH[s - a]! += take * Math.max(0, h.meanCostPerKwh - h.costPerKwh[s]!);
  }
}
