import pg from 'pg';
import { createHash, randomBytes } from 'node:crypto';
import { categoryOf, type Envelope, type NewEvent } from '../envelope/envelope.ts';
import { CacoError, ConcurrencyError, ConfigError, InvalidArgumentError } from '../errors/errors.ts';
import { checkDatabaseUrl, redactUrl } from './postgres-url.ts';
import type { Keyring } from '../ledger/keyring.ts';
import type { KeyResolver } from '../ledger/key-resolver.ts';
import type { VerifiedHead } from '../ledger/chain-verifier.ts';
import { hashBatch, headsOf, sealBatch, signHeads, signsFor } from '../ledger/seal.ts';
import type { AppendResult, CheckpointStore, EventHandler, EventStore, ExpectedRevision, QuarantineRecord, QuarantineStore, ReadAllOptions, ReadStreamOptions, StoreSubscription, SubscribeAllOptions, UnreadableRecord } from './event-store.ts';
import { EVENT_COLUMN_NAMES, EVENT_COLUMNS, MAX_POSITION, MAX_READ_CELL_BYTES, MAX_READ_DATA_BYTES, OVERSIZE_CELL, readEventRow, STREAM_PAGE, strayRows, unreadableRowError, type EventRow } from './sql-rows.ts';
import { describeExpected, expectationHolds, validateAppend } from './validate.ts';
import { LiveSignal, runCatchUpSubscription } from './catch-up.ts';
import { checkPutPosition, checkpointPosition } from './checkpoint-value.ts';
import { WriterHeads, type StoredHead } from './writer-heads.ts';
import { refuseUnprovenRetry } from './retried-append.ts';
import { readQuarantineRecord } from './quarantine-record.ts';
import { UnverifiedHeadError } from './jetstream-commit.ts';

/** A schema name we can put in SQL unquoted-safe: lower case, digits, "_" (PostgreSQL's 63-byte limit). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;


/** How long the server lets a writer's transaction sit idle (holding the lock) before ending its session. */
const WRITER_IDLE_IN_TX_MS = 60_000;
/**
 * How long opening a connection may take: without a limit, a server that does not answer
 * (black-holed, partitioned) held an append, a read or close() for as long as TCP keeps trying.
 */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * pg's Client with a limit on opening its connection. Given to the pools as their Client rather
 * than as the pools' connectionTimeoutMillis, which pg-pool also applies to a request waiting
 * for a free connection: a read queued behind busy ones would then fail after it, where it waits.
 */
function clientWithConnectTimeout(ms: number): typeof pg.Client {
  return class extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(typeof config === 'string' ? { connectionString: config, connectionTimeoutMillis: ms } : { ...config, connectionTimeoutMillis: ms });
    }
  };
}

/** Appends per group transaction at most. */
const MAX_GROUP = 512;
const ignoreError = (): void => undefined;

/** Rows per read in readAll and catch-up. */
const READ_PAGE = 1000;

/** The text columns of a row and the most of each a reader takes. */
const TEXT_COLUMNS = new Set(['id', 'stream', 'type', 'time', 'source', 'correlation_id', 'causation_id', 'data', 'prev_hash', 'hash', 'sig']);

/**
 * `expr` if it is at most `max` bytes, else OVERSIZE_CELL and its size. octet_length reads the
 * stored size, without decompressing: a value over 512 MiB (a few KB on disk, built with repeat())
 * cannot become a JavaScript string at all, and the driver threw in its socket handler, ending
 * every reader's process. So no text is fetched from the table unbounded.
 */
function bounded(expr: string, max: number): string {
  return `CASE WHEN octet_length(${expr}) <= ${max} THEN ${expr} ELSE ${lit(OVERSIZE_CELL)} || octet_length(${expr}) END`;
}

/**
 * EVENT_COLUMNS as read, each under `prefix` and bounded (data to MAX_READ_DATA_BYTES, the rest
 * to MAX_READ_CELL_BYTES; readEventRow reports such a row unreadable). `json`: the position as
 * text, for a row built as JSON (json_build_array), where a number past 2^53 would come back as
 * another number.
 */
function readColumns(prefix = '', json = false): string {
  return EVENT_COLUMN_NAMES.map((c) => {
    if (TEXT_COLUMNS.has(c)) return bounded(`${prefix}${c}`, c === 'data' ? MAX_READ_DATA_BYTES : MAX_READ_CELL_BYTES);
    if (c === 'position' && json) return `${prefix}position::text`;
    return `${prefix}${c}`;
  }).join(', ');
}
const READ_COLUMNS = readColumns();
/** The events columns for a row built as JSON (json_build_array), under `e.`. */
const EVENT_COLUMNS_JSON = readColumns('e.', true);

/** A page of rows stops once their data pass this many bytes (after its first row): see pageSql. */
const READ_PAGE_BYTES = 64 * 1024 * 1024;

/** Whether pageSql stopped this page for its bytes: its last row's running sum reached the bound (then a next row, if any, was left for the next page). */
function cutByBytes(rows: ReadonlyArray<EventRow>): boolean {
  // pageSql's rows carry run_bytes after the event's columns.
  const last: ReadonlyArray<unknown> | undefined = rows[rows.length - 1];
  return last !== undefined && Number(last[EVENT_COLUMN_NAMES.length]) >= READ_PAGE_BYTES;
}

