/**
 * plan(input, options): the planner's one entry point. Builds the MILP for the horizon,
 * warm-starts it from the previous plan, solves it in the worker with a time limit and gap,
 * decodes, and checks the result with the independent validator. Whatever happens it returns
 * a plan; `status` and `solver` say how it was made.
 */
import { type Horizon, type Item, SLOT_H, SLOT_MS, makeHorizon, toItem } from './horizon.ts';
import { type Formulation, columnCount, formulate, hintFromSchedule, isRoomyStart } from './formulation.ts';
import { integerCount } from './model-builder.ts';
import { greedySchedule } from './greedy.ts';
import { decode } from './decode.ts';
import { evaluate } from './evaluate.ts';
import { type JobSchedule, type Schedule, scheduleRuns, scheduleStart } from './schedule.ts';
import { type SolveRequest, type SolveResponse, solveSparse } from './solver-core.ts';
import { solvePlanInWorker } from './worker-client.ts';
import { metricsHooks } from '../../../core/observability/index.ts';
import { validatePlan } from './validate-plan.ts';
import type { PlanInput, PlanJob, PlanOptions, PlanResult, PlanStatus, SolveInfo, WorkLimit } from './types.ts';
import { HOUR_MS } from '../../../core/time/index.ts';

export const DEFAULT_PLAN_OPTIONS = {
  horizonSlots: 96,
  maxHorizonSlots: 336,
  timeLimitS: 10,
  deterministic: false,
  safetyTimeLimitS: 120,
  mipRelGap: 0.01,
  mode: 'auto',
  fullEveryMs: 6 * HOUR_MS,
  inWorker: true,
  decomposeAboveColumns: 60_000,
  terminalSocFraction: 0.5,
  reserveFraction: 0.15,
} as const satisfies Required<Omit<PlanOptions, 'workLimit'>>;

/**
 * The work limit a deterministic plan uses when none is given. The default site's re-plans and
 * the 100–10,000-job scaling instances are solved at the root node with a few thousand simplex
 * iterations (bench/results/schedule.json), so this only stops pathological instances, and
 * does so at the same point on every machine; see the README.
 */
export const DETERMINISTIC_WORK_LIMIT: WorkLimit = { mipNodes: 500, lpIterations: 200_000 };

type Options = Required<Omit<PlanOptions, 'workLimit'>> & { readonly workLimit: WorkLimit | undefined };

function resolveOptions(options: PlanOptions): Options {
  const o = { ...DEFAULT_PLAN_OPTIONS, ...options };
  const workLimit = options.workLimit ?? (o.deterministic ? DETERMINISTIC_WORK_LIMIT : undefined);
  // Deterministic: the wall clock is only a safety net; the work limit is what bounds the solve.
  return { ...o, timeLimitS: o.deterministic ? o.safetyTimeLimitS : o.timeLimitS, workLimit };
}

const WORK_LIMIT_STATUSES = new Set(['Solution limit reached', 'Iteration limit reached']);

/** The plan status for a HiGHS outcome: whether it is the solver's plan, and what stopped it. */
export function statusOf(modelStatus: string, hasSolution: boolean): PlanStatus {
  const work = WORK_LIMIT_STATUSES.has(modelStatus);
  if (hasSolution) return modelStatus === 'Optimal' ? 'optimal' : work ? 'work-limit-incumbent' : 'time-limit-incumbent';
  return work ? 'work-limit-greedy' : modelStatus === 'Time limit reached' ? 'time-limit-greedy' : 'error-greedy';
}

/** The worse of two statuses, for a plan made of several solves. */
function worse(a: PlanStatus, b: PlanStatus): PlanStatus {
  const rank: PlanStatus[] = ['optimal', 'work-limit-incumbent', 'time-limit-incumbent', 'work-limit-greedy', 'time-limit-greedy', 'error-greedy', 'greedy'];
  return rank.indexOf(a) >= rank.indexOf(b) ? a : b;
}
/** Above this many integer columns the MIP is solved by relax-and-fix rather than whole. */
const RELAX_AND_FIX_ABOVE = 1_500;

