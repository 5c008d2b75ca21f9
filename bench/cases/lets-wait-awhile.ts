/**
 * The "Let's Wait Awhile" (Wiesner et al., Middleware '21) ML scenario as a schedule-bench case:
 * `npm run bench -- schedule --case lets-wait-awhile [--sample N] [--no-write]`.
 *
 * Job rules, from the paper's code (dos-group/lets-wait-awhile, simulate.py / strategy.py):
 * 3,387 jobs over 2020's workdays (Mon–Fri, no holidays), each day's count multinomial, submitted
 * on the half-hour between 09:00 and 16:30, durations uniform on 4 h … 89.5 h in half-hours, one
 * unit of power each, no capacity limit (the jobs do not interact). Deadline ("next_workday"):
 * the job's finish if run at once, pushed to 09:00 of the next workday when that finish falls
 * outside 09:00–17:00 Mon–Fri. Our reading of "next workday": a finish on Friday after 17:00 goes
 * to Monday 09:00 (the paper's code sends it to Saturday 09:00; `--lwa-rule code` reproduces
 * that). Windows are the duration plus up to ~2.7 days of slack (Friday evening to Monday).
 *
 * Carbon: GB national intensity 2020 from data/ — only hourly is on file for 2020 (from
 * 2020-01-08), so each :30 half-hour is the mean of its hour and the next (linear
 * interpolation) and jobs are drawn from 2020-01-08 on. Our RNG is not numpy's, so the jobs
 * differ from the paper's draw; the comparison that matters is planner vs per-job optimum on
 * the same jobs and data.
 *
 * What is measured: the shipped planner (`plan()` with default options: horizon grows to the
 * job's deadline, ≤ 7 days) given perfect information, carbon-only objective (price 0), one job
 * at a time as in the paper, re-planned at the planned start to confirm; against the per-job
 * optimum computed directly (lowest-mean contiguous window, or the k lowest half-hours for the
 * interruptible variant) and against run-at-arrival.
 */
import { SeededRandom } from '../../core/ids/index.ts';
import { loadHourlyCarbonCsv } from '../../data/index.ts';
import { type Job, siteConfig } from '../../agents/compute/jobs/index.ts';
import { type PlanOptions, plan } from '../../agents/compute/planner/index.ts';
import { DAY_MS, HALF_HOUR_MS as SLOT_MS, HOUR_MS } from '../../core/time/index.ts';


export type LwaRule = 'paper' | 'code';

export interface LwaJob {
  readonly id: number;
  readonly arrivalMs: number;
  readonly durationSlots: number;
  readonly deadlineMs: number;
}

/** 09:00 of the next workday after `ms` (UTC), or of the same day when `ms` is before 09:00 on a workday. */
export function lwaDeadline(finishMs: number, rule: LwaRule = 'paper'): number {
  const d = new Date(finishMs);
  const wd = d.getUTCDay(); // 0 Sun … 6 Sat
  const hour = d.getUTCHours() + d.getUTCMinutes() / 60;
  const nine = (days: number) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days, 9, 0, 0);
  if (rule === 'code') {
    if (wd === 6) return nine(2);
    if (wd === 0 || hour > 17) return nine(1);
    if (hour < 9) return nine(0);
    return finishMs;
  }
  const workday = wd >= 1 && wd <= 5;
  if (workday && hour >= 9 && hour <= 17) return finishMs;
  if (workday && hour < 9) return nine(0);
  // After 17:00 on a workday, or a weekend: the next Monday–Friday at 09:00.
  for (let k = 1; k <= 3; k++) {
    const w = new Date(nine(k)).getUTCDay();
    if (w >= 1 && w <= 5) return nine(k);
  }
  throw new Error('unreachable: a workday within 3 days');
}

/** The paper's ML jobs, from `fromMs` (a day start) to the end of 2020, count scaled by the workdays covered. */
export function lwaJobs(fromMs: number, toMs: number, seed: string, rule: LwaRule = 'paper'): LwaJob[] {
  const r = new SeededRandom(seed);
  const days: number[] = [];
  const allWorkdays2020 = 262;
  for (let t = fromMs; t < toMs; t += DAY_MS) {
    const wd = new Date(t).getUTCDay();
    if (wd >= 1 && wd <= 5) days.push(t);
  }
  const n = Math.round((3387 * days.length) / allWorkdays2020);
  const perDay = new Array<number>(days.length).fill(0);
  for (let i = 0; i < n; i++) perDay[r.int(0, days.length - 1)]!++;
  const jobs: LwaJob[] = [];
  for (let d = 0; d < days.length; d++) {
    const starts = Array.from({ length: perDay[d]! }, () => 18 + r.int(0, 15)).sort((a, b) => a - b); // slots 18 (09:00) … 33 (16:30)
    for (const s of starts) {
      const arrivalMs = days[d]! + s * SLOT_MS;
      const durationSlots = 8 + r.int(0, 170); // 4 h … 89.5 h
      jobs.push({ id: jobs.length, arrivalMs, durationSlots, deadlineMs: lwaDeadline(arrivalMs + durationSlots * SLOT_MS, rule) });
    }
  }
  return jobs;
}

/** Hourly values → half-hourly: :00 is the hour's value, :30 the mean of it and the next hour's. */
export function interpolateHourly(hourly: ReadonlyArray<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < hourly.length; i++) {
    const a = hourly[i]!;
    const b = hourly[i + 1] ?? a;
    out.push(a, (a + b) / 2);
  }
  return out;
}

