import { isOneOf, type Envelope } from '../../core/envelope/index.ts';
import { JobRejected } from '../../schemas/index.ts';
import type { VerifiedEventStore } from '../../core/store/index.ts';
import { citedBy, CITED_CATEGORIES, explainFromEvents, INTAKE_STREAM, jobStream, notFound, rejectionOf, type Explanation } from './explain.ts';

export interface ExplainOptions {
  /**
   * Where a job with no stream of its own is looked up among the rejections (default: the one
   * index kept for `store` in this process, see `RejectionIndex`).
   */
  readonly rejections?: RejectionIndex;
  /**
   * Look a job with no stream up by reading the intake stream to its rejection, holding nothing:
   * exact however many rejections the ledger holds, for a one-off reader (`caco explain`), not
   * for a server answering anyone.
   */
  readonly scan?: boolean;
}

/**
 * Why a job ran when it did, read from a ledger: the job's stream (or, for a job rejected at
 * submission, its rejection on the intake stream) and the forecasts and orders its plans cite,
 * explained by the pure `explainFromEvents`. `caco explain`, `GET /jobs/:id` and the dashboard
 * share this one reader. It takes a verified view only (`verifiedView`, or a runtime's store):
 * the dashboard and `caco bpp` once passed the raw store, and served an edited row as genuine.
 *
 * A job with no stream is looked up in a `RejectionIndex` of the intake stream, not by reading
 * every rejection on it: `GET /jobs/<id>` is answered to anyone, and a third party can have
 * ~86,400 refusals a day recorded, which a read per request (that never let the process do
 * anything else meanwhile) made 100–200 ms of work for each unknown id.
 */
export async function explainJob(store: VerifiedEventStore, jobId: string, o: ExplainOptions = {}): Promise<Explanation> {
  const own: Envelope[] = [];
  for await (const e of store.readStream(jobStream(jobId))) own.push(e);
  if (own.length === 0) return o.scan ? scanRejections(store, jobId) : (o.rejections ?? indexOf(store)).explain(store, jobId);
  const cites = citedBy(own);
  const cited: Envelope[] = [];
  if (cites) {
    let scanned = 0;
    for await (const e of store.readAll({ categories: CITED_CATEGORIES })) {
      if (cites(e)) cited.push(e);
      // A store's reader may answer without ever waiting (SQLite): give the process's other work
      // (agents, relay, other requests) a turn now and then, so a long scan does not block it.
      if (++scanned % YIELD_EVERY === 0) await turn();
    }
  }
  return explainFromEvents(jobId, own, cited);
}

async function scanRejections(store: VerifiedEventStore, jobId: string): Promise<Explanation> {
  let n = 0;
  for await (const e of store.readStream(INTAKE_STREAM)) {
    const rejected = rejectionOf(jobId, e);
    if (rejected) return rejected;
    if (++n % YIELD_EVERY === 0) await turn();
  }
  return notFound(jobId);
}

/** Events scanned between turns given back to the event loop (~10 ms of scanning). */
const YIELD_EVERY = 1000;
const turn = () => new Promise<void>((r) => setImmediate(r));

/**
 * What the rejections held may take, in characters of their text plus a fixed allowance per
 * entry for the objects: about 8–16 MB. A rejection is small (its data at most 290 bytes, see
 * agents/compute/rejection.ts): a typical one takes ~400 here, the largest ~800, so this holds
 * the latest 10,000–20,000 rejected job ids.
 */
export const DEFAULT_MAX_REJECTION_INDEX_CHARS = 8_000_000;
interface IndexedRejection {
  readonly x: Explanation;
  readonly cost: number;
  readonly revision: number;
}

/** The allowance per entry for what is not text (the map slot, the objects). */
const ENTRY_OVERHEAD = 160;

/**
 * The rejections of the intake stream by job id, read incrementally: each lookup first reads
 * what was appended since the last one (from the stream's next revision, so each rejection is
 * read and verified once per process, with a turn given to the event loop every 1,000), then
 * answers from memory. Lookups at once share one read. A job id keeps its first rejection, as
 * a read of the whole stream found it.
 *
 * Bounded, as the job ids are anyone's choosing: the explanations held take at most `maxChars`
 * (DEFAULT_MAX_REJECTION_INDEX_CHARS). Past it the oldest are dropped, first rejected first: an
 * id whose rejection was dropped is answered not found, the summary saying that the rejections
 * before the ones held are no longer held, and an id rejected again after that is explained by
 * its later rejection. Nothing else changes: a job with a stream of its own is read from it.
 *
 * One index serves one store (the first it is used with).
 */