/** Schedules from the previous plan that are still valid now: the incumbent to keep. */
export function keepFromPrevious(h: Horizon, items: ReadonlyArray<Item>, prev: PlanResult | undefined): Map<string, JobSchedule> {
  const keep = new Map<string, JobSchedule>();
  if (!prev || prev.horizonSlots <= 0) return keep;
  const shift = Math.round((h.t0 - prev.nowMs) / SLOT_MS);
  if (shift < 0) return keep;
  const byId = new Map(prev.jobs.map((j) => [j.jobId, j]));
  for (const it of items) {
    const jp = byId.get(it.job.id);
    if (!jp) continue;
    if (it.kind === 'start') {
      if (jp.kind !== 'scheduled' || jp.startMs === null) continue;
      const slot = Math.round((jp.startMs - h.t0) / SLOT_MS);
      if (slot < it.earliest || slot >= h.n) continue;
      if (it.fixedStart && slot !== it.earliest) continue;
      keep.set(it.job.id, scheduleStart(h, it, slot));
    } else if (it.kind === 'run') {
      if (jp.kind === 'unplaced') continue;
      const runKw = new Float64Array(h.n);
      let kwh = 0;
      let ok = true;
      for (const r of jp.runs) {
        const s = r.slot - shift;
        if (s < 0) continue;
        if (s >= h.n || s < it.earliest) {
          ok = false;
          break;
        }
        runKw[s] = r.kw;
        kwh += r.kw * SLOT_H;
      }
      const tol = 1e-6 * Math.max(1, it.remKwh) + 1e-6;
      if (!ok || Math.abs(kwh + jp.deferredKwh - it.remKwh) > tol || jp.deferredKwh > it.deferCapKwh + tol) continue;
      keep.set(it.job.id, scheduleRuns(it, runKw, jp.deferredKwh));
    }
  }
  return keep;
}

function solveInfo(mode: SolveInfo['mode'], f: Formulation | null, res: SolveResponse | null, buildMs: number, totalMs: number, message?: string): SolveInfo {
  const objective = res?.objective ?? null;
  const bound = res?.bound ?? null;
  const gap = objective !== null && bound !== null ? Math.max(0, objective - bound) / Math.max(1e-9, Math.abs(objective)) : null;
  return {
    mode,
    modelStatus: res?.modelStatus ?? 'not solved',
    objectiveGbp: objective,
    boundGbp: bound,
    gap,
    buildMs,
    solveMs: res?.solveMs ?? 0,
    totalMs,
    columns: f?.model.numCols ?? 0,
    integerColumns: f ? integerCount(f.model) : 0,
    rows: f?.model.numRows ?? 0,
    groups: f ? f.startGroups.length + f.runGroups.length : 0,
    mipNodes: res?.mipNodes ?? 0,
    lpIterations: res?.lpIterations ?? 0,
    ...(res?.polishedGbp !== undefined ? { polishedGbp: res.polishedGbp } : {}),
    ...(message !== undefined ? { message } : {}),
  };
}

function addLeftovers(h: Horizon, sched: Schedule, leftovers: ReadonlyArray<Item>): Schedule {
  if (leftovers.length === 0) return sched;
  const g = greedySchedule(h, leftovers, [...sched.jobs.values()]);
  return { jobs: g.jobs, chargeKw: sched.chargeKw, dischargeKw: sched.dischargeKw };
}

/**
 * Below this much of the time budget left, a window of a decomposed plan is not solved: it and
 * every window after it are placed greedily at once. Each solve overruns its limit by the cost
 * of passing the model to HiGHS (~0.3–0.5 s at 30,000 columns), so without this a plan of many
 * windows took 0.5 s a window past its deadline: 3× the time limit in a tenant's 1,000-job case.
 */
export const MIN_WINDOW_SOLVE_S = 0.5;

/** A turn for the event loop between the planner's long synchronous steps (model building, validation). */
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Large instances: partition the jobs by release into windows and solve them in release order,
 * each with the windows before it fixed (a rolling decomposition). The battery is re-optimised
 * in every window; the last window's battery plan is the plan's. Each window gets an equal
 * share of what is left of the time budget; once less than MIN_WINDOW_SOLVE_S is left (never in
 * deterministic mode, whose plans may not depend on the clock), the windows left are placed
 * greedily, so the plan ends near its time limit however many windows there are.
 */
