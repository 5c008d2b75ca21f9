import { isOneOf, type Envelope } from '../../core/envelope/index.ts';
import { ForecastPublished, JobRejected, OrderConfirmed } from '../../schemas/index.ts';
import type { VerifiedEventStore } from '../../core/store/index.ts';
import { citedBy, citedIds, CITED_CATEGORIES, explainFromEvents, INTAKE_STREAM, jobStream, notFound, rejectionOf, type CitedIds, type Explanation } from './explain.ts';

export interface ExplainOptions {
  /**
   * Where a job with no stream of its own is looked up among the rejections (default: the one
   * index kept for `store` in this process, see `RejectionIndex`).
   */
  readonly rejections?: RejectionIndex;
  /**
   * Where the forecasts and orders a job's plans cite are found (default: the one index kept
   * for `store` in this process, see `CitedIndex`).
   */
  readonly cited?: CitedIndex;
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
 * anything else meanwhile) made 100–200 ms of work for each unknown id. For the same reason the
 * forecasts and orders a job cites are found through a `CitedIndex` and read from the first
 * cited to the last, not by reading every forecast and order on the ledger for each request
 * (~400 ms on a week's ledger, more every day; 40 requests at once held the process 10 s).
 */
export async function explainJob(store: VerifiedEventStore, jobId: string, o: ExplainOptions = {}): Promise<Explanation> {
  const own: Envelope[] = [];
  const refused: Array<{ readonly position: number; readonly reason: string }> = [];
  for await (const e of store.readStream(jobStream(jobId), 0, { onRefused: (r) => void refused.push(r) })) own.push(e);
  return withRefused(await explainRead(store, jobId, own, o), refused);
}

async function explainRead(store: VerifiedEventStore, jobId: string, own: Envelope[], o: ExplainOptions): Promise<Explanation> {
  if (own.length === 0) return o.scan ? scanRejections(store, jobId) : (o.rejections ?? indexOf(store)).explain(store, jobId);
  const ids = citedIds(own);
  if (!ids) return explainFromEvents(jobId, own, []);
  return explainFromEvents(jobId, own, o.scan ? await readCited(store, ids) : await (o.cited ?? citedIndexOf(store)).cited(store, ids));
}

/**
 * An explanation of what verified, saying first what did not: a job whose first event was
 * edited was explained as "no job on the ledger", one whose completion was edited as "not
 * finished", with nothing to tell the reader that records had been left out.
 */
function withRefused(x: Explanation, refused: ReadonlyArray<{ readonly position: number; readonly reason: string }>): Explanation {
  if (refused.length === 0) return x;
  const first = refused[0]!;
  const shown = refused.length === 1 ? `position ${first.position}: ${first.reason}` : `positions ${refused.slice(0, 5).map((r) => r.position).join(', ')}${refused.length > 5 ? ', …' : ''}; the first: ${first.reason}`;
  return { ...x, quarantined: refused.slice(0, 100), summary: `${refused.length} of this job's ledger records failed verification and are left out (${shown}); what follows is read from the rest. ${x.summary}` };
}

/** The events `ids` names, in ledger order, read from the forecasts and orders at positions `first` to `last` (all of them by default). */
async function readCited(store: VerifiedEventStore, ids: CitedIds, first = 1, last = Infinity): Promise<Envelope[]> {
  const cites = citedBy(ids);
  const out: Envelope[] = [];
  for await (const e of store.readAll({ from: first - 1, categories: CITED_CATEGORIES })) {
    if (e.position > last) break;
    if (cites(e)) out.push(e);
    await breathe();
  }
  return out;
}

async function scanRejections(store: VerifiedEventStore, jobId: string): Promise<Explanation> {
  for await (const e of store.readStream(INTAKE_STREAM)) {
    const rejected = rejectionOf(jobId, e);
    if (rejected) return rejected;
    await breathe();
  }
  return notFound(jobId);
}

/** How long the readers here may keep the event loop before they give it a turn. */
const TURN_AFTER_MS = 10;
let lastTurnAt = performance.now();
const turn = () => new Promise<void>((r) => setImmediate(r));

/**
 * A turn for the process's other work (agents, relay, other requests) once the readers here
 * have held the event loop for TURN_AFTER_MS. A store's reader may answer without ever waiting
 * (SQLite), and several reads at once interleave on microtasks alone: counted per read (a turn
 * every 1,000 events each), 40 of them held the loop for 40 reads' worth. Timed across all of
 * them, the loop waits about TURN_AFTER_MS however many there are.
 */
async function breathe(): Promise<void> {
  if (performance.now() - lastTurnAt < TURN_AFTER_MS) return;
  await turn();
  lastTurnAt = performance.now();
}

/**
 * One read of what was appended since the last, shared by everyone who asks meanwhile. A read
 * under way may have started before what a caller must see was appended: then one more read
 * follows it, shared in the same way.
 */
class SharedCatchUp {
  private reading: Promise<void> | undefined;
  private again: Promise<void> | undefined;
  constructor(private readonly read: () => Promise<void>) {}

  run(): Promise<void> {
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
        return this.run();
      });
    return this.again;
  }
}

