import type { Envelope } from '../../core/envelope/index.ts';
import type { VerifiedEventStore } from '../../core/store/index.ts';
import { citedBy, CITED_CATEGORIES, explainFromEvents, INTAKE_STREAM, jobStream, notFound, rejectionOf, type Explanation } from './explain.ts';

/**
 * Why a job ran when it did, read from a ledger: the job's stream (or, for a job rejected at
 * submission, its rejection on the intake stream) and the forecasts and orders its plans cite,
 * explained by the pure `explainFromEvents`. `caco explain`, `GET /jobs/:id` and the dashboard
 * share this one reader. It takes a verified view only (`verifiedView`, or a runtime's store):
 * the dashboard and `caco bpp` once passed the raw store, and served an edited row as genuine.
 */
export async function explainJob(store: VerifiedEventStore, jobId: string): Promise<Explanation> {
  const own: Envelope[] = [];
  for await (const e of store.readStream(jobStream(jobId))) own.push(e);
  if (own.length === 0) {
    for await (const e of store.readStream(INTAKE_STREAM)) {
      const rejected = rejectionOf(jobId, e);
      if (rejected) return rejected;
    }
    return notFound(jobId);
  }
  const cites = citedBy(own);
  const cited: Envelope[] = [];
  if (cites) {
    let scanned = 0;
    for await (const e of store.readAll({ categories: CITED_CATEGORIES })) {
      if (cites(e)) cited.push(e);
      // A store's reader may answer without ever waiting (SQLite): give the process's other work
      // (agents, relay, other requests) a turn now and then, so a long scan does not block it.
      if (++scanned % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
    }
  }
  return explainFromEvents(jobId, own, cited);
}

/** Events scanned between turns given back to the event loop (~10 ms of scanning). */
const YIELD_EVERY = 1000;
