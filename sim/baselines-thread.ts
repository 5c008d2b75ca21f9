import { parentPort, workerData } from 'node:worker_threads';
import { baselineTotals, type BaselineInput } from './results.ts';

/** Runs run-on-arrival and the optimum in their own thread (with their own solver worker). */
const input = workerData as BaselineInput;
const arrivalKw: Array<[number, number]> = [];
try {
  const rows = await baselineTotals({ ...input, onArrivalSlot: (startMs, kw) => arrivalKw.push([startMs, kw]) });
  parentPort!.postMessage({ ok: true, rows, arrivalKw });
} catch (err) {
  parentPort!.postMessage({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
