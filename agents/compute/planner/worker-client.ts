/**
 * The solver worker. HiGHS (WebAssembly) is single-threaded and blocks while it solves, so
 * the agent never calls it on its own thread. One worker is kept warm (loading the WASM
 * costs ~100 ms); it is unref'd while idle so it never keeps a process alive. A request that
 * overruns its time limit plus a grace period gets the worker terminated and a timeout answer.
 */
import { Worker } from 'node:worker_threads';
import type { LpTextResponse, SolveRequest, SolveResponse } from './solver-core.ts';
import type { WorkerRequest } from './solver-worker.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const WORKER_URL = new URL('./solver-worker-boot.mjs', import.meta.url);

/**
 * The worker installs tsx itself (see solver-worker-boot.mjs), so it must not inherit the
 * parent's loader flags: under the `tsx` CLI they register a second, conflicting loader.
 */
function workerExecArgv(): string[] {
  return process.execArgv.filter((a, i, all) => !/tsx|preflight|loader/.test(a) && !(['--import', '--require', '--loader'].includes(a) && /tsx|preflight|loader/.test(all[i + 1] ?? '')));
}

interface Pending {
  /** The worker the request was sent to: only its exit fails it. */
  readonly worker: Worker;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class SolverTimeoutError extends Error {
  readonly _tag = 'SolverTimeoutError';
}

export class SolverWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly graceMs = 3_000) {}

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_URL, { execArgv: workerExecArgv() });
    w.on('message', (msg: { id: number; res: unknown }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(msg.id);
      if (this.pending.size === 0) w.unref();
      p.resolve(msg.res);
    });
    // Only this worker's requests: after a timeout ended it, its exit rejected the request
    // already sent to the fresh worker too, whose solve then ran on with nobody waiting.
    const fail = (e: Error) => {
      for (const [id, p] of this.pending) {
        if (p.worker !== w) continue;
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(e);
      }
      if (this.worker === w) this.worker = null;
    };
    w.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
    w.on('exit', (code) => fail(new Error(`solver worker exited with code ${code}`)));
    w.unref();
    this.worker = w;
    return w;
  }

  private call<T>(msg: DistributiveOmit<WorkerRequest, 'id'>, budgetMs: number, transfer: ArrayBuffer[] = []): Promise<T> {
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SolverTimeoutError(`solver did not answer within ${Math.round(budgetMs)} ms; worker restarted`));
        // The WASM cannot be interrupted from outside: end the worker; the next call starts a fresh one.
        if (this.worker === w) this.worker = null;
        void w.terminate();
      }, budgetMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, worker: w });
      w.ref();
      w.postMessage({ ...msg, id }, transfer);
    });
  }

  solve(req: SolveRequest): Promise<SolveResponse> {
    return this.call<SolveResponse>({ kind: 'sparse', req }, req.timeLimitS * 1000 + this.graceMs);
  }

  solveLpText(text: string, timeLimitS: number, mipRelGap: number): Promise<LpTextResponse> {
    return this.call<LpTextResponse>({ kind: 'lp-text', text, timeLimitS, mipRelGap }, timeLimitS * 1000 + this.graceMs);
  }

  /** Load the WASM now rather than on the first plan. */
  async warmUp(): Promise<void> {
    await this.call({ kind: 'ping' }, 30_000);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

let shared: SolverWorker | null = null;
export function sharedSolverWorker(): SolverWorker {
  shared ??= new SolverWorker();
  return shared;
}

/**
 * Solve a planner model in the shared worker, with an explicit time limit and MIP gap. A
 * worker that overruns is replaced and the promise rejects with SolverTimeoutError; the
 * planner then falls back to its greedy plan.
 */
export function solvePlanInWorker(req: SolveRequest, worker: SolverWorker = sharedSolverWorker()): Promise<SolveResponse> {
  if (!(req.timeLimitS > 0) || !(req.mipRelGap >= 0)) throw new RangeError('solvePlanInWorker: timeLimitS must be > 0 and mipRelGap >= 0');
  return worker.solve(req);
}