export class RejectionIndex {
  readonly maxChars: number;
  private readonly byJob = new Map<string, IndexedRejection>();
  private oldest: Iterator<[string, IndexedRejection]> | undefined;
  private store: VerifiedEventStore | undefined;
  private nextRevision = 0;
  private held = 0;
  private droppedCount = 0;
  private droppedThrough = -1;
  private reading: Promise<void> | undefined;
  private again: Promise<void> | undefined;

  constructor(o: { readonly maxChars?: number } = {}) {
    this.maxChars = o.maxChars ?? DEFAULT_MAX_REJECTION_INDEX_CHARS;
    if (!(this.maxChars > 0)) throw new RangeError(`maxChars must be positive; got ${String(o.maxChars)}`);
  }

  /** Job ids held. */
  get size(): number {
    return this.byJob.size;
  }

  /** What the held explanations take, as counted against `maxChars`. */
  get chars(): number {
    return this.held;
  }

  /** Job ids dropped to stay within `maxChars`. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** The explanation of `jobId`, a job with no stream of its own: its rejection, or not found. */
  async explain(store: VerifiedEventStore, jobId: string): Promise<Explanation> {
    if (this.store === undefined) this.store = store;
    else if (this.store !== store) throw new Error('a RejectionIndex serves the store it was first used with');
    await this.catchUp();
    const kept = this.byJob.get(jobId);
    if (kept) return kept.x;
    const none = notFound(jobId);
    if (this.droppedCount === 0) return none;
    return { ...none, summary: `${none.summary}, or not among its latest ${this.byJob.size} rejections: the ${this.droppedCount} before them (${INTAKE_STREAM} revisions 0 to ${this.droppedThrough}) are no longer held here` };
  }

  /**
   * Reads what was appended since. A read under way may have started before what the caller
   * must see was appended: then one more read follows it, shared by everyone who asks meanwhile.
   */
  private catchUp(): Promise<void> {
    if (!this.reading) {
      this.reading = this.read().finally(() => {
        this.reading = undefined;
      });
      return this.reading;
    }
    this.again ??= this.reading
      .catch(() => undefined)
      .then(() => {
        this.again = undefined;
        return this.catchUp();
      });
    return this.again;
  }

  private async read(): Promise<void> {
    let n = 0;
    for await (const e of this.store!.readStream(INTAKE_STREAM, this.nextRevision)) {
      if (e.revision < this.nextRevision) continue;
      this.nextRevision = e.revision + 1;
      this.add(e);
      if (++n % YIELD_EVERY === 0) await turn();
    }
  }

  private add(e: Envelope): void {
    if (!isRejection(e)) return;
    const jobId = e.data.jobId;
    if (jobId === '' || this.byJob.has(jobId)) return;
    const x = rejectionOf(jobId, e);
    if (!x) return;
    const step = x.steps[0]!;
    const cost = ENTRY_OVERHEAD + jobId.length + x.summary.length + step.eventId.length + step.at.length + step.type.length + step.stream.length;
    this.byJob.set(jobId, { x, cost, revision: e.revision });
    this.held += cost;
    // Oldest first: a Map iterates in insertion order, which is revision order here (an entry
    // is never re-inserted). One iterator kept across calls: a fresh one per add would walk
    // every deleted slot the Map keeps until it rehashes (as RateLimiter notes), each time.
    while (this.held > this.maxChars) {
      let next = this.oldest?.next();
      if (!next || next.done) {
        this.oldest = this.byJob.entries();
        next = this.oldest.next();
      }
      if (next.done) break;
      const [id, old] = next.value;
      this.byJob.delete(id);
      this.held -= old.cost;
      this.droppedCount++;
      this.droppedThrough = old.revision;
    }
  }
}

const isRejection = isOneOf([JobRejected]);

/** The index of each store explained from in this process: one per store, gone with it. */
const indexes = new WeakMap<VerifiedEventStore, RejectionIndex>();

function indexOf(store: VerifiedEventStore): RejectionIndex {
  let index = indexes.get(store);
  if (!index) {
    index = new RejectionIndex();
    indexes.set(store, index);
  }
  return index;
}
