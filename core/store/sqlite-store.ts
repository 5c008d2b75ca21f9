import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { categoryOf, type Envelope, type NewEvent } from '../envelope.ts';
import { ConcurrencyError, InvalidArgumentError } from '../errors.ts';
import type { Keyring } from '../ledger/keyring.ts';
import { sealBatch } from '../ledger/seal.ts';
import type { AppendResult, CheckpointStore, EventHandler, EventStore, ExpectedRevision, ReadAllOptions, StoreSubscription, SubscribeAllOptions } from './event-store.ts';
import { describeExpected, expectationHolds, validateAppend } from './validate.ts';
import { LiveSignal, runCatchUpSubscription } from './catch-up.ts';

interface Row {
  position: number;
  id: string;
  stream: string;
  revision: number;
  type: string;
  version: number;
  time: string;
  source: string;
  correlation_id: string;
  causation_id: string | null;
  data: string;
  prev_hash: string;
  hash: string;
  sig: string;
}

interface PendingAppend {
  readonly stream: string;
  readonly events: ReadonlyArray<NewEvent>;
  readonly expected: ExpectedRevision;
  resolve(r: AppendResult): void;
  reject(err: unknown): void;
}

type Outcome = { ok: AppendResult } | { err: unknown };

/** The columns of a raw read, in this order (see `fromRaw`). */
const COLUMNS = 'position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig';
type RawRow = [number, string, string, number, string, number, string, string, string, string | null, string, string, string, string];

/** Rows per read in readAll: large enough to amortise the query, small enough to stay in the young generation. */
const READ_PAGE = 1000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  stream TEXT NOT NULL,
  revision INTEGER NOT NULL,
  type TEXT NOT NULL,
  version INTEGER NOT NULL,
  time TEXT NOT NULL,
  source TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  causation_id TEXT,
  data TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  sig TEXT NOT NULL,
  UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