async function decomposed(
  input: PlanInput,
  o: Options,
  h: Horizon,
  items: ReadonlyArray<Item>,
  jobsById: ReadonlyMap<string, PlanJob>,
  t0: number,
  totalColumns: number,
): Promise<PlanResult> {
  const fixedItems = items.filter((it) => it.kind === 'fixed');
  const free = items
    .filter((it): it is Exclude<Item, { kind: 'fixed' }> => it.kind !== 'fixed')
    .sort((a, b) => a.earliest - b.earliest || a.job.deadlineMs - b.job.deadlineMs || (a.job.id < b.job.id ? -1 : 1));
  const parts = Math.max(2, Math.ceil(totalColumns / (o.decomposeAboveColumns / 2)));
  const size = Math.ceil(free.length / parts);
  const keep = new Map<string, JobSchedule>();
  let last: { sched: Schedule; res: SolveResponse | null; f: Formulation | null } | null = null;
  let worst: PlanStatus = 'optimal';
  let mipNodes = 0;
  let lpIterations = 0;
  const deadline = t0 + o.timeLimitS * 1000;
  let greedyFrom = -1;
  for (let k = 0; k < parts; k++) {
    const chunk = free.slice(k * size, (k + 1) * size);
    if (chunk.length === 0 && k < parts - 1) continue;
    await breathe();
    if (!o.deterministic && (deadline - performance.now()) / 1000 < MIN_WINDOW_SOLVE_S) {
      greedyFrom = k;
      break;
    }
    const sub = [...fixedItems, ...free.slice(0, k * size), ...chunk];
    const f = formulate(h, sub, { socInitKwh: input.batterySocKwh, terminalSocFraction: o.terminalSocFraction, reserveKw: o.reserveFraction * input.site.itCapacityKw, keep, ...(input.carbonCapGPerKwh !== undefined ? { carbonCapGPerKwh: input.carbonCapGPerKwh } : {}) });
    const hint = hintFromSchedule(f, greedySchedule(h, sub, f.fixed));
    const remainingS = (deadline - performance.now()) / 1000;
    const left = o.deterministic ? Math.max(0.5, remainingS) : Math.max(0.5, remainingS / (parts - k));
    const ints = integerCount(f.model);
    const req: SolveRequest = { model: f.model, hint, timeLimitS: left, mipRelGap: o.mipRelGap, strategy: ints === 0 ? 'lp' : ints > RELAX_AND_FIX_ABOVE ? 'relax-and-fix' : 'mip', polish: holdsSoldCap(h), ...(o.workLimit ? { workLimit: o.workLimit } : {}) };
    let res: SolveResponse;
    try {
      res = o.inWorker ? await solvePlanInWorker(req) : await solveSparse(req);
    } catch {
      res = { ok: false, modelStatus: 'Time limit reached', x: null, objective: null, bound: null, lpBound: null, solveMs: 0, fixedColumns: 0, mipNodes: 0, lpIterations: 0 };
    }
    // The solver's own timing: a metric only, never an input to the plan.
    metricsHooks.solved(res.solveMs, res.modelStatus);
    mipNodes += res.mipNodes;
    lpIterations += res.lpIterations;
    let sched: Schedule;
    if (res.ok && res.x) {
      const d = decode(f, res.x);
      sched = addLeftovers(h, d.schedule, d.leftovers);
      worst = worse(worst, statusOf(res.modelStatus, true));
    } else {
      sched = greedySchedule(h, chunk, [...f.fixed]);
      worst = worse(worst, res.ok ? statusOf(res.modelStatus, false) : 'time-limit-greedy');
    }
    for (const it of chunk) {
      const js = sched.jobs.get(it.job.id);
      if (js) keep.set(it.job.id, js);
    }
    last = { sched, res, f };
  }
  let message = `${parts} windows by release`;
  if (greedyFrom >= 0) {
    // Out of time: the rest in one greedy pass around what is placed. Its battery is idle, as a
    // window that falls back to greedy leaves it, so the last battery plan cannot clash with it.
    const rest = free.slice(greedyFrom * size);
    const g = greedySchedule(h, [...fixedItems, ...rest], [...keep.values()]);
    for (const it of rest) {
      const js = g.jobs.get(it.job.id);
      if (js) keep.set(it.job.id, js);
    }
    last = { sched: g, res: last?.res ?? null, f: last?.f ?? null };
    worst = worse(worst, 'time-limit-greedy');
    message += `; the last ${parts - greedyFrom} placed greedily, the time limit reached`;
  }
  const sched: Schedule = { jobs: new Map([...last!.sched.jobs, ...keep]), chargeKw: last!.sched.chargeKw, dischargeKw: last!.sched.dischargeKw };
  // A window's LP bound holds only with the earlier windows fixed, not for the whole: no bound is claimed.
  const info = solveInfo('decomposed', last!.f, last!.res ? { ...last!.res, bound: null, mipNodes, lpIterations } : null, 0, 0, message);
  await breathe();
  const result = evaluate(h, jobsById, items, sched, input.batterySocKwh, worst, { ...info, totalMs: performance.now() - t0 }, h.t0);
  await breathe();
  const problems = validatePlan(result, input.jobs, input.site, input.signals, { batterySocKwh: input.batterySocKwh, importCapKw: Array.from(h.importCapKw) });
  if (problems.length > 0) {
    return evaluate(h, jobsById, items, greedySchedule(h, items), input.batterySocKwh, 'error-greedy', { ...info, message: `decomposed plan failed validation: ${problems[0]!.message}`, totalMs: performance.now() - t0 }, h.t0);
  }
  return result;
}