const isForecast = isOneOf([ForecastPublished]);
const isOrder = isOneOf([OrderConfirmed]);

/**
 * Where each forecast and flexibility order is on the ledger (its id → position), read
 * incrementally: each lookup first reads the forecasts and orders appended since the last one
 * (lookups at once share that read), then reads the ledger only from the first event the job
 * cites to the last, handing on the cited ones. So a request costs the span of the job's own
 * plans, not the ledger's length.
 *
 * Its size grows with the site's own forecasts and orders (two ids a half-hour at most, ~60
 * bytes each: about 2 MB a year), not with anything an outside party chooses: forecasts are the
 * grid agent's, orders the coordination agent's confirmations. An id seen twice keeps its last
 * position, as a read of the whole ledger kept the last event with it.
 *
 * One index serves one store (the first it is used with).
 */
export class CitedIndex {
  private readonly forecasts = new Map<string, number>();
  private readonly orders = new Map<string, number>();
  private store: VerifiedEventStore | undefined;
  /** The position of the last forecast or order read. */
  private through = 0;
  private readonly catchUp = new SharedCatchUp(() => this.read());
  /** The spans being read, one after another (see `cited`). */
  private queue: Promise<unknown> = Promise.resolve();

  /** Forecasts and orders held. */
  get size(): number {
    return this.forecasts.size + this.orders.size;
  }

  /** The events `ids` names that are on the ledger, in ledger order. */
  async cited(store: VerifiedEventStore, ids: CitedIds): Promise<Envelope[]> {
    if (this.store === undefined) this.store = store;
    else if (this.store !== store) throw new Error('a CitedIndex serves the store it was first used with');
    await this.catchUp.run();
    let first = Infinity;
    let last = -Infinity;
    const span = (p: number | undefined) => {
      if (p === undefined) return;
      first = Math.min(first, p);
      last = Math.max(last, p);
    };
    for (const id of ids.forecastIds) span(this.forecasts.get(id));
    for (const id of ids.orderIds) span(this.orders.get(id));
    if (first > last) return [];
    // One span at a time, with a turn between them: a read that starts part-way through the log
    // first verifies its streams' events back to their last checkpoint (up to 1,000 each), inside
    // the store, where nothing here can give the event loop a turn; 40 such reads at once held
    // it for all 40 (2.3 s on a week's ledger), one at a time for one.
    const read = this.queue.then(() => readCited(store, ids, first, last));
    this.queue = read.catch(() => undefined).then(turn);
    return read;
  }

  private async read(): Promise<void> {
    for await (const e of this.store!.readAll({ from: this.through, categories: CITED_CATEGORIES })) {
      if (e.position <= this.through) continue;
      this.through = e.position;
      if (isForecast(e)) this.forecasts.set(e.data.forecastId, e.position);
      else if (isOrder(e)) this.orders.set(e.data.orderId, e.position);
      await breathe();
    }
  }
}

/** An index of each store explained from in this process: one per store, made on first use, gone with the store. */
function perStore<T extends object>(make: () => T): (store: VerifiedEventStore) => T {
  const indexes = new WeakMap<VerifiedEventStore, T>();
  return (store) => {
    let index = indexes.get(store);
    if (!index) {
      index = make();
      indexes.set(store, index);
    }
    return index;
  };
}

const citedIndexOf = perStore(() => new CitedIndex());

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
 * read and verified once per process, giving the event loop turns: `breathe`), then
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
  private readonly catchUp = new SharedCatchUp(() => this.read());

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
    await this.catchUp.run();
    const kept = this.byJob.get(jobId);
    if (kept) return kept.x;
    const none = notFound(jobId);
    if (this.droppedCount === 0) return none;
    return { ...none, summary: `${none.summary}, or not among its latest ${this.byJob.size} rejections: the ${this.droppedCount} before them (${INTAKE_STREAM} revisions 0 to ${this.droppedThrough}) are no longer held here` };
  }

  /** Reads what was appended since (see SharedCatchUp). */
  private async read(): Promise<void> {
    for await (const e of this.store!.readStream(INTAKE_STREAM, this.nextRevision)) {
      if (e.revision < this.nextRevision) continue;
      this.nextRevision = e.revision + 1;
      this.add(e);
      await breathe();
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

const indexOf = perStore(() => new RejectionIndex());