function schemaSql(s: string): string {
  // `data` is TEXT, not JSONB: JSONB would reorder keys and normalise numbers, so what a
  // reader gets back would not be the bytes that were sealed (as in the SQLite store).
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.events (
  -- Positions are numbers in every reader: no row past the largest integer one holds exactly.
  position BIGINT PRIMARY KEY CONSTRAINT events_position_safe CHECK (position BETWEEN 1 AND ${MAX_POSITION}),
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
  covers INTEGER,
  UNIQUE (stream, revision)
);
-- Schemas written before commit signatures: every event there is signed on its own (covers NULL).
ALTER TABLE ${s}.events ADD COLUMN IF NOT EXISTS covers INTEGER;
-- Schemas made before the position check get it NOT VALID: new rows are checked, the rows
-- there are not scanned (readers and writers check those: see MAX_POSITION).
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '${s}.events'::regclass AND conname = 'events_position_safe') THEN
    ALTER TABLE ${s}.events ADD CONSTRAINT events_position_safe CHECK (position BETWEEN 1 AND ${MAX_POSITION}) NOT VALID;
  END IF;
END $$;
CREATE TABLE IF NOT EXISTS ${s}.checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL);
-- The highest position ever given out (one row), written with every commit: rows removed from the
-- top of the table (deleted, or a restore) do not hand their positions out again, to events that
-- a reader already past them would never read (SQLite's AUTOINCREMENT keeps the same).
CREATE TABLE IF NOT EXISTS ${s}.high_water (only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row), position BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.quarantine (position BIGINT PRIMARY KEY, record TEXT NOT NULL);
`;
}

export interface PostgresStoreOptions {
  /** A libpq-style URL, e.g. postgres://root@127.0.0.1:5432/test. */
  readonly connectionString: string;
  /** The PostgreSQL schema holding the ledger's tables (created on open). Default `caco`. */
  readonly schema?: string;
  readonly keyring: Keyring;
  /**
   * Who may sign for a source, for verifying a stream's stored head before an append seals on
   * it (see `WriterHeads`). Default: the keyring's public keys.
   */
  readonly keys?: KeyResolver;
  /** How long opening a connection may take, in ms (default CONNECT_TIMEOUT_MS, 10 s). */
  readonly connectTimeoutMs?: number;
  /** Connections for reads and checkpoints (default 4); appends use one more of their own, and LISTEN another. */
  readonly poolSize?: number;
  /**
   * How often a live subscription looks at the table even without a notification (ms,
   * default 1000): a notification sent while the listening connection was down is not
   * replayed, so a poll bounds how late such an event can be seen.
   */
  readonly pollMs?: number;
  /** Fail instead of creating the schema when it holds no ledger (commands that only read). */
  readonly mustExist?: boolean;
}

interface PendingAppend {
  readonly stream: string;
  readonly events: ReadonlyArray<NewEvent>;
  readonly expected: ExpectedRevision;
  resolve(r: AppendResult): void;
  reject(err: unknown): void;
}

type Outcome = { ok: AppendResult } | { err: unknown };

/** What one group's transaction reads under the lock before it seals anything. */
interface GroupView {
  top: number;
  /** The head each stream's appends seal on: its stored head, verified (see WriterHeads), then what the group sealed. */
  heads: Map<string, VerifiedHead>;
  /** Streams whose stored head does not verify: their appends are refused with this. */
  refused: Map<string, Error>;
  stored: Map<string, Envelope>;
  /** The group's ids stored before it in rows that cannot be read (hostile or damaged): the appends that name them are refused. */
  unreadable: Map<string, UnreadableRecord>;
  /**
   * For each of the group's ids stored before the group: the signature of the event before it
   * in its stream ('' inside a stored append; absent at revision 0). Read only for ids found
   * stored (retries), so an append that stores new events reads nothing more.
   */
  sigBefore: Map<string, string>;
  /** The commits this group sealed so far, in order: their heads are signed together afterwards (sealGroup). */
  sealed: Array<ReadonlyArray<Envelope>>;
}

/** How long opening may wait for a table lock to make or bring the schema up to date. */
const MIGRATION_LOCK_TIMEOUT_MS = 10_000;

/** Whether the schema holds everything schemaSql makes, read from the catalogue without a lock. */
async function schemaReady(c: pg.PoolClient, s: string): Promise<boolean> {
  const r = await c.query<{ ready: boolean }>(
    `SELECT to_regclass($1 || '.events') IS NOT NULL AND to_regclass($1 || '.checkpoints') IS NOT NULL
        AND to_regclass($1 || '.high_water') IS NOT NULL AND to_regclass($1 || '.quarantine') IS NOT NULL
        AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1 || '.events') AND attname = 'covers' AND NOT attisdropped)
        AND EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1 || '.events') AND conname = 'events_position_safe') AS ready`,
    [s],
  );
  return r.rows[0]?.ready === true;
}

/**
 * A 64-bit advisory lock key for a schema: every process writing the same schema takes the
 * same lock, and ledgers in other schemas of the database do not wait for each other.
 */
function lockKey(schema: string): string {
  return createHash('sha256').update(`caco-ledger:${schema}`).digest().readBigInt64BE(0).toString();
}

/**
 * The ledger in PostgreSQL. Several processes may write one schema at once: each append
 * transaction first takes a transaction-level advisory lock, so global positions and hash
 * chains are assigned by one writer at a time, in commit order, without a gap (a rolled back
 * transaction assigned nothing that anyone saw). Live subscriptions LISTEN for a notification
 * sent with each commit, which only wakes them: they read the table by position.
 */
export class PostgresEventStore implements EventStore, CheckpointStore, QuarantineStore {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly live = new LiveSignal();
  private readonly lockSql: string;
  private readonly channel: string;
  /** Appends waiting for the next group transaction. */
  private pending: PendingAppend[] = [];
  /** The group transaction running now, if any; the next starts when it ends. */
  private committing: Promise<void> | undefined;
  private listener: pg.Client | undefined;
  private listenerRetry: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Names this store's notifications, so it can tell them from other processes'. */
  private readonly instance = randomBytes(8).toString('hex');
  /** The stream heads this writer sealed or verified: what it may seal on without reading (see readView). */
  private readonly writerHeads: WriterHeads;

  private constructor(
    private readonly opts: PostgresStoreOptions,
    /** Reads, checkpoints and quarantine. */
    private readonly pool: pg.Pool,
    /** One connection for the group commits, so an append never waits behind readers for a connection. */
    private readonly writePool: pg.Pool,
  ) {
    this.schema = opts.schema ?? 'caco';
    this.lockSql = `SELECT pg_advisory_xact_lock(${lockKey(this.schema)})`;
    this.channel = `caco_ledger_${this.schema}`.slice(0, 63);
    this.writerHeads = new WriterHeads(opts.keys ?? opts.keyring, this.ledgerName);
  }

  /** Connect, create the schema if needed, and start listening for other writers' commits. */
  static async open(opts: PostgresStoreOptions): Promise<PostgresEventStore> {
    const schema = opts.schema ?? 'caco';
    if (!SCHEMA_NAME.test(schema)) throw new InvalidArgumentError('schema', `"${schema}" is not a schema name we use; lower-case letters, digits and "_", starting with a letter or "_", at most 63`);
    const url = checkDatabaseUrl(opts.connectionString);
    const Client = clientWithConnectTimeout(opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 4, Client });
    // A writer holds the schema's lock from its first round trip to its commit; if its process
    // stalls in between (stopped, swapped out, partitioned), the server ends the session after
    // a minute idle in the transaction, which rolls it back and frees the lock for the others.
    const writePool = new pg.Pool({ connectionString: url, max: 1, idle_in_transaction_session_timeout: WRITER_IDLE_IN_TX_MS, Client });
    // An idle connection that breaks must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    writePool.on('error', () => undefined);
    let writer: pg.PoolClient | undefined;
    try {
      writer = await writePool.connect().catch((err: unknown) => {
        throw new ConfigError('--database-url', `cannot reach PostgreSQL at ${redactUrl(url)}: ${describe(err)}`);
      });
      // As in commitGroup: a checked-out client's 'error' must have a listener (the query rejects too).
      writer.on('error', ignoreError);
      if (opts.mustExist) {
        const r = await writer.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${schema}.events`]);
        if (!r.rows[0]?.t) throw new ConfigError('--database-url', `no CACO ledger in schema "${schema}" of ${redactUrl(url)}; run \`caco simulate\` or \`caco run\` with --store postgres first`);
      } else if (!(await schemaReady(writer, schema))) {
        // Under the writers' lock: two processes creating the same schema at once would
        // otherwise race on the catalogue (IF NOT EXISTS is not atomic). Only when something is
        // missing: ALTER TABLE takes an exclusive lock even when it changes nothing, and waiting
        // for it behind a long reader (pg_dump) stalled every reader and writer of the ledger.
        await writer.query('BEGIN');
        try {
          await writer.query(`SET LOCAL lock_timeout = '${MIGRATION_LOCK_TIMEOUT_MS}ms'`);
          await writer.query(`SELECT pg_advisory_xact_lock(${lockKey(schema)})`);
          await writer.query(schemaSql(schema));
          await writer.query('COMMIT');
        } catch (err) {
          await writer.query('ROLLBACK').catch(() => undefined);
          if ((err as { code?: unknown }).code === '55P03') throw new ConfigError('--database-url', `schema "${schema}" needs its tables made or brought up to date, and a lock on them was not free within ${MIGRATION_LOCK_TIMEOUT_MS / 1000} s (a long transaction or a backup holds them): try again when it has finished`);
          throw err;
        }
      }
      writer.off('error', ignoreError);
      writer.release();
      writer = undefined;
      const store = new PostgresEventStore(opts, pool, writePool);
      await store.listen();
      return store;
    } catch (err) {
      writer?.off('error', ignoreError);
      writer?.release(true);
      await pool.end().catch(() => undefined);
      await writePool.end().catch(() => undefined);
      throw err;
    }
  }

  /** A connection of its own for LISTEN; when it breaks, polling covers until it is back. */
  private async listen(): Promise<void> {
    const c = new pg.Client({ connectionString: this.opts.connectionString, connectionTimeoutMillis: this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS });
    c.on('error', () => this.relisten(c));
    c.on('end', () => this.relisten(c));
    // Our own commits have woken our subscriptions already (commitLoop).
    c.on('notification', (n) => {
      if (n.payload !== this.instance) this.live.notify();
    });
    try {
      await c.connect();
      await c.query(`LISTEN "${this.channel}"`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await c.end().catch(() => undefined);
      return;
    }
    this.listener = c;
    // Something may have been committed while nobody listened: every subscription looks.
    this.live.notify();
  }

  /** The listening connection broke: drop it and listen again after a second. */
  private relisten(broken: pg.Client): void {
    if (this.listener !== broken) return;
    this.listener = undefined;
    broken.end().catch(() => undefined);
    this.scheduleListen();
  }

  private scheduleListen(): void {
    if (this.closed || this.listenerRetry) return;
    this.listenerRetry = setTimeout(() => {
      this.listenerRetry = undefined;
      if (this.closed) return;
      // Still down: try again later; subscriptions keep polling meanwhile.
      this.listen().catch(() => this.scheduleListen());
    }, 1000);
    this.listenerRetry.unref?.();
  }

  /**
   * Appends made while a group transaction runs share the next one (group commit): a
   * PostgreSQL commit costs a few round trips and an fsync whatever it holds. Each append is
   * still all or nothing on its own — every check that can refuse it runs before anything
   * is written — and its promise settles only after the group committed.
   */
  append(stream: string, events: ReadonlyArray<NewEvent>, expected: ExpectedRevision): Promise<AppendResult> {
    try {
      validateAppend(stream, events, expected);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (this.closed) return Promise.reject(new Error('the PostgreSQL store is closed'));
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ stream, events, expected, resolve, reject });
      if (!this.committing) this.committing = this.commitLoop();
    });
  }

  private async commitLoop(): Promise<void> {
    // One microtask first, so appends made in the same turn join the first group.
    await Promise.resolve();
    while (this.pending.length > 0) {
      // A burst is cut into groups of at most MAX_GROUP appends: one INSERT stays a sensible size.
      const group = this.pending.length <= MAX_GROUP ? this.pending : this.pending.slice(0, MAX_GROUP);
      this.pending = group === this.pending ? [] : this.pending.slice(MAX_GROUP);
      const outcomes = await this.commitGroup(group);
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
    this.committing = undefined;
  }

  private async commitGroup(group: ReadonlyArray<PendingAppend>): Promise<Outcome[]> {
    const outcomes = new Array<Outcome>(group.length);
    let c: pg.PoolClient;
    try {
      c = await this.writePool.connect();
    } catch (err) {
      return group.map(() => ({ err }));
    }
    let broken: Error | undefined;
    // pg-pool takes its error listener off a client it hands out, and pg.Client emits 'error'
    // when its socket ends, even inside a query: with no listener that ended the process (a
    // writer's session terminated while it waited for the lock). The query rejects as well.
    const onError = (e: Error) => void (broken = e);
    c.on('error', onError);
    try {
      // Two round trips per group, sent as simple-protocol multi-statement strings with
      // escaped literals (the extended protocol takes one statement per round trip):
      // 1. BEGIN, the lock, and what the group is checked against. The lock is held to the
      //    commit: whoever holds it is the only writer of this schema, so MAX(position) read
      //    after it (a new snapshot: READ COMMITTED takes one per statement) is the true head.
      const view = await this.readView(c, group);
      const rows = this.sealGroup(group, view, outcomes);
      // 2. The rows, the notification (delivered at commit, and only if it commits), COMMIT.
      await c.query(rows.length > 0 ? `${this.insertSql(rows)}; ${this.highWaterSql(rows)}; SELECT pg_notify('${this.channel}', '${this.instance}'); COMMIT` : 'COMMIT');
      // Committed: the heads verified and sealed here are the ones the next group may seal on without a read.
      for (const [stream, head] of view.heads) this.writerHeads.remember(stream, head);
    } catch (err) {
      // The transaction failed (the connection broke, the server refused a row): nothing of
      // the group was stored.
      await c.query('ROLLBACK').catch((e: unknown) => {
        // The connection itself is gone: the pool must not hand it out again.
        broken = e instanceof Error ? e : new Error(String(e));
      });
      for (let i = 0; i < group.length; i++) outcomes[i] = { err };
    } finally {
      c.off('error', onError);
      c.release(broken);
    }
    return outcomes;
  }

  /**
   * Check and hash every append of the group, then sign the heads of its commits together
   * (one signature per source, see core/ledger/batch-signature.ts). A source that cannot sign
   * would fail the whole batch: then the group is sealed again, commit by commit, from the
   * view as it was, and only the appends that need that key are refused.
   */
  private sealGroup(group: ReadonlyArray<PendingAppend>, view: GroupView, outcomes: Outcome[]): Envelope[] {
    const before: GroupView = { top: view.top, heads: new Map(view.heads), refused: view.refused, stored: new Map(view.stored), unreadable: view.unreadable, sigBefore: view.sigBefore, sealed: [...view.sealed] };
    const attempt = (v: GroupView, signEach: boolean): Envelope[] => {
      const rows: Envelope[] = [];
      for (let i = 0; i < group.length; i++) {
        try {
          // A sealed append is in v.sealed, its commit.
          const r = this.prepare(group[i]!, v, signEach);
          if (r.sealedHere) rows.push(...r.events);
          outcomes[i] = { ok: r };
        } catch (err) {
          // Refused before writing anything: the rest of the group goes on.
          outcomes[i] = { err };
        }
      }
      if (!signEach) signHeads(headsOf(v.sealed), this.opts.keyring);
      // A retry answers with copies of the stored events, made only now: one of an append
      // sealed earlier in this group has its head's signature only once the heads are signed.
      for (const o of outcomes) if ('ok' in o && !o.ok.sealedHere) o.ok = { ...o.ok, events: o.ok.events.map((e) => ({ ...e })) };
      return rows;
    };
    if (group.length === 1) return attempt(view, true);
    try {
      return attempt(view, false);
    } catch {
      Object.assign(view, before);
      return attempt(view, true);
    }
  }

  /**
   * BEGIN, the lock, then in one statement: the head position, the heads of the group's
   * streams, and any of its event ids already stored. A stream's stored head is sealed on only
   * if it verifies (WriterHeads): the head this writer sealed or verified last needs no read;
   * any other is checked against the rows after that one, read in one more query (another
   * writer appended, or this process has not written the stream before).
   */
  private async readView(c: pg.PoolClient, group: ReadonlyArray<PendingAppend>): Promise<GroupView> {
    const streams = [...new Set(group.map((a) => a.stream))];
    const ids: string[] = [];
    for (const a of group) for (const e of a.events) ids.push(e.id);
    const s = this.schema;
    // eslint-disable-next-line no-restricted-syntax -- pg types a multi-statement query as one result; it answers one per statement
    const results = (await c.query(
      `BEGIN; ${this.lockSql};
       SELECT GREATEST((SELECT MAX(position) FROM ${s}.events), (SELECT MAX(position) FROM ${s}.high_water))::text AS top,
        (SELECT json_agg(json_build_object('stream', q.stream, 'revision', h.revision, 'hash', h.hash, 'position', h.position::text))
           FROM unnest(${textArray(streams)}) AS q(stream)
           -- One backward step on the (stream, revision) index per stream, however long the stream.
           CROSS JOIN LATERAL (SELECT revision, ${bounded('hash', MAX_READ_CELL_BYTES)} AS hash, position FROM ${s}.events e WHERE e.stream = q.stream ORDER BY revision DESC LIMIT 1) h) AS heads,
        -- Each stored id (a retry) with the signature of the event before it: where its append starts.
        -- In bigint: a planted row at revision -2^31 made integer arithmetic fail the whole group.
        (SELECT json_agg(json_build_array(${EVENT_COLUMNS_JSON}, (SELECT ${bounded('p.sig', MAX_READ_CELL_BYTES)} FROM ${s}.events p WHERE p.stream = e.stream AND p.revision = e.revision::bigint - 1)))
           FROM ${s}.events e WHERE e.id = ANY(${textArray(ids)})) AS stored`,
    )) as unknown as Array<pg.QueryResult<{ top: string | null; heads: Array<{ stream: string; revision: number; hash: string; position: string }> | null; stored: Array<EventRow & { 15: string | null }> | null }>>;
    const row = results[results.length - 1]!.rows[0]!;
    const top = row.top === null ? 0 : this.checkedTop(row.top);
    const storedHeads = new Map<string, StoredHead>();
    // Below `top`, which is a position a reader can hold, so every head's position is one too.
    for (const h of row.heads ?? []) storedHeads.set(h.stream, { revision: h.revision, hash: h.hash, position: Number(h.position) });
    const stored = new Map<string, Envelope>();
    const unreadable = new Map<string, UnreadableRecord>();
    const sigBefore = new Map<string, string>();
    for (const raw of row.stored ?? []) {
      // A row that is not an event (its data not JSON, its position not one) refuses only the append that names its id.
      const e = readEventRow(raw);
      if ('unreadable' in e) unreadable.set(raw[1], e);
      else stored.set(raw[1], e);
      if (raw[15] !== null) sigBefore.set(raw[1], raw[15]);
    }
    const heads = new Map<string, VerifiedHead>();
    const refused = new Map<string, Error>();
    const toRead = new Map<string, number>();
    for (const stream of streams) {
      const check = this.writerHeads.check(stream, storedHeads.get(stream));
      if ('ok' in check) {
        if (check.ok) heads.set(stream, check.ok);
      } else if ('refused' in check) refused.set(stream, check.refused);
      else toRead.set(stream, check.after);
    }
    if (toRead.size > 0) {
      // Still under the lock: the rows after the head each such stream was known at, in revision order.
      const r = await c.query<EventRow>({
        text: `SELECT ${readColumns('e.')} FROM ${s}.events e JOIN unnest($1::text[], $2::int[]) AS k(stream, after) ON e.stream = k.stream AND e.revision > k.after ORDER BY e.stream, e.revision`,
        values: [[...toRead.keys()], [...toRead.values()]],
        rowMode: 'array',
      });
      const byStream = new Map<string, EventRow[]>();
      for (const x of r.rows) {
        let list = byStream.get(x[2]);
        if (!list) byStream.set(x[2], (list = []));
        list.push(x);
      }
      for (const stream of toRead.keys()) {
        try {
          heads.set(stream, this.writerHeads.verify(stream, storedHeads.get(stream)!, (byStream.get(stream) ?? []).map(readEventRow)));
        } catch (err) {
          refused.set(stream, err as Error);
        }
      }
    }
    return { top, heads, refused, stored, unreadable, sigBefore, sealed: [] };
  }

  /**
   * Everything that can refuse an append, done before any row is written, against the
   * ledger as the lock holder sees it plus what earlier appends of this group sealed: the
   * expected revision, a retry of stored events (answered with them), an event id stored
   * elsewhere, and sealing. A sealed append takes the next positions at once.
   */
  private prepare(a: PendingAppend, view: GroupView, sign: boolean): AppendResult {
    const { stream, events, expected } = a;
    for (const e of events) {
      const bad = view.unreadable.get(e.id);
      if (bad) throw new UnverifiedHeadError(this.ledgerName, bad.position, `the row stored under the id "${e.id}" of this append to ${stream} cannot be read (${bad.reason}): a row was put or damaged there; not taken as this append, nor appended beside it`);
    }
    const first = view.stored.get(events[0]!.id);
    if (first) {
      const retry = retried(stream, events, first, view);
      // Rows stored before this group prove themselves (refuseUnprovenRetry); commits sealed
      // earlier in this group are this process's own.
      if (!sealedInGroup(view, first)) refuseUnprovenRetry(this.ledgerName, stream, retry, this.opts.keys ?? this.opts.keyring);
      const last = retry[retry.length - 1]!;
      // The stored events themselves: sealGroup copies them once the group's heads are signed.
      return { events: retry, nextExpected: last.revision, position: last.position };
    }
    // A stored head that does not verify is never sealed on (see WriterHeads).
    const refusal = view.refused.get(stream);
    if (refusal) throw refusal;
    const head = view.heads.get(stream);
    if (!expectationHolds(expected, head?.revision)) {
      throw new ConcurrencyError(stream, describeExpected(expected), head?.revision ?? 'no-stream');
    }
    for (let i = 1; i < events.length; i++) {
      const id = events[i]!.id;
      if (view.stored.has(id)) throw new InvalidArgumentError(`events[${i}].id`, `"${id}" is already stored in another append`);
    }
    if (view.top + events.length > MAX_POSITION) {
      throw new CacoError(`${this.ledgerName}: the last position is ${view.top}, and ${events.length} more would pass ${MAX_POSITION} (2^53 - 1), the largest position a reader can hold; nothing was appended (docs/postgres-store.md, "Positions")`);
    }
    // The same sealing as the SQLite store's, on the stream's head as the lock holder sees it;
    // unsigned here when the group's heads are signed together afterwards (sealGroup).
    const sealed = sign ? sealBatch(stream, events, head, this.opts.keyring) : hashBatch(stream, events, head);
    for (const e of sealed) {
      (e as { position: number }).position = ++view.top;
      view.stored.set(e.id, e);
    }
    const last = sealed[sealed.length - 1]!;
    view.heads.set(stream, { revision: last.revision, hash: last.hash });
    view.sealed.push(sealed);
    return { events: sealed, nextExpected: last.revision, position: last.position, sealedHere: true };
  }

  private get ledgerName(): string {
    return `the PostgreSQL ledger in schema ${this.schema}`;
  }

  /**
   * MAX(position) read as text, for a writer: a position past MAX_POSITION was not written by
   * CACO (the table's CHECK refuses it), and the next position after it would be one no reader
   * can hold (or overflow BIGINT): refused, naming it, before anything is sealed.
   */
  private checkedTop(top: string): number {
    const p = Number(top);
    // Only rows at 0 or below (the CHECK refuses them, older schemas may hold them): the log starts at 1.
    if (Number.isSafeInteger(p) && /^-?[0-9]+$/.test(top)) return Math.max(0, p);
    throw new CacoError(`${this.ledgerName}: its last position (of its last row, or in ${this.schema}.high_water) is ${top.slice(0, 40)}, past ${MAX_POSITION} (2^53 - 1), the largest position a reader can hold; CACO did not write it, and no append can follow it. Nothing was appended; remove that row, or set high_water back to the last row's position (docs/postgres-store.md, "Positions")`);
  }

  /** The group's last position as the highest given out (see the high_water table). */
  private highWaterSql(rows: ReadonlyArray<Envelope>): string {
    // A loop, not Math.max(...): a group of 125,000 rows would overflow the stack as arguments.
    let last = 0;
    for (const e of rows) if (e.position > last) last = e.position;
    return `INSERT INTO ${this.schema}.high_water (only_row, position) VALUES (TRUE, ${last}) ON CONFLICT (only_row) DO UPDATE SET position = GREATEST(${this.schema}.high_water.position, excluded.position)`;
  }

  /** All rows of the group in one INSERT, as literals (see commitGroup). */
  private insertSql(rows: ReadonlyArray<Envelope>): string {
    const values = rows.map((e) => {
      const causation = e.causationId === null ? 'NULL' : lit(e.causationId);
      return `(${e.position}, ${lit(e.id)}, ${lit(e.stream)}, ${e.revision}, ${lit(e.type)}, ${e.version}, ${lit(e.time)}, ${lit(e.source)}, ${lit(e.correlationId)}, ${causation}, ${lit(JSON.stringify(e.data))}, ${lit(e.prevHash)}, ${lit(e.hash)}, ${lit(e.sig)}, ${e.covers === undefined ? 'NULL' : Number(e.covers)})`;
    });
    return `INSERT INTO ${this.schema}.events (${EVENT_COLUMNS}) VALUES ${values.join(', ')}`;
  }

  private async rows(sql: string, params: unknown[]): Promise<EventRow[]> {
    const r = await this.pool.query<EventRow>({ text: sql, values: params, rowMode: 'array' });
    return r.rows;
  }

  async *readStream(stream: string, fromRevision = 0, opts: ReadStreamOptions = {}): AsyncIterable<Envelope> {
    // A page at a time, so a reader that stops early (the relay's commit proof) reads one page.
    let rows = await this.rows(this.pageSql('stream = $1 AND revision >= $2', 'revision', '$3'), [stream, fromRevision, STREAM_PAGE]);
    for (;;) {
      for (const row of rows) {
        const e = readEventRow(row);
        if (!('unreadable' in e)) yield e;
        else if (opts.onUnreadable) await opts.onUnreadable(e);
        else throw unreadableRowError('the PostgreSQL ledger', e);
      }
      if (rows.length < STREAM_PAGE && !cutByBytes(rows)) return;
      rows = await this.rows(this.pageSql('stream = $1 AND revision > $2', 'revision', '$3'), [stream, rows[rows.length - 1]![3], STREAM_PAGE]);
    }
  }

  /**
   * A page of rows matching `where`, in `order`, at most `limit` (a parameter) rows and, after its first,
   * at most READ_PAGE_BYTES of text: a page is held whole, and 512 rows of 16 MiB (or 1,000 in
   * readPage) took the process out of memory. The running sum is a window over the index scan,
   * which streams under the LIMIT (EXPLAIN: 1.3 ms for 1,000 rows of 300,000). Each row carries
   * its running sum after EVENT_COLUMNS (cutByBytes).
   */
  private pageSql(where: string, order: string, limit: string): string {
    // Every text column, each as it is read (bounded), not the data alone: ten columns of up to
    // 64 KiB planted in 1,000 rows (12 MB on disk, built with repeat()) made a page of 650 MB
    // that the data sum never counted, and seven readers at once ran the process out of memory
    // (a helper's review).
    const size = [...TEXT_COLUMNS].map((c) => `least(octet_length(${c}), ${c === 'data' ? MAX_READ_DATA_BYTES : MAX_READ_CELL_BYTES})`).join(' + ');
    return `SELECT * FROM (SELECT ${READ_COLUMNS}, sum(${size}) OVER (ORDER BY ${order}) AS run_bytes, ${size} AS row_bytes
      FROM ${this.schema}.events WHERE ${where} ORDER BY ${order} LIMIT ${limit}) page WHERE run_bytes - row_bytes < ${READ_PAGE_BYTES} ORDER BY ${order}`;
  }

  async *readAll(opts: ReadAllOptions = {}): AsyncIterable<Envelope> {
    let from = opts.from ?? 0;
    let left = opts.limit ?? Infinity;
    const cats = opts.categories ? new Set(opts.categories) : undefined;
    while (left > 0) {
      const page = await this.readPage(from, cats ? READ_PAGE : Math.min(READ_PAGE, left));
      if (page.length === 0) return;
      for (const e of page) {
        from = e.position;
        if ('unreadable' in e) {
          if (!opts.onUnreadable) throw unreadableRowError('the PostgreSQL ledger', e);
          await opts.onUnreadable(e);
          continue;
        }
        if (cats && !cats.has(categoryOf(e.stream))) continue;
        yield e;
        if (--left <= 0) return;
      }
    }
  }

  /**
   * Rows at positions below 1 (at most `limit`): the table's CHECK refuses them, but one
   * dropped or NOT VALID lets them in, and no reader looks there (see verifyLedger).
   */
  async rowsBeforeStart(limit: number): Promise<UnreadableRecord[]> {
    return strayRows(await this.rows(`SELECT ${READ_COLUMNS} FROM ${this.schema}.events WHERE position < 1 ORDER BY position LIMIT $1`, [limit]));
  }

  /** A page of the global log after `from`, for readAll and the catch-up loop. */
  async readPage(from: number, limit: number): Promise<Array<Envelope | UnreadableRecord>> {
    // A reader holds no position past MAX_POSITION: at it, the log it can read has ended.
    if (from >= MAX_POSITION) return [];
    // Bounded in bytes as well as rows (pageSql); readAll and the catch-up read on until a page is empty.
    const rows = await this.rows(this.pageSql('position > $1', 'position', '$2'), [from, limit]);
    const out: Array<Envelope | UnreadableRecord> = [];
    for (const r of rows) {
      const x = readEventRow(r);
      out.push(x);
      // A row past MAX_POSITION is reported once, at MAX_POSITION, and ends the page: every
      // row after it is past it too, and a reader that moves to it has passed them all.
      if ('unreadable' in x && x.position >= MAX_POSITION) break;
    }
    return out;
  }

  async subscribeAll(handler: EventHandler, opts: SubscribeAllOptions = {}): Promise<StoreSubscription> {
    return runCatchUpSubscription({
      from: opts.from ?? 0,
      categories: opts.categories,
      readPage: (from, limit) => this.readPage(from, limit),
      head: () => this.headPosition(),
      live: this.live,
      pollMs: this.opts.pollMs ?? 1000,
      handler,
      onUnreadable: opts.onUnreadable,
      onError: opts.onError,
      giveUpAfterMs: opts.giveUpAfterMs,
      handlerFailures: opts.handlerFailures,
      storeName: 'the PostgreSQL ledger',
    });
  }

  async headPosition(): Promise<number> {
    const r = await this.pool.query<{ p: string | null }>(`SELECT MAX(position)::text AS p FROM ${this.schema}.events`);
    const p = r.rows[0]?.p;
    if (p == null) return 0;
    const n = Number(p);
    // Past MAX_POSITION: the head a reader can reach (readPage reports the row there).
    return Number.isSafeInteger(n) ? Math.max(0, n) : n > 0 ? MAX_POSITION : 0;
  }

  async streamHeads(): Promise<ReadonlyArray<{ stream: string; revision: number; hash: string }>> {
    // ORDER BY with COLLATE "C": byte order, as SQLite and JS sort stream names.
    const r = await this.pool.query<{ stream: string; revision: number; hash: string }>(
      `SELECT ${bounded('stream', MAX_READ_CELL_BYTES)} AS stream, revision, ${bounded('hash', MAX_READ_CELL_BYTES)} AS hash FROM (SELECT DISTINCT ON (stream) stream, revision, hash FROM ${this.schema}.events ORDER BY stream, revision DESC) h ORDER BY h.stream COLLATE "C"`,
    );
    return r.rows;
  }

  async get(name: string): Promise<number> {
    const r = await this.pool.query<{ position: string }>(`SELECT position FROM ${this.schema}.checkpoints WHERE name = $1`, [name]);
    return r.rows[0] ? checkpointPosition(name, r.rows[0].position, `${this.schema}.checkpoints`) : 0;
  }

  /** Every checkpoint above 0, by name (the start-up check of table-ledger-continuity.ts). */
  async listCheckpoints(): Promise<Array<{ key: string; position: number }>> {
    // Every row, so a negative one is refused here too, not passed over.
    const r = await this.pool.query<{ key: string; position: string }>(`SELECT ${bounded('name', MAX_READ_CELL_BYTES)} AS key, position FROM ${this.schema}.checkpoints ORDER BY name`);
    return r.rows.map((x) => ({ key: x.key, position: checkpointPosition(x.key, x.position, `${this.schema}.checkpoints`) })).filter((x) => x.position > 0);
  }

  async put(name: string, position: number): Promise<void> {
    checkPutPosition(position);
    await this.pool.query(`INSERT INTO ${this.schema}.checkpoints (name, position) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET position = excluded.position`, [name, position]);
  }

  async quarantine(r: QuarantineRecord): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.schema}.quarantine (position, record) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [r.position, JSON.stringify(r)]);
  }

  async quarantined(): Promise<ReadonlyArray<QuarantineRecord>> {
    // In the order of the BIGINT (an alias of its text would order "12" before "7").
    const r = await this.pool.query<{ at: string; record: string }>(`SELECT q.position::text AS at, ${bounded('q.record', MAX_READ_CELL_BYTES)} AS record FROM ${this.schema}.quarantine q ORDER BY q.position`);
    return r.rows.map((x) => readQuarantineRecord(x.record, Number(x.at), `the quarantine of ${this.ledgerName}`));
  }

  /** For tests of the audit: run raw SQL against the schema's tables (e.g. to tamper with a row). */
  async unsafeExec(sql: string, ...params: unknown[]): Promise<void> {
    await this.pool.query(sql, params);
  }

  /** For tests: rows of a raw query. */
  async unsafeQuery<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, params)).rows;
  }

  /** Drop the schema and everything in it (tests and benchmarks clean up with this). */
  async destroy(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Appends already made are committed first, as the SQLite store commits its pending group.
    while (this.committing) await this.committing;
    this.closed = true;
    if (this.listenerRetry) clearTimeout(this.listenerRetry);
    const l = this.listener;
    this.listener = undefined;
    this.live.close();
    await l?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    await this.writePool.end().catch(() => undefined);
  }
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describe).join('; ');
  return err instanceof Error ? err.message || err.constructor.name : String(err);
}