/**
 * Slots to plan: at least `horizonSlots`; longer, up to `maxHorizonSlots`, when a job's deadline
 * lies beyond it AND the signals reach that far (a forecast extended by a long-range estimate):
 * a job whose window is longer than the horizon is otherwise planned short-sightedly (its work
 * beyond the horizon priced at the horizon's mean). Signals that stop at the minimum horizon
 * give the minimum horizon, exactly as before.
 */
export function horizonLength(input: PlanInput, minSlots: number, maxSlots: number): number {
  const t0 = Math.floor(input.nowMs / SLOT_MS) * SLOT_MS;
  const off = Math.round((t0 - input.signals.startMs) / SLOT_MS);
  const available = Math.min(input.signals.priceGbpPerMwh.length, input.signals.intensityGPerKwh.length) - off;
  let need = minSlots;
  for (const j of input.jobs) if (j.class !== 'serving') need = Math.max(need, Math.ceil((j.deadlineMs - t0) / SLOT_MS - 1e-9));
  return Math.max(minSlots, Math.min(need, maxSlots, available));
}

/**
 * Whether the plan runs under flexibility sold (a priced soft cap in some slot). Its MIP is then
 * polished (`SolveRequest.polish`): the MIP stops within `mipRelGap` of its bound, 1 % of a
 * 48 h bill (≈ £50 at the default site), which is more than a sold window's shortfall costs
 * (≈ £27 for 180 kW over half an hour at £300/MWh): the incumbent, often the greedy start, could
 * leave a cap breached that the battery alone would have met. Plans without a sale are not
 * polished, so the schedule benchmarks' plans are the same as before.
 */
function holdsSoldCap(h: Horizon): boolean {
  for (let s = 0; s < h.n; s++) if (h.flexBreachPerKwh[s]! > 0) return true;
  return false;
}

/**
 * kWh the plan imports above the caps of flexibility sold (slots with a breach price). An
 * incremental plan keeps the last plan's starts and runs, preemptible ones too, so tight jobs
 * that arrive after a sale are placed around work that could have made room for them: in the
 * default week a kept 40-minute job with an hour's slack stayed in the sold half-hour and the
 * import went 82 kW over the cap, with 0.15 MWh of work able to leave it.
 */
function soldCapShortKwh(h: Horizon, result: PlanResult): number {
  let kwh = 0;
  for (let s = 0; s < Math.min(h.n, result.slots.length); s++) {
    if (h.flexBreachPerKwh[s]! > 0) kwh += Math.max(0, result.slots[s]!.siteKw - h.flexCapKw[s]!) * SLOT_H;
  }
  return kwh;
}

/** A sold cap missed by less than this (kWh over a plan) is rounding, not a shortfall worth a second solve. */
const SOLD_CAP_TOLERANCE_KWH = 0.5;

/** Solved as one model to an incumbent HiGHS found: not decomposed, not greedy. */
function solvedWhole(p: PlanResult): boolean {
  return p.solver.mode === 'full' && (p.status === 'optimal' || p.status === 'work-limit-incumbent' || p.status === 'time-limit-incumbent');
}

