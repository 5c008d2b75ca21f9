import { Worker } from 'node:worker_threads';
import type { BaselineInput, PolicyTotals } from './results.ts';

export interface BaselineOutcome {
  readonly rows: PolicyTotals[];
  /** Run-on-arrival's site kW per half-hour start. */
  readonly arrivalKw: ReadonlyArray<readonly [number, number]>;
}

/**
 * Start the baselines in a worker thread at once, so they run while the agents simulate: the
 * agents' main thread waits on its solver for a good share of the time, and the machine has
 * a second core.
 */
export function startBaselines(input: BaselineInput): Promise<BaselineOutcome> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./baselines-worker-boot.mjs', import.meta.url), { workerData: input });
    let settled = false;
    w.once('message', (m: { ok: true; rows: PolicyTotals[]; arrivalKw: Array<[number, number]> } | { ok: false; error: string }) => {
      settled = true;
      void w.terminate();
      if (m.ok) resolve({ rows: m.rows, arrivalKw: m.arrivalKw });
      else reject(new Error(`baselines failed: ${m.error}`));
    });
    w.once('error', (err) => {
      if (!settled) reject(err);
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`baselines thread exited with code ${code}`));
    });
  });
}
