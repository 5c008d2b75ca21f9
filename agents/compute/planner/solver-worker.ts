/** Worker-thread entry: HiGHS blocks while it solves, so it runs here, off the event loop. */
import { parentPort } from 'node:worker_threads';
import { type SolveRequest, solveLpText, solveSparse } from './solver-core.ts';

export type WorkerRequest =
  | { readonly id: number; readonly kind: 'sparse'; readonly req: SolveRequest }
  | { readonly id: number; readonly kind: 'lp-text'; readonly text: string; readonly timeLimitS: number; readonly mipRelGap: number }
  | { readonly id: number; readonly kind: 'ping' };

parentPort?.on('message', (msg: WorkerRequest) => {
  void (async () => {
    if (msg.kind === 'ping') {
      parentPort!.postMessage({ id: msg.id, res: { ok: true } });
    } else if (msg.kind === 'lp-text') {
      parentPort!.postMessage({ id: msg.id, res: await solveLpText(msg.text, msg.timeLimitS, msg.mipRelGap) });
    } else {
      const res = await solveSparse(msg.req);
      parentPort!.postMessage({ id: msg.id, res }, res.x ? [res.x.buffer as ArrayBuffer] : []);
    }
  })();
});