/** The plan with a note on how it was made, timed from `t0` (the start of the whole plan). */
function noted(p: PlanResult, why: string, t0: number): PlanResult {
  return { ...p, solver: { ...p.solver, totalMs: performance.now() - t0, message: p.solver.message ? `${p.solver.message}; ${why}` : why } };
}

/** Whether `a` leaves fewer jobs unplaced, or as many and fewer late, or as many of both and less lateness, than `b`. */
function missesLess(a: PlanResult, b: PlanResult): boolean {
  const x = a.totals;
  const y = b.totals;
  if (x.unplacedJobs !== y.unplacedJobs) return x.unplacedJobs < y.unplacedJobs;
  if (x.lateJobs !== y.lateJobs) return x.lateJobs < y.lateJobs;
  return x.latenessPenaltyGbp < y.latenessPenaltyGbp - 1e-6;
}

export async function plan(input: PlanInput, options: PlanOptions = {}): Promise<PlanResult> {
  const o = resolveOptions(options);
  const t0 = performance.now();
  const h = makeHorizon(input, horizonLength(input, o.horizonSlots, Math.max(o.horizonSlots, o.maxHorizonSlots)));
  const jobsById = new Map<string, PlanJob>(input.jobs.map((j) => [j.id, j]));
  const items = input.jobs.map((j) => toItem(h, j)).filter((x): x is Item => x !== null);
  const prev = input.previous;
  const socInitKwh = input.batterySocKwh;

  /**
   * The reserve keeps room for tight jobs still to arrive; it must never make a known job late.
   * It is a hard row for roomy non-preemptible jobs, so a job above 85 % of capacity could not
   * be placed until its slack fell under 2 h, and roomy jobs kept apart pushed a tight one late
   * (a helper's review: 30 and 78 minutes late on an idle default site). A plan with a miss is
   * made again without it, whole or decomposed, and taken when it misses less.
   */
  const withoutReserveIfItMisses = async (made: PlanResult): Promise<PlanResult> => {
    if (!(o.reserveFraction > 0) || (made.totals.lateJobs === 0 && made.totals.unplacedJobs === 0)) return made;
    // The reserve binds roomy starts only: without one, the plan without it is the same plan.
    if (!items.some(isRoomyStart)) return made;
    const open = await plan(input, { ...options, mode: 'full', reserveFraction: 0 });
    if (!missesLess(open, made)) return made;
    // Said in the plan, with the time of both solves: the operator sees why this plan took longer.
    const why = `made again without the reserve (with it: ${made.totals.unplacedJobs} unplaced, ${made.totals.lateJobs} late)`;
    return noted(open, why, t0);
  };

  const finish = (sched: Schedule, status: PlanStatus, info: SolveInfo, lastFullMs: number): PlanResult =>
    evaluate(h, jobsById, items, sched, socInitKwh, status, { ...info, totalMs: performance.now() - t0 }, lastFullMs);

  const greedyPlan = (status: PlanStatus, f: Formulation | null, res: SolveResponse | null, buildMs: number, message?: string) =>
    finish(greedySchedule(h, items), status, solveInfo('greedy', f, res, buildMs, 0, message), prev?.lastFullMs ?? h.t0);

  if (o.mode === 'greedy') return greedyPlan('greedy', null, null, 0);

  const prevUsable = prev !== undefined && prev.status !== 'error-greedy' && prev.status !== 'time-limit-greedy' && prev.status !== 'work-limit-greedy' && prev.status !== 'greedy';
  const incremental = o.mode === 'incremental' ? prevUsable : o.mode === 'auto' && prevUsable && h.t0 - prev.lastFullMs < o.fullEveryMs;
  const kept = keepFromPrevious(h, items, prev);
  // Sized in both modes: an incremental plan was never decomposed, so one tenant's 1,000 new
  // jobs went into one model (28-38 s, the event loop held 11-22 s), and three tenants' into one
  // too large for V8's arrays (a fatal error that ended the process). Too large to add to the
  // last plan, the plan is made afresh, decomposed.
  const cap = input.carbonCapGPerKwh !== undefined ? { carbonCapGPerKwh: input.carbonCapGPerKwh } : {};
  const columns = columnCount(h, items, incremental ? { ...cap, keep: kept } : cap);
  if (columns > o.decomposeAboveColumns) return withoutReserveIfItMisses(await decomposed(input, o, h, items, jobsById, t0, incremental ? columnCount(h, items, cap) : columns));
  const f = formulate(h, items, {
    socInitKwh,
    terminalSocFraction: o.terminalSocFraction,
    reserveKw: o.reserveFraction * input.site.itCapacityKw,
    ...(input.carbonCapGPerKwh !== undefined ? { carbonCapGPerKwh: input.carbonCapGPerKwh } : {}),
    ...(incremental ? { keep: kept } : {}),
  });
  // Warm start: still-valid starts from the last plan, the rest placed greedily around them.
  const hintSched = greedySchedule(h, items, incremental ? f.fixed : [...f.fixed, ...kept.values()]);
  const hint = hintFromSchedule(f, hintSched);
  const ints = integerCount(f.model);
  const req: SolveRequest = {
    model: f.model,
    hint,
    timeLimitS: o.timeLimitS,
    mipRelGap: o.mipRelGap,
    strategy: ints === 0 ? 'lp' : ints > RELAX_AND_FIX_ABOVE ? 'relax-and-fix' : 'mip',
    polish: holdsSoldCap(h),
    ...(o.workLimit ? { workLimit: o.workLimit } : {}),
  };
  const buildMs = performance.now() - t0;
  const mode: SolveInfo['mode'] = incremental ? 'incremental' : 'full';
  const lastFullMs = incremental ? prev!.lastFullMs : h.t0;

  let res: SolveResponse;
  try {
    res = o.inWorker ? await solvePlanInWorker(req) : await solveSparse(req);
    metricsHooks.solved(res.solveMs, res.modelStatus);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const timeout = (e as { _tag?: string })._tag === 'SolverTimeoutError';
    return greedyPlan(timeout ? 'time-limit-greedy' : 'error-greedy', f, null, buildMs, msg);
  }
  if (!res.ok || !res.x) {
    return greedyPlan(res.ok ? statusOf(res.modelStatus, false) : 'error-greedy', f, res, buildMs, res.error ?? `no solution: ${res.modelStatus}`);
  }
  const { schedule, leftovers } = decode(f, res.x);
  const sched = addLeftovers(h, schedule, leftovers);
  const status = statusOf(res.modelStatus, true);
  let result = finish(sched, status, solveInfo(mode, f, res, buildMs, 0, leftovers.length ? `${leftovers.length} job(s) placed greedily after the solve` : undefined), lastFullMs);
  if (incremental && result.totals.lateJobs > 0) {
    // A job the kept starts leave no on-time room for: re-plan everything, not just the newcomers.
    return plan(input, { ...options, mode: 'full' });
  }
  const short = soldCapShortKwh(h, result);
  if (incremental && short > SOLD_CAP_TOLERANCE_KWH) {
    // A sale is a promise: every job is free to move again before it is broken. The full plan
    // is taken only if it was solved whole (a decomposed or greedy plan can cost more than the
    // shortfall it saves), misses no more jobs and falls short by less. While a shortfall no
    // plan can avoid stays in the horizon, each re-plan solves twice; the plan says so.
    const full = await plan(input, { ...options, mode: 'full' });
    const fullShort = soldCapShortKwh(h, full);
    if (solvedWhole(full) && !missesLess(result, full) && fullShort < short - SOLD_CAP_TOLERANCE_KWH) {
      return noted(full, `made again in full: the incremental plan fell ${short.toFixed(1)} kWh short of flexibility sold (${fullShort.toFixed(1)} now)`, t0);
    }
    result = noted(result, `${short.toFixed(1)} kWh short of flexibility sold; a full re-plan was tried (${full.solver.mode}, ${full.status}, ${fullShort.toFixed(1)} kWh short) and not taken`, t0);
  }
  const chosen = await withoutReserveIfItMisses(result);
  if (chosen !== result) return chosen;
  const problems = validatePlan(result, input.jobs, input.site, input.signals, { batterySocKwh: socInitKwh, importCapKw: Array.from(h.importCapKw) });
  if (problems.length > 0) {
    const fallback = greedyPlan('error-greedy', f, res, buildMs, `solver plan failed validation: ${problems.slice(0, 3).map((p) => p.message).join('; ')}`);
    return fallback;
  }
  return result;
}
