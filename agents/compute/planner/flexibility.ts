/**
 * Flexibility available per slot, read off the plan's slack: deferrable job load that could
 * move to another slot of its window with room, and battery discharge headroom. The marginal
 * cost of a move is what the job would pay in its next-best slot minus what it pays now
 * (never below 0: a move that saves money the plan would already have made).
 */
import { type Horizon, type Item, SLOT_H } from './horizon.ts';
import { headroomKw } from './greedy.ts';
import { candidateStarts, startExtraCost } from './formulation.ts';
import type { Schedule } from './schedule.ts';
import type { FlexibilitySlot, SlotPlan } from './types.ts';

interface Move {
  readonly kw: number;
  readonly gbpPerKwh: number;
}

export function flexibility(h: Horizon, items: ReadonlyArray<Item>, sched: Schedule, slots: ReadonlyArray<SlotPlan>, socInitKwh: number): FlexibilitySlot[] {
  const { n, site } = h;
  const pue = site.pue;
  const load = new Float64Array(n);
  for (let s = 0; s < n; s++) load[s] = slots[s]!.itKw;
  const moves: Move[][] = Array.from({ length: n }, () => []);

  for (const it of items) {
    const js = sched.jobs.get(it.job.id);
    if (!js || js.kind !== 'scheduled') continue;
    if (it.kind === 'start' && !it.fixedStart && js.startSlot !== null) {
      // Moving the whole start: cheapest alternative start (on time, with room) not covering slot s.
      const d = it.frac.length;
      const cands = candidateStarts(h, it).filter((s) => s <= it.onTimeLast);
      const costAt = (s: number) => {
        let c = 0;
        for (let k = 0; k < d && s + k < n; k++) c += it.powerKw * it.frac[k]! * SLOT_H * pue * h.costPerKwh[s + k]!;
        return c + startExtraCost(h, it, s);
      };
      const room = (s: number) => {
        for (let k = 0; k < d && s + k < n; k++) {
          const own = s + k >= js.startSlot! && s + k < js.startSlot! + d ? it.powerKw * it.frac[s + k - js.startSlot!]! : 0;
          if (headroomKw(h, load, s + k) + own < it.powerKw * it.frac[k]! - 1e-6) return false;
        }
        return true;
      };
      const now = costAt(js.startSlot);
      const alts = cands.filter((s) => s !== js.startSlot && room(s)).map((s) => ({ s, c: costAt(s) }));
      const kwh = (it.powerKw * it.remMin) / 60;
      for (let k = 0; k < d; k++) {
        const slot = js.startSlot + k;
        if (slot >= n) break;
        let best = Infinity;
        for (const a of alts) if ((slot < a.s || slot >= a.s + d) && a.c < best) best = a.c;
        if (best < Infinity) moves[slot]!.push({ kw: js.runKw[slot]!, gbpPerKwh: Math.max(0, (best - now) / (kwh * pue)) });
      }
    } else if (it.kind === 'run') {
      // Moving the work in slot s to the cheapest on-time slot with room.
      const free: { s: number; c: number; room: number }[] = [];
      for (let s = it.earliest; s < Math.min(n, it.onTimeEnd); s++) {
        const room = Math.min(it.powerKw - js.runKw[s]!, headroomKw(h, load, s));
        if (room > 1e-6) free.push({ s, c: h.costPerKwh[s]!, room });
      }
      free.sort((a, b) => a.c - b.c);
      const deferRoom = it.deferCapKwh - js.deferredKwh;
      for (let s = 0; s < n; s++) {
        const kw = js.runKw[s]!;
        if (kw <= 1e-9) continue;
        let left = kw;
        for (const f of free) {
          if (left <= 1e-9) break;
          if (f.s === s) continue;
          const take = Math.min(left, f.room);
          moves[s]!.push({ kw: take, gbpPerKwh: Math.max(0, f.c - h.costPerKwh[s]!) });
          left -= take;
        }
        if (left > 1e-9 && deferRoom > 1e-9) {
          const take = Math.min(left, deferRoom / SLOT_H);
          moves[s]!.push({ kw: take, gbpPerKwh: Math.max(0, h.meanCostPerKwh - h.costPerKwh[s]!) });
        }
      }
    }
  }

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
    const jobMoves = moves[s]!.sort((a, b) => a.gbpPerKwh - b.gbpPerKwh);
    let fromJobsKw = 0;
    let cost = 0;
    for (const m of jobMoves) {
      fromJobsKw += m.kw * pue;
      cost += m.kw * pue * m.gbpPerKwh;
    }
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
