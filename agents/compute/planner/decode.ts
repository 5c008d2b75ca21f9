/** Solver column values → a schedule. Items the values do not place (an LP answer) are returned for repair. */
import type { Formulation } from './formulation.ts';
import type { Item } from './horizon.ts';
import { type JobSchedule, type Schedule, scheduleNotStarted, scheduleRuns, scheduleStart } from './schedule.ts';

export function decode(f: Formulation, x: ArrayLike<number>): { schedule: Schedule; leftovers: Item[] } {
  const { n } = f.h;
  const jobs = new Map<string, JobSchedule>();
  const leftovers: Item[] = [];
  for (const js of f.fixed) jobs.set(js.jobId, js);
  for (const g of f.startGroups) {
    let i = 0;
    const take = (count: number, make: (it: (typeof g.items)[number]) => JobSchedule) => {
      for (let c = 0; c < count && i < g.items.length; c++, i++) jobs.set(g.items[i]!.job.id, make(g.items[i]!));
    };
    for (let k = 0; k < g.cols.length; k++) {
      const s = g.starts[k]!;
      take(Math.floor(x[g.cols[k]!]! + 1e-6), (it) => scheduleStart(f.h, it, s));
    }
    if (g.deferCol >= 0) take(Math.floor(x[g.deferCol]! + 1e-6), (it) => scheduleNotStarted(f.h, it, 'deferred'));
    take(Math.floor(x[g.unplacedCol]! + 1e-6), (it) => scheduleNotStarted(f.h, it, 'unplaced'));
    for (; i < g.items.length; i++) leftovers.push(g.items[i]!);
  }
  for (const g of f.runGroups) {
    const count = g.items.length;
    for (const it of g.items) {
      const runKw = new Float64Array(n);
      for (let k = 0; k < g.cols.length; k++) runKw[g.slots[k]!] = Math.max(0, x[g.cols[k]!]! / count);
      const deferred = g.deferCol >= 0 ? Math.max(0, x[g.deferCol]! / count) : 0;
      jobs.set(it.job.id, scheduleRuns(it, runKw, deferred));
    }
  }
  const chargeKw = new Float64Array(n);
  const dischargeKw = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    chargeKw[s] = Math.max(0, x[f.cols.ch[s]!]!);
    dischargeKw[s] = Math.max(0, x[f.cols.dis[s]!]!);
  }
  return { schedule: { jobs, chargeKw, dischargeKw }, leftovers };
}
