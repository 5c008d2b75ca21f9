/**
 * Runs HiGHS on a sparse model. This is the only place that touches the solver; it runs
 * inside the worker (or in-process for tools and tests). It never throws for a solver
 * outcome: every result is a value with the model status HiGHS gave.
 */
import { createRequire } from 'node:module';
import type { Highs, ModelData } from 'highs';
import type { SparseModel } from './model-builder.ts';

export interface SolveRequest {
  readonly model: SparseModel;
  /** A full column vector HiGHS checks and, if feasible, keeps as the first incumbent. */
  readonly hint?: Float64Array;
  readonly timeLimitS: number;
  readonly mipRelGap: number;
  /**
   * 'mip': branch and bound on the whole model. 'relax-and-fix': solve the LP relaxation (its
   * objective is a valid lower bound), fix every integer column the LP left integral, and
   * branch only on the rest. 'lp': the relaxation alone.
   */
  readonly strategy: 'mip' | 'relax-and-fix' | 'lp';
  /** Deterministic limits on the solver's work, independent of machine speed and load. */
  readonly workLimit?: WorkLimit;
  /**
   * After a MIP solve, fix its integer columns and solve the LP of the rest to optimality (see
   * `polish`). The MIP stops once within `mipRelGap` of its bound, a share of the whole
   * horizon's cost: the continuous decisions of the incumbent (the battery above all) can be off
   * by that much.
   */
  readonly polish?: boolean;
}

/**
 * Work limits HiGHS counts rather than times, so a limit that is hit is hit at the same point
 * on any machine. The wasm build honours `mip_max_nodes` (model status "Solution limit
 * reached") and, for LP solves, `simplex_iteration_limit` ("Iteration limit reached"); inside
 * branch and bound it ignores the simplex limit (measured), so it is applied to LP solves only.
 */
export interface WorkLimit {
  /** Branch-and-bound nodes per MIP solve (HiGHS `mip_max_nodes`; the root counts as one). */
  readonly mipNodes?: number;
  /** Simplex iterations per LP solve (HiGHS `simplex_iteration_limit`). */
  readonly lpIterations?: number;
}

export interface SolveResponse {
  readonly ok: boolean;
  readonly modelStatus: string;
  readonly x: Float64Array | null;
  readonly objective: number | null;
  /** Best proven lower bound: the MIP dual bound or the LP relaxation's objective. */
  readonly bound: number | null;
  /** The LP relaxation's objective, when it was solved. */
  readonly lpBound: number | null;
  readonly solveMs: number;
  readonly fixedColumns: number;
  /** Work done: branch-and-bound nodes and simplex iterations over every HiGHS run of this solve. */
  readonly mipNodes: number;
  readonly lpIterations: number;
  /** The objective the polish removed (≥ 0), when it ran and found a better point. */
  readonly polishedGbp?: number;
  readonly error?: string;
}

export interface LpTextResponse {
  readonly ok: boolean;
  readonly modelStatus: string;
  readonly objective: number | null;
  readonly columns: Record<string, number>;
  readonly error?: string;
}

const STATUS_NAMES: Record<number, string> = {
  0: 'Not Set', 1: 'Load error', 2: 'Model error', 3: 'Presolve error', 4: 'Solve error', 5: 'Postsolve error', 6: 'Empty',
  7: 'Optimal', 8: 'Infeasible', 9: 'Primal infeasible or unbounded', 10: 'Unbounded', 11: 'Bound on objective reached',
  12: 'Target for objective reached', 13: 'Time limit reached', 14: 'Iteration limit reached', 15: 'Unknown',
  16: 'Solution limit reached', 17: 'Interrupted',
};

// The CommonJS build: its typings describe a default export that NodeNext resolution cannot call.
const loadHighs = createRequire(import.meta.url)('highs') as () => Promise<Highs>;

let highsPromise: Promise<Highs> | null = null;
export function getHighs(): Promise<Highs> {
  highsPromise ??= loadHighs();
  return highsPromise;
}

function toModelData(m: SparseModel, integer: boolean, lower = m.colLower, upper = m.colUpper): ModelData {
  return {
    numCols: m.numCols,
    numRows: m.numRows,
    offset: m.offset,
    colCost: m.colCost,
    colLower: lower,
    colUpper: upper,
    rowLower: m.rowLower,
    rowUpper: m.rowUpper,
    matrix: { format: 'csc', numRows: m.numRows, numCols: m.numCols, starts: m.starts, indices: m.indices, values: m.values },
    ...(integer ? { integrality: m.integrality } : {}),
  };
}