/** A string as an SQL literal (pg's own escaping: quotes doubled, E'' when it holds a backslash). */
function lit(v: string): string {
  return pg.escapeLiteral(String(v));
}

function textArray(values: ReadonlyArray<string>): string {
  return `ARRAY[${values.map(lit).join(', ')}]::text[]`;
}

/**
 * The events of a retried append as stored: same ids, same stream, consecutive revisions, and
 * the whole of what was stored (as the SQLite store answers it): a retry that starts or stops
 * inside a stored append (between the events its one signature covers) is another append.
 * Asked of the commit's shape, not of its signature, which a commit sealed earlier in this
 * group does not carry yet (its head is signed with the group's, sealGroup).
 */
function retried(stream: string, events: ReadonlyArray<NewEvent>, first: Envelope, view: GroupView): Envelope[] {
  const out: Envelope[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = i === 0 ? first : view.stored.get(events[i]!.id);
    if (!e || e.stream !== stream || e.revision !== first.revision + i) {
      throw new InvalidArgumentError(`events[${i}].id`, `a retried append must repeat the same events in the same stream; "${events[i]!.id}" does not match what is stored`);
    }
    out.push(e);
  }
  const last = out[out.length - 1]!;
  const lastAt = sealedInGroup(view, last);
  if (lastAt ? !signsFor(lastAt.commit, lastAt.k) : last.sig === '') {
    throw new InvalidArgumentError('events', `a retried append must repeat the same events; the stored append that holds "${last.id}" goes on after it`);
  }
  const firstAt = sealedInGroup(view, first);
  // Sealed in this group: the first of its commit follows a head (signed), the others the event before them in it.
  // Stored before: the event before it carries a signature, or there is none.
  if (firstAt ? firstAt.k > 0 && !signsFor(firstAt.commit, firstAt.k - 1) : view.sigBefore.get(first.id) === '') {
    throw new InvalidArgumentError('events[0].id', `a retried append must repeat the same events; "${first.id}" is not the first event of the stored append that holds it`);
  }
  return out;
}

/** Where `e` is among the commits this group sealed, if it is one of their events (a retry only: a walk over the group). */
function sealedInGroup(view: GroupView, e: Envelope): { commit: ReadonlyArray<Envelope>; k: number } | undefined {
  for (const commit of view.sealed) {
    const k = commit.indexOf(e);
    if (k >= 0) return { commit, k };
  }
  return undefined;
}