/** Per-job optimum with perfect information: [non-interruptible, interruptible] gCO2 per unit power·slot. */
export function perJobOptimum(ci: ReadonlyArray<number>, first: number, durationSlots: number, lastEnd: number): { contiguous: number; interruptible: number } {
  let best = Infinity;
  let sum = 0;
  for (let k = 0; k < durationSlots; k++) sum += ci[first + k]!;
  for (let s = first; s + durationSlots <= lastEnd; s++) {
    if (s > first) sum += ci[s + durationSlots - 1]! - ci[s - 1]!;
    best = Math.min(best, sum);
  }
  const win = ci.slice(first, lastEnd).sort((a, b) => a - b);
  let low = 0;
  for (let k = 0; k < durationSlots; k++) low += win[k]!;
  return { contiguous: best, interruptible: low };
}

export interface LwaResult {
  readonly jobs: number;
  readonly rule: LwaRule;
  readonly maxWindowH: number;
  readonly baselineG: number;
  readonly variants: Record<'nonInterruptible' | 'interruptible', { optimumSavedPct: number; plannerSavedPct: number; jobsOffOptimum: number; replanChanged: number }>;
}

/** `rule`: `--lwa-rule`; `sample`: `--sample N`, every N-th job (both checked by bench/schedule.ts). */
export async function runLetsWaitAwhile(opts: { readonly rule: LwaRule; readonly sample: number }): Promise<LwaResult> {
  const { rule, sample } = opts;
  const rows = loadHourlyCarbonCsv().rows;
  const fromMs = Date.parse('2020-01-08T00:00:00Z');
  const toMs = Date.parse('2021-01-01T00:00:00Z');
  const hourly: number[] = [];
  let last = rows[0]!.actualGPerKwh;
  const byMs = new Map(rows.map((x) => [x.fromMs, x.actualGPerKwh]));
  // Long enough for the last windows of 2020 (deadline up to a week into 2021).
  for (let t = fromMs; t < toMs + 8 * DAY_MS; t += 2 * SLOT_MS) hourly.push((last = byMs.get(t) ?? last));
  const ci = interpolateHourly(hourly);
  let jobs = lwaJobs(fromMs, toMs, 'lets-wait-awhile', rule);
  jobs = jobs.filter((_, i) => i % sample === 0);
  // One unit of power per job: 1 kW. No battery, price 0: the objective is carbon alone.
  const site = siteConfig({ itCapacityKw: 1_000_000, importCapKw: 2_000_000, battery: { powerKw: 0, energyKwh: 1 } });
  const options: PlanOptions = { deterministic: true, inWorker: false, mode: 'full', reserveFraction: 0 };
  const price = new Array<number>(ci.length).fill(0);
  const signals = { startMs: fromMs, priceGbpPerMwh: price, intensityGPerKwh: ci };
  let base = 0;
  let optC = 0;
  let optI = 0;
  let plC = 0;
  let plI = 0;
  let offC = 0;
  let offI = 0;
  let changed = { c: 0, i: 0 };
  let maxWindow = 0;
  const t0 = performance.now();
  for (const [n, j] of jobs.entries()) {
    const first = Math.round((j.arrivalMs - fromMs) / SLOT_MS);
    const lastEnd = Math.round((j.deadlineMs - fromMs) / SLOT_MS);
    maxWindow = Math.max(maxWindow, (j.deadlineMs - j.arrivalMs) / HOUR_MS);
    let b = 0;
    for (let k = 0; k < j.durationSlots; k++) b += ci[first + k]!;
    base += b;
    const o = perJobOptimum(ci, first, j.durationSlots, lastEnd);
    optC += o.contiguous;
    optI += o.interruptible;
    for (const preemptible of [false, true]) {
      const job: Job = { id: `lwa-${j.id}`, class: 'training', powerKw: 1, runtimeMin: j.durationSlots * 30, earliestStartMs: j.arrivalMs, deadlineMs: j.deadlineMs, slaClass: 'bronze', preemptible };
      const p = await plan({ nowMs: j.arrivalMs, site, jobs: [job], signals, batterySocKwh: 0 }, options);
      const jp = p.jobs[0]!;
      let g = 0;
      for (const r of jp.runs) g += r.kw * ci[first + r.slot]!;
      if (jp.kind !== 'scheduled' || Math.abs(jp.runs.reduce((a, r) => a + r.kw, 0) - j.durationSlots) > 1e-6) throw new Error(`job ${j.id}: the planner did not schedule all of it (${jp.kind})`);
      if (!preemptible && jp.startMs !== null && jp.startMs > j.arrivalMs) {
        // Re-plan at the planned start with the same information: it must start now.
        const again = await plan({ nowMs: jp.startMs, site, jobs: [{ ...job, earliestStartMs: jp.startMs }], signals, batterySocKwh: 0 }, options);
        if (again.jobs[0]!.startMs !== jp.startMs) changed = { ...changed, c: changed.c + 1 };
      }
      if (preemptible) {
        plI += g;
        if (g > o.interruptible + 1e-6 * Math.max(1, o.interruptible)) offI++;
      } else {
        plC += g;
        if (g > o.contiguous + 1e-6 * Math.max(1, o.contiguous)) offC++;
      }
    }
    if (n % 200 === 0) console.log(`  lets-wait-awhile: ${n}/${jobs.length} jobs, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const pct = (x: number) => Number((100 * (1 - x / base)).toFixed(3));
  return {
    jobs: jobs.length,
    rule,
    maxWindowH: maxWindow,
    baselineG: base,
    variants: {
      nonInterruptible: { optimumSavedPct: pct(optC), plannerSavedPct: pct(plC), jobsOffOptimum: offC, replanChanged: changed.c },
      interruptible: { optimumSavedPct: pct(optI), plannerSavedPct: pct(plI), jobsOffOptimum: offI, replanChanged: changed.i },
    },
  };
}