`;

export interface SqliteStoreOptions {
  /** File path, or ':memory:'. Parent folders are created. */
  readonly path: string;
  readonly keyring: Keyring;
  /** How often a live subscription looks for events appended by another process (ms). */
  readonly pollMs?: number;
}

/** The embedded ledger: one SQLite file in WAL mode. */
export class SqliteEventStore implements EventStore, CheckpointStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly live = new LiveSignal();
  private readonly stmts;
  private readonly appendTx;
  private readonly groupTx;
  /** Appends waiting for the next group commit (see `append`). */
  private pending: PendingAppend[] = [];

  constructor(private readonly opts: SqliteStoreOptions) {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.stmts = {
      // The (stream, revision) unique index answers this without a separate heads table.
      head: this.db.prepare<[string], { revision: number; hash: string }>('SELECT revision, hash FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1'),
      byId: this.db.prepare<[string], Row>('SELECT * FROM events WHERE id = ?'),
      idExists: this.db.prepare<[string], number>('SELECT 1 FROM events WHERE id = ?').pluck(true),
      insert: this.db.prepare(
        `INSERT INTO events (id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // Reads return rows as arrays (COLUMNS order): no per-row object keyed by column name.
      readStream: this.db.prepare<[string, number], RawRow>(`SELECT ${COLUMNS} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision`).raw(true),
      readAll: this.db.prepare<[number, number], RawRow>(`SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`).raw(true),
      headPos: this.db.prepare<[], { p: number | null }>('SELECT MAX(position) AS p FROM events'),
      heads: this.db.prepare<[], { stream: string; revision: number; hash: string }>(
        'SELECT e.stream, e.revision, e.hash FROM events e JOIN (SELECT stream, MAX(revision) AS r FROM events GROUP BY stream) h ON e.stream = h.stream AND e.revision = h.r ORDER BY e.stream',
      ),
      cpGet: this.db.prepare<[string], { position: number }>('SELECT position FROM checkpoints WHERE name = ?'),
      cpPut: this.db.prepare('INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position'),
    };
    this.appendTx = this.db.transaction((a: PendingAppend): AppendResult => {
      const prepared = this.prepareAppend(a);
      return 'stored' in prepared ? prepared.stored : this.insertSealed(prepared.sealed);
    });
    this.groupTx = this.db.transaction((group: ReadonlyArray<PendingAppend>, outcomes: Outcome[]): void => {
      for (let i = 0; i < group.length; i++) {
        let prepared;
        try {
          prepared = this.prepareAppend(group[i]!);
        } catch (err) {
          // Refused before writing anything: the rest of the group goes on.
          outcomes[i] = { err };
          continue;
        }
        // A failure while writing is not expected once the checks passed (a full disk, an
        // I/O error); it leaves this function and rolls the whole group back.
        outcomes[i] = { ok: 'stored' in prepared ? prepared.stored : this.insertSealed(prepared.sealed) };
      }
    });
  }

  /**
   * Everything that can refuse an append, done before it writes a row — so an append in a
   * group needs no savepoint to be all or nothing: the expected revision, a retry of stored
   * events (answered with them), an event id stored elsewhere, and sealing.
   */
  private prepareAppend(a: PendingAppend): { stored: AppendResult } | { sealed: Envelope[] } {
    const { stream, events, expected } = a;
    if (this.stmts.idExists.get(events[0]!.id) !== undefined) return { stored: this.idempotentResult(stream, events, this.stmts.byId.get(events[0]!.id)!) };
    const head = this.stmts.head.get(stream);
    if (!expectationHolds(expected, head?.revision)) {
      throw new ConcurrencyError(stream, describeExpected(expected), head?.revision ?? 'no-stream');
    }
    for (let i = 1; i < events.length; i++) {
      if (this.stmts.idExists.get(events[i]!.id) !== undefined) throw new InvalidArgumentError(`events[${i}].id`, `"${events[i]!.id}" is already stored in another append`);
    }
    return { sealed: sealBatch(stream, events, head, this.opts.keyring) };
  }

  private insertSealed(sealed: Envelope[]): AppendResult {
    for (const e of sealed) {
      const info = this.stmts.insert.run(e.id, e.stream, e.revision, e.type, e.version, e.time, e.source, e.correlationId, e.causationId, JSON.stringify(e.data), e.prevHash, e.hash, e.sig);
      // The sealed envelopes are ours alone: give them their positions in place.
      (e as { position: number }).position = Number(info.lastInsertRowid);
    }
    const last = sealed[sealed.length - 1]!;
    return { events: sealed, nextExpected: last.revision, position: last.position };
  }

  /**
   * Appends made in the same turn of the event loop share one SQLite transaction (group
   * commit): a commit costs far more than the rows it writes, and agents reacting to the
   * same event append together. Each append is still all or nothing on its own (every check
   * that can refuse it runs before it writes; see `prepareAppend`), and its promise settles
   * only after the group committed. A lone append waits one microtask and commits by itself.
   */
  append(stream: string, events: ReadonlyArray<NewEvent>, expected: ExpectedRevision): Promise<AppendResult> {
    try {
      validateAppend(stream, events, expected);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      if (this.pending.push({ stream, events, expected, resolve, reject }) === 1) queueMicrotask(() => this.commitPending());
    });
  }

  private commitPending(): void {
    const group = this.pending;
    this.pending = [];
    const outcomes = new Array<Outcome>(group.length);
    try {
      if (group.length === 1) {
        outcomes[0] = { ok: this.appendTx(group[0]!) };
      } else {
        this.groupTx(group, outcomes);
      }
    } catch (err) {
      // The commit itself failed (a closed database, a lock held too long): nothing of the
      // group was stored.
      for (let i = 0; i < group.length; i++) outcomes[i] = { err };
    }
    let stored = false;
    for (let i = 0; i < group.length; i++) {
      const o = outcomes[i]!;
      if ('ok' in o) {
        stored = true;
        group[i]!.resolve(o.ok);
      } else group[i]!.reject(o.err);
    }
    if (stored) this.live.notify();
  }

  private idempotentResult(stream: string, events: ReadonlyArray<NewEvent>, first: Row): AppendResult {
    const stored: Envelope[] = [];
    for (let i = 0; i < events.length; i++) {
      const row = i === 0 ? first : this.stmts.byId.get(events[i]!.id);
      if (!row || row.stream !== stream || row.revision !== first.revision + i) {
        throw new InvalidArgumentError(`events[${i}].id`, `a retried append must repeat the same events in the same stream; "${events[i]!.id}" does not match what is stored`);
      }
      stored.push(toEnvelope(row));
    }
    const last = stored[stored.length - 1]!;
    return { events: stored, nextExpected: last.revision, position: last.position };
  }

  async *readStream(stream: string, fromRevision = 0): AsyncIterable<Envelope> {
    for (const row of this.stmts.readStream.iterate(stream, fromRevision)) yield fromRaw(row);
  }

  /**
   * The global log, a page of rows at a time. Written as a plain async iterator rather than
   * an async generator: replay spends a large share of its time in the generator's
   * per-event resume, and here the next event is usually already in the page.
   */
  readAll(opts: ReadAllOptions = {}): AsyncIterable<Envelope> {
    let from = opts.from ?? 0;
    let left = opts.limit ?? Infinity;
    const cats = opts.categories ? new Set(opts.categories) : undefined;
    const stmt = this.stmts.readAll;
    let page: RawRow[] = [];
    let i = 0;
    let ended = left <= 0;
    const done: IteratorResult<Envelope> = { done: true, value: undefined };
    const next = (): IteratorResult<Envelope> => {
      while (!ended) {
        if (i >= page.length) {
          page = stmt.all(from, cats ? READ_PAGE : Math.min(READ_PAGE, left));
          i = 0;
          if (page.length === 0) break;
        }
        const row = page[i++]!;
        from = row[0];
        if (cats && !cats.has(categoryOf(row[2]))) continue;
        if (--left <= 0) ended = true;
        return { done: false, value: fromRaw(row) };
      }
      ended = true;
      page = [];
      return done;
    };
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          try {
            return Promise.resolve(next());
          } catch (err) {
            return Promise.reject(err as Error);
          }
        },
        return: () => {
          ended = true;
          page = [];
          return Promise.resolve(done);
        },
      }),
    };
  }

  /** Synchronous page read for the catch-up loop (fast path: no async iterator per event). */
  readPage(from: number, limit: number): Envelope[] {
    const rows = this.stmts.readAll.all(from, limit);
    const out = new Array<Envelope>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = fromRaw(rows[i]!);
    return out;
  }

  async subscribeAll(handler: EventHandler, opts: SubscribeAllOptions = {}): Promise<StoreSubscription> {
    return runCatchUpSubscription({
      from: opts.from ?? 0,
      categories: opts.categories,
      readPage: async (from, limit) => this.readPage(from, limit),
      head: async () => this.headPositionSync(),
      live: this.live,
      pollMs: this.opts.pollMs ?? 250,
      handler,
    });
  }

  private headPositionSync(): number {
    return this.stmts.headPos.get()?.p ?? 0;
  }

  async headPosition(): Promise<number> {
    return this.headPositionSync();
  }

  async streamHeads(): Promise<ReadonlyArray<{ stream: string; revision: number; hash: string }>> {
    return this.stmts.heads.all();
  }

  async get(name: string): Promise<number> {
    return this.stmts.cpGet.get(name)?.position ?? 0;
  }

  async put(name: string, position: number): Promise<void> {
    this.stmts.cpPut.run(name, position);
  }

  /** For tests of the audit: run raw SQL against the file (e.g. to tamper with a row). */
  unsafeExec(sql: string, ...params: unknown[]): void {
    this.db.prepare(sql).run(...params);
  }

  async close(): Promise<void> {
    // Appends already made are committed, as they were when append wrote at once.
    if (this.pending.length && this.db.open) this.commitPending();
    this.live.close();
    if (this.db.open) this.db.close();
  }
}

function fromRaw(r: RawRow): Envelope {
  return {
    id: r[1],
    type: r[4],
    version: r[5],
    stream: r[2],
    revision: r[3],
    position: r[0],
    time: r[6],
    source: r[7],
    correlationId: r[8],
    causationId: r[9],
    data: JSON.parse(r[10]) as unknown,
    prevHash: r[11],
    hash: r[12],
    sig: r[13],
  };
}

function toEnvelope(r: Row): Envelope {
  return {
    id: r.id,
    type: r.type,
    version: r.version,
    stream: r.stream,
    revision: r.revision,
    position: r.position,
    time: r.time,
    source: r.source,
    correlationId: r.correlation_id,
    causationId: r.causation_id,
    data: JSON.parse(r.data) as unknown,
    prevHash: r.prev_hash,
    hash: r.hash,
    sig: r.sig,
  };
}