function hasInteger(m: SparseModel): boolean {
  for (let j = 0; j < m.numCols; j++) if (m.integrality[j]) return true;
  return false;
}

interface RunOut {
  status: string;
  x: Float64Array | null;
  objective: number | null;
  bound: number | null;
  nodes: number;
  iterations: number;
}

function infoNumber(model: { info: { get(name: string): number | bigint } }, name: string): number {
  try {
    const v = Number(model.info.get(name));
    return Number.isFinite(v) && v > 0 ? v : 0;
  } catch {
    return 0;
  }
}

/** HiGHS options for a run: the time limit always, the work limit that applies to this kind of solve. */
function runOptions(timeLimitS: number, mipRelGap: number, mip: boolean, work: WorkLimit | undefined): Record<string, number | boolean | string> {
  const o: Record<string, number | boolean | string> = { output_flag: false, time_limit: Math.max(0.05, timeLimitS), mip_rel_gap: mipRelGap };
  if (mip && work?.mipNodes !== undefined) o['mip_max_nodes'] = Math.max(1, Math.floor(work.mipNodes));
  if (!mip && work?.lpIterations !== undefined) {
    // The iteration limit counts simplex iterations: make sure the LP is solved by simplex.
    o['solver'] = 'simplex';
    o['simplex_iteration_limit'] = Math.max(1, Math.floor(work.lpIterations));
  }
  return o;
}

function runOnce(highs: Highs, data: ModelData, timeLimitS: number, mipRelGap: number, mip: boolean, hint?: Float64Array, work?: WorkLimit): RunOut {
  const model = highs.createModel(data);
  try {
    model.options.set(runOptions(timeLimitS, mipRelGap, mip, work));
    if (hint && hint.length === data.numCols) {
      try {
        model.setSolution({ colValue: hint });
      } catch {
        // An unusable hint only costs the warm start.
      }
    }
    const r = model.run();
    const status = STATUS_NAMES[r.modelStatus] ?? `status ${r.modelStatus}`;
    const primal = Number(model.info.get('primal_solution_status'));
    const x = primal === 2 ? model.getSolution().colValue : null;
    const objective = x ? model.getObjectiveValue() : null;
    let bound: number | null = null;
    if (mip) {
      const b = Number(model.info.get('mip_dual_bound'));
      bound = Number.isFinite(b) ? b : null;
    } else if (status === 'Optimal') bound = objective;
    return { status, x, objective, bound, nodes: mip ? infoNumber(model, 'mip_node_count') : 0, iterations: infoNumber(model, 'simplex_iteration_count') };
  } finally {
    model.dispose();
  }
}

/**
 * The LP of the continuous columns with every integer column fixed at the MIP's value, from
 * the MIP's point: what the incumbent's starts allow at best. Kept only if it is optimal and
 * no dearer; otherwise the MIP's answer stands.
 */
function polish(highs: Highs, m: SparseModel, r: SolveResponse, req: SolveRequest): SolveResponse {
  if (!req.polish || !r.x || r.objective === null || !hasInteger(m)) return r;
  const lower = Float64Array.from(m.colLower);
  const upper = Float64Array.from(m.colUpper);
  for (let j = 0; j < m.numCols; j++) {
    if (!m.integrality[j]) continue;
    const v = Math.round(r.x[j]!);
    lower[j] = v;
    upper[j] = v;
  }
  const lp = runOnce(highs, toModelData(m, false, lower, upper), req.timeLimitS, req.mipRelGap, false, undefined, req.workLimit);
  const lpIterations = r.lpIterations + lp.iterations;
  // A relative tolerance: an LP that only re-finds the same point is not a change.
  if (lp.status !== 'Optimal' || !lp.x || lp.objective === null || !(lp.objective < r.objective - 1e-9 * Math.max(1, Math.abs(r.objective)))) return { ...r, lpIterations };
  return { ...r, x: lp.x, objective: lp.objective, lpIterations, polishedGbp: r.objective - lp.objective };
}

export async function solveSparse(req: SolveRequest): Promise<SolveResponse> {
  const t0 = performance.now();
  try {
    const highs = await getHighs();
    const r = solveWith(highs, req, t0);
    return r.ok ? { ...polish(highs, req.model, r, req), solveMs: performance.now() - t0 } : r;
  } catch (e) {
    return { ok: false, modelStatus: 'Solve error', x: null, objective: null, bound: null, lpBound: null, solveMs: performance.now() - t0, fixedColumns: 0, mipNodes: 0, lpIterations: 0, error: e instanceof Error ? e.message : String(e) };
  }
}

function solveWith(highs: Highs, req: SolveRequest, t0: number): SolveResponse {
  const work = req.workLimit;
  const m = req.model;
  const isMip = hasInteger(m);
  const strategy = !isMip ? 'lp' : req.strategy;
  if (strategy !== 'relax-and-fix') {
    const r = runOnce(highs, toModelData(m, strategy === 'mip'), req.timeLimitS, req.mipRelGap, strategy === 'mip', req.hint, work);
    return { ok: true, modelStatus: r.status, x: r.x, objective: r.objective, bound: r.bound, lpBound: strategy === 'lp' ? r.bound : null, solveMs: performance.now() - t0, fixedColumns: 0, mipNodes: r.nodes, lpIterations: r.iterations };
  }
  const lp = runOnce(highs, toModelData(m, false), req.timeLimitS, req.mipRelGap, false, undefined, work);
  if (lp.status === 'Iteration limit reached') {
    // The work limit stopped the relaxation: branching on the whole model instead would undo the limit.
    return { ok: true, modelStatus: lp.status, x: null, objective: null, bound: null, lpBound: null, solveMs: performance.now() - t0, fixedColumns: 0, mipNodes: 0, lpIterations: lp.iterations };
  }
  if (lp.status !== 'Optimal' || !lp.x) {
    const left = req.timeLimitS - (performance.now() - t0) / 1000;
    const r = runOnce(highs, toModelData(m, true), left, req.mipRelGap, true, req.hint, work);
    return { ok: true, modelStatus: r.status, x: r.x, objective: r.objective, bound: r.bound, lpBound: null, solveMs: performance.now() - t0, fixedColumns: 0, mipNodes: r.nodes, lpIterations: lp.iterations + r.iterations };
  }
  const lower = Float64Array.from(m.colLower);
  const upper = Float64Array.from(m.colUpper);
  let fixedColumns = 0;
  for (let j = 0; j < m.numCols; j++) {
    if (!m.integrality[j]) continue;
    const v = lp.x[j]!;
    const r = Math.round(v);
    if (Math.abs(v - r) < 1e-6) {
      lower[j] = r;
      upper[j] = r;
      fixedColumns++;
    } else {
      lower[j] = Math.max(m.colLower[j]!, Math.floor(v));
      upper[j] = Math.min(m.colUpper[j]!, Math.ceil(v));
    }
  }
  const left = req.timeLimitS - (performance.now() - t0) / 1000;
  const r = runOnce(highs, toModelData(m, true, lower, upper), Math.max(0.05, left), req.mipRelGap, true, undefined, work);
  return { ok: true, modelStatus: r.status, x: r.x, objective: r.objective, bound: lp.objective, lpBound: lp.objective, solveMs: performance.now() - t0, fixedColumns, mipNodes: r.nodes, lpIterations: lp.iterations + r.iterations };
}

/** Statuses that mean the model itself was bad, not that it was hard: a bad LP string gives 'Empty'. */
const ERROR_STATUSES = new Set(['Empty', 'Load error', 'Model error', 'Presolve error', 'Solve error', 'Postsolve error', 'Not Set']);

export function isErrorStatus(status: string): boolean {
  return ERROR_STATUSES.has(status);
}

/** Solve CPLEX LP text. A string HiGHS cannot read comes back as ok: false, never as an empty answer. */
export async function solveLpText(text: string, timeLimitS: number, mipRelGap: number): Promise<LpTextResponse> {
  try {
    const highs = await getHighs();
    const r = highs.solve(text, { output_flag: false, time_limit: timeLimitS, mip_rel_gap: mipRelGap });
    if (isErrorStatus(r.Status)) return { ok: false, modelStatus: r.Status, objective: null, columns: {}, error: `HiGHS could not use the model: status "${r.Status}"` };
    const columns: Record<string, number> = {};
    for (const [name, c] of Object.entries(r.Columns)) columns[name] = 'Primal' in c ? Number(c.Primal) : NaN;
    const solved = r.Status === 'Optimal' || r.Status === 'Time limit reached';
    return { ok: true, modelStatus: r.Status, objective: solved ? r.ObjectiveValue : null, columns };
  } catch (e) {
    return { ok: false, modelStatus: 'Load error', objective: null, columns: {}, error: e instanceof Error ? e.message : String(e) };
  }
}
