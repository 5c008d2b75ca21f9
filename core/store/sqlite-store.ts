import Database from 'better-sqlite3';
import { distrustSchema, ledgerSchemaProblem } from './sqlite-untrusted.ts';
import { closeSync, fsyncSync, mkdirSync, openSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { categoryOf, type Envelope, type NewEvent } from '../envelope/envelope.ts';
import { ConcurrencyError, ConfigError, InvalidArgumentError } from '../errors/errors.ts';
import { notWritableCode } from '../files/index.ts';
import type { Keyring, SigningKeys } from '../ledger/keyring.ts';
import { hashBatch, sealBatch, signHeads, signsFor } from '../ledger/seal.ts';
import { UnverifiedHeadError } from './jetstream-commit.ts';
import { refuseUnprovenRetry } from './retried-append.ts';
import { readQuarantineRecord } from './quarantine-record.ts';
import { MAX_BATCH, planSignatures } from '../ledger/batch-signature.ts';
import { WorkerSigner } from '../ledger/worker-signer.ts';
import type { AppendResult, CheckpointStore, EventHandler, EventStore, ExpectedRevision, QuarantineRecord, QuarantineStore, ReadAllOptions, ReadStreamOptions, StoreSubscription, SubscribeAllOptions, UnreadableRecord } from './event-store.ts';
import { envelopeOfRow, EVENT_COLUMN_NAMES, EVENT_COLUMNS, MAX_POSITION, MAX_READ_CELL_BYTES, MAX_READ_DATA_BYTES, OVERSIZE_CELL, readEventRow, STREAM_PAGE, strayRows, unreadableRowError, type EventRow } from './sql-rows.ts';
import { describeExpected, expectationHolds, validateAppend } from './validate.ts';
import { LiveSignal, runCatchUpSubscription } from './catch-up.ts';
import { WalCheckpointer, type WalCheckpointStats } from './wal-checkpointer.ts';
import { checkPutPosition, checkpointPosition } from './checkpoint-value.ts';
import { WriterHeads } from './writer-heads.ts';

interface PendingAppend {
  readonly stream: string;
  readonly events: ReadonlyArray<NewEvent>;
  readonly expected: ExpectedRevision;
  resolve(r: AppendResult): void;
  reject(err: unknown): void;
  /** Times its group was checked again because another process committed first (see `land`). */
  rechecks?: number;
}

/** How often one append is checked again after losing a race to another process's commit. */
const MAX_RECHECKS = 20;

/** A write refused by a UNIQUE constraint our own checks had passed: another connection stored that id or revision since. */
function lostRaceToAnotherWriter(err: unknown): boolean {
  return err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

type Outcome = { ok: AppendResult } | { err: unknown };

/**
 * An append that passed its checks: new events sealed on the stream's head (signed, or
 * waiting for their signatures), or a retry answered with the events already stored
 * (their positions are read once they are committed).
 */
type Prepared = { sealed: Envelope[] } | { retry: Envelope[] };

/** A group whose events wait for their signatures from the worker, then commit in order. */
interface Flight {
  readonly group: ReadonlyArray<PendingAppend>;
  readonly prepared: ReadonlyArray<Prepared | { err: unknown }>;
  state: 'signing' | 'signed' | 'failed';
  error?: unknown;
}

/**
 * With 'auto' signing, a group that needs fewer signatures than this signs on the main
 * thread when nothing is in flight: a lone append would otherwise wait a round trip to the
 * worker for ~30 µs of work. Commits stored together share a signature per source (up to
 * MAX_BATCH), so 64 appends of one agent need 4, not 64.
 */
const WORKER_MIN_SIGNATURES = 8;


/** About how many signatures a group's heads need: one per source for every MAX_BATCH of its commits (see batch-signature.ts). */
function signaturesNeeded(group: ReadonlyArray<PendingAppend>): number {
  const perSource = new Map<string, number>();
  for (const a of group) {
    for (let i = 0; i < a.events.length; i++) {
      if (signsFor(a.events, i)) perSource.set(a.events[i]!.source, (perSource.get(a.events[i]!.source) ?? 0) + 1);
    }
  }
  let n = 0;
  for (const count of perSource.values()) n += Math.ceil(count / MAX_BATCH);
  return n;
}

/** Rows per read in readAll: large enough to amortise the query, small enough to stay in the young generation. */
const READ_PAGE = 1000;

/**
 * The columns read bounded (`boundedCell`): every one but `position` (the rowid, always an
 * integer). The INTEGER ones too: SQLite keeps text that is not a number in an INTEGER column
 * as text, and a 600 MB `version` failed every read as a 600 MB `data` did (a helper's review).
 * An integer's octet_length is that of its digits, so it is read as it is.
 */
const TEXT_COLUMNS: ReadonlySet<string> = new Set(['id', 'stream', 'revision', 'type', 'version', 'time', 'source', 'correlation_id', 'causation_id', 'data', 'prev_hash', 'hash', 'sig', 'covers']);

/**
 * `column` if it is at most `max` bytes, else OVERSIZE_CELL and its size (readEventRow reports
 * such a row unreadable, at its position, naming the column and the size). Every text cell was
 * read whole: one `data` of 600 MB (updated by hand) made every read of its page fail with
 * "string or blob too big", naming no position (the audit, replay, and a live subscription that
 * delivered not even the good events before it), and one of 300 MB took the audit to ~2 GB.
 * octet_length reads the size from the row's header without loading the value (SQLite 3.43+),
 * so small rows cost next to nothing more to read (as in the PostgreSQL store's `bounded`).
 */
function boundedCell(column: string, max: number): string {
  return `CASE WHEN octet_length(${column}) <= ${max} THEN ${column} ELSE '${OVERSIZE_CELL}' || octet_length(${column}) END`;
}

/** The most of a text column a reader takes: MAX_READ_DATA_BYTES for `data`, MAX_READ_CELL_BYTES for the rest. */
function cellBound(column: string): number {
  return column === 'data' ? MAX_READ_DATA_BYTES : MAX_READ_CELL_BYTES;
}

/**
 * A page of rows stops once its text passes about this much (after its first row): a page is held
 * whole, and 1,000 rows of 15 MB (each under the data bound) would be 15 GB. Bytes of UTF-8 where
 * SQL measures (PageStatements.small), JavaScript characters (1 or 2 bytes each in memory) where
 * the rows are counted as they arrive (readRows).
 */
const READ_PAGE_TEXT = 64 * 1024 * 1024;

/** The most text (bytes) a row may have for its page to be read by PageStatements.small: 1,000 such rows are under READ_PAGE_TEXT. */
const SMALL_ROW_BYTES = 64 * 1024;

/**
 * A page query in two forms, for rows matching `where` in `order`, at most `@limit`:
 * - `small`: the plain columns, read only if every row of the page is small: no row has more
 *   than SMALL_ROW_BYTES of text (so no cell is over its bound) and together they are under
 *   READ_PAGE_TEXT. Else its LIMIT is 0 and it returns no row. The check is a subquery over the
 *   same rows reading only their sizes (octet_length takes them from the row's header) in the
 *   LIMIT, which SQLite evaluates once before the scan, and in the same statement, so of the
 *   same snapshot as the rows it lets through.
 * - `bounded`: every text cell bounded (boundedCell), read row by row (readRows).
 * Why two: bounding every cell in the query, and counting the page's text row by row off the
 * cursor, made a read of 20,000 small rows ~35 % slower (the per-cell CASE ~12 %, the cursor
 * ~20 %); the check costs ~15 % of the bare query, less of a read. A running sum in a window,
 * as the PostgreSQL store's pageSql, doubled it (SQLite runs the window over an ephemeral table).
 * A page with a large row (a real event of 100 kB, or one put there by hand) takes the bounded
 * form, exact and a little slower.
 */
interface PageStatements<P> {
  readonly small: Database.Statement<[P], EventRow>;
  readonly bounded: Database.Statement<[P], EventRow>;
  /** Whether the page has a row at all: `small` returns none for an empty page too. */
  readonly any: Database.Statement<[P], number>;
}

function pageStatements<P>(db: Database.Database, cols: { plain: string; bounded: string; sized: ReadonlyArray<string> }, where: string, order: string): PageStatements<P> {
  // Every column read bounded that the file has; ifnull: a NULL would leave its row out of max() and total().
  const size = cols.sized.map((c) => `ifnull(octet_length(${c}), 0)`).join(' + ');
  const allSmall = `(SELECT max(size) <= ${SMALL_ROW_BYTES} AND total(size) <= ${READ_PAGE_TEXT} FROM (SELECT ${size} AS size FROM events WHERE ${where} ORDER BY ${order} LIMIT @limit))`;
  return {
    small: db.prepare<[P], EventRow>(`SELECT ${cols.plain} FROM events WHERE ${where} ORDER BY ${order} LIMIT CASE WHEN ${allSmall} THEN @limit ELSE 0 END`).raw(true),
    bounded: db.prepare<[P], EventRow>(`SELECT ${cols.bounded} FROM events WHERE ${where} ORDER BY ${order} LIMIT @limit`).raw(true),
    any: db.prepare<[P], number>(`SELECT 1 FROM events WHERE ${where} LIMIT min(@limit, 1)`).pluck(true),
  };
}

/**
 * The event of a row, for a reader without `onUnreadable`: one that cannot be read fails the
 * read with the error that names its position and why (as on PostgreSQL), not the bare parse
 * error. `bounded`: the row came from a bounded read, so a cell may stand for one over its bound
 * (OVERSIZE_CELL…), which only readEventRow tells.
 */
function envelopeOrThrow(row: EventRow, bounded: boolean): Envelope {
  if (!bounded) {
    try {
      return envelopeOfRow(row);
    } catch {
      // Named below.
    }
  }
  const e = readEventRow(row);
  if ('unreadable' in e) throw unreadableRowError('the SQLite ledger', e);
  return e;
}

/** Whether a cell read bounded stands for one over its bound. */
function isOversize(cell: unknown): boolean {
  return typeof cell === 'string' && cell.startsWith(OVERSIZE_CELL);
}

/**
 * A page of rows as `readRows` read it. `cut`: stopped by READ_PAGE_TEXT, so rows may follow even
 * if it is short. `bounded`: read by the bounded form, so its cells may be OVERSIZE_CELL….
 */
interface RowPage {
  readonly rows: EventRow[];
  readonly cut: boolean;
  readonly bounded: boolean;
}

const noRows: RowPage = { rows: [], cut: false, bounded: true };

/**
 * A page of rows (PageStatements): all at once when all of them are small; else row by row off
 * the bounded form's cursor, counted as they come and stopped after the row that takes the
 * page's text to READ_PAGE_TEXT. The cursor is read through in this turn (no append can run
 * while it is open; leaving the loop resets it). `small` returns no row for an empty page too:
 * then the bounded form finds none either, at the cost of one more empty query.
 */
function readRows<P>(page: PageStatements<P>, params: P): RowPage {
  const rows = page.small.all(params);
  if (rows.length > 0) return { rows, cut: false, bounded: false };
  // Empty (a live subscription's usual read): one index probe, not the bounded form's cursor,
  // which cost a caught-up reader ~4× the read it replaced.
  if (page.any.get(params) === undefined) return noRows;
  const out: EventRow[] = [];
  let chars = 0;
  for (const r of page.bounded.iterate(params)) {
    out.push(r);
    for (let j = 1; j < r.length; j++) {
      const cell = r[j];
      if (typeof cell === 'string') chars += cell.length;
      // A blob (SQLite keeps whatever type a row was given) comes as a Buffer: its bytes.
      else if (typeof cell === 'object' && cell !== null) chars += (cell as Uint8Array).byteLength;
    }
    if (chars >= READ_PAGE_TEXT) return { rows: out, cut: true, bounded: true };
  }
  return out.length === 0 ? noRows : { rows: out, cut: false, bounded: true };
}

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
  covers INTEGER,
  UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS quarantine (position INTEGER PRIMARY KEY, record TEXT NOT NULL);
`;

/** One row of the events table, in this column order (the store's insert; the runtime bench's SQLite floor). */
export const INSERT_EVENT_SQL = `INSERT INTO events (id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig, covers)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The ledger's database file with the store's settings and schema (parent folders created). */
export function openLedgerDatabase(path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    // Before anything is written: a trigger in the file ran on the site's first checkpoint
    // write and held it at full CPU, deaf to SIGTERM; a view in a table's place failed with a
    // stack trace (a helper's review). Readers refused both already (core/stack).
    refuseForeignLedger(db, path, { writes: true });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof ConfigError) throw err;
    const why = whyNotOpened(err);
    throw why ? new ConfigError(`the SQLite ledger ${path}`, why) : err;
  }
}

/** Throws a ConfigError naming the file when its schema is not one CACO writes (ledgerSchemaProblem); sets trusted_schema off. */
export function refuseForeignLedger(db: Database.Database, path: string, o: { readonly writes: boolean }): void {
  distrustSchema(db);
  const problem = ledgerSchemaProblem(db) ?? missingColumnsProblem(db, o.writes);
  if (problem !== undefined) throw new ConfigError(`the SQLite ledger ${path}`, `${problem}; nothing was changed: it is not a CACO ledger, or it was altered (restore it from a backup, or move it aside to start a new ledger)`);
}

/**
 * What the user can do about a ledger file that cannot be opened for writing, or undefined for
 * an error that is not about the file. The file is left as it is either way: SQLite refuses a
 * file that is not a database before it writes anything to it.
 */
function whyNotOpened(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'SQLITE_NOTADB') return 'is not a SQLite database (or is encrypted); nothing was changed: move it aside to start a new ledger, or give the --data-dir or --site whose ledger it is';
  if (notWritableCode(err) !== undefined) {
    return `cannot be written (a read-only file or folder: ${err instanceof Error ? err.message : code}); nothing was changed: run as the user that owns it, make it writable, or give a writable --data-dir`;
  }
  return undefined;
}

/** The event columns a ledger file must have to be read (`covers` came later and may be missing). */
export const REQUIRED_EVENT_COLUMNS: ReadonlyArray<string> = EVENT_COLUMNS.split(', ').filter((c) => c !== 'covers');

/** The columns the store reads and writes in each of its tables (`covers` may be missing from an old events table). */
const TABLE_COLUMNS: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ['events', REQUIRED_EVENT_COLUMNS],
  ['checkpoints', ['name', 'position']],
  ['quarantine', ['position', 'record']],
  ['snapshots', ['agent', 'record']],
];

/**
 * Why an existing table of the file is not the store's: a column it lacks, or one it has that
 * no insert of the store fills (NOT NULL, no default). A writer given such a file added
 * `covers` and its own tables to it, turned it to WAL, and then failed with a stack trace (a
 * helper's review: an events table of one column; then a checkpoints or quarantine table of
 * another layout, and the first schema's events table with a NOT NULL category). A table not
 * there yet is made by the store.
 */
function missingColumnsProblem(db: Database.Database, writes: boolean): string | undefined {
  const known = new Set(EVENT_COLUMNS.split(', '));
  for (const [table, required] of TABLE_COLUMNS) {
    const cols = db.prepare<[], { name: string; notnull: number; dflt_value: unknown; pk: number }>(`PRAGMA table_info(${table})`).all();
    if (cols.length === 0) continue;
    const have = new Set(cols.map((c) => c.name));
    const missing = required.filter((c) => !have.has(c));
    if (missing.length) return `has a${table === 'events' ? 'n' : ''} ${table} table missing columns ${missing.join(', ')}`;
    // Only a writer fills rows: a reader of the first ledgers (events had a NOT NULL category) reads them as ever.
    if (!writes) continue;
    const unfilled = cols.filter((c) => c.notnull === 1 && c.dflt_value === null && c.pk === 0 && !required.includes(c.name) && !(table === 'events' && known.has(c.name)));
    if (unfilled.length) return `has a${table === 'events' ? 'n' : ''} ${table} table with columns the ledger never fills (${unfilled.map((c) => c.name).slice(0, 5).join(', ')}: NOT NULL, no default)`;
  }
  return undefined;
}

export interface SqliteStoreOptions {
  /** File path, or ':memory:'. Parent folders are created. */
  readonly path: string;
  readonly keyring: Keyring;
  /** How often a live subscription looks for events appended by another process (ms). */
  readonly pollMs?: number;
  /**
   * Where events are signed; the ledger is byte for byte the same either way.
   * - 'main-thread' (default): in the append's own turn.
   * - 'worker': every group in a worker thread, which frees the main thread for ~30 µs per
   *   event but makes each append wait a round trip to the worker.
   * - 'auto': in the worker when it pays — a group of at least 8 events, or any group while
   *   another is out for signing — and here otherwise (a lone append, or before the worker
   *   has loaded).
   * Both worker modes need a keyring that hands out its signing keys (`SigningKeys`).
   */
  readonly signing?: SigningMode;
  /** The signer for the worker modes (default: a new one over `keyring`); the store closes it. Ignored with 'main-thread'. */
  readonly signer?: WorkerSigner;
  /**
   * Who copies the write-ahead log back into the database file (see WalCheckpointer):
   * - 'background' (default for a file): a worker thread, started once this store has made
   *   `BACKGROUND_CHECKPOINT_AFTER` commits (or by `warmUp`), so the many short-lived stores
   *   of tests and tools never start one;
   * - 'inline': SQLite's default, the appending connection every 1000 pages.
   * ':memory:' has no log to copy: always 'inline'.
   */
  readonly walCheckpoints?: WalCheckpointMode;
  /**
   * Open an existing file read-only (the commands that only read a ledger: audit, explain,
   * dashboard): nothing about it is changed, not its journal mode, its schema nor its rows,
   * and append, put and quarantine refuse. Its events table must have the ledger's columns.
   */
  readonly readOnly?: boolean;
}

export type WalCheckpointMode = 'background' | 'inline';
const WAL_CHECKPOINT_MODES: ReadonlyArray<WalCheckpointMode> = ['background', 'inline'];

/** Commits after which a store with background checkpoints starts its worker: about when SQLite would first checkpoint inline. */
export const BACKGROUND_CHECKPOINT_AFTER = 200;

export type SigningMode = 'main-thread' | 'worker' | 'auto';
export const SIGNING_MODES: ReadonlyArray<SigningMode> = ['main-thread', 'worker', 'auto'];

function isSigningKeys(k: Keyring): k is Keyring & SigningKeys {
  return typeof (k as Partial<SigningKeys>).signingKey === 'function';
}

/** The embedded ledger: one SQLite file in WAL mode. */
export class SqliteEventStore implements EventStore, CheckpointStore, QuarantineStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly live = new LiveSignal();
  private readonly stmts;
  private readonly appendTx;
  private readonly flightTx;
  private readonly groupTx;
  private readonly checkTx;
  /** Appends waiting for the next group commit (see `append`). */
  private pending: PendingAppend[] = [];
  private readonly signer: WorkerSigner | undefined;
  /** Groups out for signing, oldest first; each commits only after the ones before it. */
  private flights: Flight[] = [];
  /**
   * Sealed events of the groups in flight, by id, and the last of them per stream: later
   * appends check against and chain on these, as they would on rows already written.
   * Both are empty whenever `flights` is.
   */
  private readonly unsettledIds = new Map<string, Envelope>();
  private readonly unsettledHeads = new Map<string, Envelope>();
  /** Ids of the events of groups out for signing that will carry a signature (signsFor): where a commit, or a source's run in it, ends. */
  private readonly unsettledSigned = new Set<string>();
  /** The stream heads this writer sealed or verified: what it may seal on without reading (verifiedStoredHead). */
  private readonly writerHeads: WriterHeads;
  private drainWaiters: Array<() => void> = [];
  private closing = false;
  /** Commits until the background checkpointer starts (Infinity: never, or started). */
  private commitsBeforeCheckpointer: number;
  private checkpointer: WalCheckpointer | undefined;

  constructor(private readonly opts: SqliteStoreOptions) {
    this.writerHeads = new WriterHeads(opts.keyring, `the SQLite ledger ${opts.path}`);
    const signing = opts.signing ?? 'main-thread';
    if (!SIGNING_MODES.includes(signing)) throw new InvalidArgumentError('signing', `must be one of ${SIGNING_MODES.join(', ')}; got ${JSON.stringify(signing)}`);
    if (signing !== 'main-thread' && opts.readOnly !== true) {
      if (opts.signer) this.signer = opts.signer;
      else if (isSigningKeys(opts.keyring)) this.signer = new WorkerSigner(opts.keyring);
      else throw new InvalidArgumentError('signing', `"${signing}" needs a keyring that hands out its signing keys (MemoryKeyring, FileKeyring)`);
    }
    const walCheckpoints = opts.walCheckpoints ?? 'background';
    if (!WAL_CHECKPOINT_MODES.includes(walCheckpoints)) throw new InvalidArgumentError('walCheckpoints', `must be one of ${WAL_CHECKPOINT_MODES.join(', ')}; got ${JSON.stringify(walCheckpoints)}`);
    this.commitsBeforeCheckpointer = walCheckpoints === 'background' && opts.path !== ':memory:' ? BACKGROUND_CHECKPOINT_AFTER : Infinity;
    const readOnly = opts.readOnly === true;
    if (readOnly) this.commitsBeforeCheckpointer = Infinity;
    this.db = readOnly ? new Database(opts.path, { readonly: true, fileMustExist: true }) : openLedgerDatabase(opts.path);
    if (readOnly) {
      try {
        refuseForeignLedger(this.db, opts.path, { writes: false });
      } catch (err) {
        this.db.close();
        throw err;
      }
    }
    const columns = this.db.prepare<[], { name: string }>('PRAGMA table_info(events)').all();
    const hasCovers = columns.some((c) => c.name === 'covers');
    // A ledger written before commit signatures has no `covers` column: every event there is
    // signed on its own, so the column is added empty (NULL: covers only itself); a reader
    // reads NULL for it instead.
    if (!hasCovers && !readOnly) this.db.exec('ALTER TABLE events ADD COLUMN covers INTEGER');
    // A position no reader can hold (below 1, past 2^53 - 1) is read as its text: as a number
    // SQLite would hand one past 2^53 rounded, and the quarantine would name another position.
    // (Statements order by events.position: a bare name in ORDER BY is this alias, no index.)
    const exactPosition = `CASE WHEN position BETWEEN 1 AND ${MAX_POSITION} THEN position ELSE CAST(position AS TEXT) END AS position`;
    // Every text cell bounded (boundedCell), or read plain only where every row was found small
    // first (pageStatements): no statement below reads one whole.
    const readCols = (bounded: boolean) =>
      EVENT_COLUMN_NAMES.map((c) => {
        if (c === 'position') return exactPosition;
        if (c === 'covers' && !hasCovers && readOnly) return 'NULL AS covers';
        return TEXT_COLUMNS.has(c) && bounded ? `${boundedCell(c, cellBound(c))} AS ${c}` : c;
      }).join(', ');
    const cols = readCols(true);
    const pageCols = { plain: readCols(false), bounded: cols, sized: [...TEXT_COLUMNS].filter((c) => c !== 'covers' || hasCovers || !readOnly) };
    // A read-only file from before verify-on-read has no quarantine table (nor, before
    // checkpoints, that one): it holds nothing, and nothing may be written to it.
    const hasTable = (name: string) => !readOnly || this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    const hasCheckpoints = hasTable('checkpoints');
    const hasQuarantine = hasTable('quarantine');
    this.stmts = {
      // The (stream, revision) unique index answers this without a separate heads table.
      // A hash over its bound reads as OVERSIZE_CELL…, which matches no head this writer knows: the stream's rows are read and judged (verifiedStoredHead).
      head: this.db.prepare<[string], { revision: number; hash: string; position: number }>(`SELECT revision, ${boundedCell('hash', MAX_READ_CELL_BYTES)} AS hash, position FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1`),
      // The row stored under an id, read as readers read it (readEventRow): one that cannot be read refuses the append that names it (storedEvent).
      byId: this.db.prepare<[string], EventRow>(`SELECT ${cols} FROM events WHERE id = ?`).raw(true),
      idExists: this.db.prepare<[string], number>('SELECT 1 FROM events WHERE id = ?').pluck(true),
      sigAt: this.db.prepare<[string, number], string>(`SELECT ${boundedCell('sig', MAX_READ_CELL_BYTES)} FROM events WHERE stream = ? AND revision = ?`).pluck(true),
      insert: this.db.prepare(readOnly ? 'SELECT 1' : INSERT_EVENT_SQL),
      // Reads return rows as arrays (EVENT_COLUMNS order): no per-row object keyed by column name.
      readStream: pageStatements<{ stream: string; revision: number; limit: number }>(this.db, pageCols, 'stream = @stream AND revision >= @revision', 'revision'),
      readStreamAfter: pageStatements<{ stream: string; revision: EventRow[3]; limit: number }>(this.db, pageCols, 'stream = @stream AND revision > @revision', 'revision'),
      readAll: pageStatements<{ from: number; limit: number }>(this.db, pageCols, 'events.position > @from', 'events.position'),
      // The live subscriptions' read (readPage), plain: see readPageCut.
      readPagePlain: this.db.prepare<[number, number], EventRow>(`SELECT ${pageCols.plain} FROM events WHERE events.position > ? ORDER BY events.position LIMIT ?`).raw(true),
      beforeStart: this.db.prepare<[number], EventRow>(`SELECT ${cols} FROM events WHERE events.position < 1 ORDER BY events.position LIMIT ?`).raw(true),
      headPos: this.db.prepare<[], { p: number | null }>('SELECT MAX(position) AS p FROM events'),
      heads: this.db.prepare<[], { stream: string; revision: number; hash: string }>(
        `SELECT ${boundedCell('e.stream', MAX_READ_CELL_BYTES)} AS stream, e.revision, ${boundedCell('e.hash', MAX_READ_CELL_BYTES)} AS hash FROM events e JOIN (SELECT stream, MAX(revision) AS r FROM events GROUP BY stream) h ON e.stream = h.stream AND e.revision = h.r ORDER BY e.stream`,
      ),
      cpGet: this.db.prepare<[string], { position: unknown }>(hasCheckpoints ? 'SELECT position FROM checkpoints WHERE name = ?' : 'SELECT 0 AS position WHERE 0 AND ? IS NULL'),
      cpPut: this.db.prepare(readOnly ? 'SELECT 1' : 'INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position'),
      qPut: this.db.prepare(readOnly ? 'SELECT 1' : 'INSERT OR IGNORE INTO quarantine (position, record) VALUES (?, ?)'),
      qAll: this.db.prepare<[], { position: unknown; record: unknown }>(hasQuarantine ? `SELECT position, ${boundedCell('record', MAX_READ_CELL_BYTES)} AS record FROM quarantine ORDER BY position` : "SELECT 0 AS position, '' AS record WHERE 0"),
    };
    this.appendTx = this.db.transaction((a: PendingAppend): AppendResult => this.write(this.prepareAppend(a, true)));
    this.groupTx = this.db.transaction((group: ReadonlyArray<PendingAppend>, outcomes: Outcome[]): void => {
      for (let i = 0; i < group.length; i++) {
        let prepared;
        try {
          prepared = this.prepareAppend(group[i]!, true);
        } catch (err) {
          // Refused before writing anything: the rest of the group goes on.
          outcomes[i] = { err };
          continue;
        }
        // A failure while writing is not expected once the checks passed (a full disk, an
        // I/O error); it leaves this function and rolls the whole group back.
        outcomes[i] = { ok: this.write(prepared) };
      }
    });
    // Reads only, but in one transaction: one snapshot for the group instead of one per statement.
    this.checkTx = this.db.transaction((group: ReadonlyArray<PendingAppend>, toSign: Envelope[]) => {
      const prepared = new Array<Prepared | { err: unknown }>(group.length);
      for (let i = 0; i < group.length; i++) {
        let p: Prepared;
        try {
          p = this.prepareAppend(group[i]!, false);
        } catch (err) {
          prepared[i] = { err };
          continue;
        }
        prepared[i] = p;
        if ('sealed' in p) {
          for (let k = 0; k < p.sealed.length; k++) {
            const e = p.sealed[k]!;
            this.unsettledIds.set(e.id, e);
            // One signature per commit: its head's (see signsFor).
            if (!signsFor(p.sealed, k)) continue;
            this.unsettledSigned.add(e.id);
            toSign.push(e);
          }
          this.unsettledHeads.set(group[i]!.stream, p.sealed[p.sealed.length - 1]!);
        }
      }
      return prepared;
    });
    this.flightTx = this.db.transaction((f: Flight, outcomes: Outcome[]): void => {
      for (let i = 0; i < f.prepared.length; i++) {
        const p = f.prepared[i]!;
        outcomes[i] = 'err' in p ? p : { ok: this.write(p) };
      }
    });
  }

  private write(p: Prepared): AppendResult {
    if ('sealed' in p) return this.insertSealed(p.sealed);
    // A retry: the stored events, committed by now (earlier in this transaction or before).
    const events = p.retry.map((e) => ({ ...e }));
    const last = events[events.length - 1]!;
    return { events, nextExpected: last.revision, position: last.position };
  }

  /**
   * Everything that can refuse an append, done before it writes a row — so an append in a
   * group needs no savepoint to be all or nothing: the expected revision, a retry of stored
   * events (answered with them), an event id stored elsewhere, and sealing. Events of groups
   * still out for signing count as stored: their ids are taken and their stream heads are
   * the heads to chain on. Without `sign`, the events are hashed and their sources' keys
   * made ready for the worker, which signs them later.
   */
  private prepareAppend(a: PendingAppend, sign: boolean): Prepared {
    const { stream, events, expected } = a;
    const first = this.storedEvent(events[0]!.id, stream);
    if (first) return { retry: this.retried(stream, events, first) };
    const head = this.unsettledHeads.get(stream) ?? this.verifiedStoredHead(stream);
    if (!expectationHolds(expected, head?.revision)) {
      throw new ConcurrencyError(stream, describeExpected(expected), head?.revision ?? 'no-stream');
    }
    for (let i = 1; i < events.length; i++) {
      const id = events[i]!.id;
      if (this.unsettledIds.has(id) || this.stmts.idExists.get(id) !== undefined) throw new InvalidArgumentError(`events[${i}].id`, `"${id}" is already stored in another append`);
    }
    if (sign) return { sealed: sealBatch(stream, events, head, this.opts.keyring) };
    if (this.signer) for (const e of events) this.signer.prepareKey(e.source);
    return { sealed: hashBatch(stream, events, head) };
  }

  /**
   * The stream's last row, if it is a head to seal on (see WriterHeads): the one this writer
   * sealed or verified last needs no more reading; any other (another process appended, or this
   * one has not written the stream since it opened) is verified with the rows after that one.
   * A row put there by someone else would otherwise have every later append chained on it, and
   * every reader refuse them all. A head that does not verify refuses the append.
   */
  private verifiedStoredHead(stream: string): { revision: number; hash: string } | undefined {
    const stored = this.stmts.head.get(stream);
    const check = this.writerHeads.check(stream, stored);
    if ('ok' in check) return check.ok;
    if ('refused' in check) throw check.refused;
    // Row by row off the cursor, each judged and let go (verify reads them in this turn): the
    // rest of a stream can be long and its rows large. One over its bound is unreadable, so a
    // head that is refuses the append, naming the column and its size.
    const bounded = this.stmts.readStream.bounded;
    const rows = function* (): Generator<Envelope | UnreadableRecord> {
      for (const r of bounded.iterate({ stream, revision: check.after + 1, limit: -1 })) yield readEventRow(r);
    };
    return this.writerHeads.verify(stream, stored!, rows());
  }

  /** The event with this id, committed or in a group out for signing; `stream` is the append's (for the refusal). */
  private storedEvent(id: string, stream: string): Envelope | undefined {
    const unsettled = this.unsettledIds.get(id);
    if (unsettled) return unsettled;
    const row = this.stmts.byId.get(id);
    if (row === undefined) return undefined;
    const e = readEventRow(row);
    // As on PostgreSQL: a row under the id that cannot be read (a cell over its bound, data not
    // JSON, a position no reader holds) is neither this append's retry nor room beside it.
    if ('unreadable' in e) throw new UnverifiedHeadError(`the SQLite ledger ${this.opts.path}`, e.position, `the row stored under the id "${id}" of this append to ${stream} cannot be read (${e.reason}): a row was put or damaged there; not taken as this append, nor appended beside it`);
    return e;
  }

  /** Does the event at `revision` of `stream` carry (or, out for signing, will it carry) a signature? */
  private endsSigned(stream: string, revision: number): boolean {
    for (const e of this.unsettledIds.values()) if (e.stream === stream && e.revision === revision) return this.unsettledSigned.has(e.id);
    const sig = this.stmts.sigAt.get(stream, revision);
    // No such row: nothing stored there to be inside of.
    return sig === undefined || sig !== '';
  }

  private retried(stream: string, events: ReadonlyArray<NewEvent>, first: Envelope): Envelope[] {
    const stored: Envelope[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = i === 0 ? first : this.storedEvent(events[i]!.id, stream);
      if (!e || e.stream !== stream || e.revision !== first.revision + i) {
        throw new InvalidArgumentError(`events[${i}].id`, `a retried append must repeat the same events in the same stream; "${events[i]!.id}" does not match what is stored`);
      }
      stored.push(e);
    }
    // The same events means the whole of what was stored: a retry that starts or stops inside
    // a stored append (between events its one signature covers) is another append. Asked of
    // the commit's shape, not of its signature, which a group out for signing does not carry
    // yet: so the answer is the same whether the append it repeats has committed or not.
    const last = stored[stored.length - 1]!;
    if (!this.endsSigned(stream, last.revision)) {
      throw new InvalidArgumentError('events', `a retried append must repeat the same events; the stored append that holds "${last.id}" goes on after it`);
    }
    if (first.revision > 0 && !this.endsSigned(stream, first.revision - 1)) {
      throw new InvalidArgumentError('events[0].id', `a retried append must repeat the same events; "${first.id}" is not the first event of the stored append that holds it`);
    }
    // Rows already in the table prove themselves (refuseUnprovenRetry); in a group still out for
    // signing they are this process's own.
    if (!this.unsettledIds.has(first.id)) refuseUnprovenRetry(`the SQLite ledger ${this.opts.path}`, stream, stored, this.opts.keyring);
    return stored;
  }

  private insertSealed(sealed: Envelope[]): AppendResult {
    for (const e of sealed) {
      const info = this.stmts.insert.run(e.id, e.stream, e.revision, e.type, e.version, e.time, e.source, e.correlationId, e.causationId, JSON.stringify(e.data), e.prevHash, e.hash, e.sig, e.covers ?? null);
      const position = Number(info.lastInsertRowid);
      // AUTOINCREMENT goes on from the largest position in the table, also one put there by
      // someone else: past 2^53 - 1 no reader could hold the position, and everything stored
      // after it would be unreadable to all of them. Refused (the group rolls back), naming why.
      if (!Number.isSafeInteger(position)) {
        throw new UnverifiedHeadError(`the SQLite ledger ${this.opts.path}`, MAX_POSITION, `the next position is past ${MAX_POSITION} (2^53 - 1, the largest a reader can hold): a row was put there that this site did not write (SQLite's sqlite_sequence keeps its position even after it is deleted); run caco audit verify, and see docs/operations.md, "A ledger row past position 2^53 - 1"`);
      }
      // The sealed envelopes are ours alone: give them their positions in place.
      (e as { position: number }).position = position;
    }
    const last = sealed[sealed.length - 1]!;
    return { events: sealed, nextExpected: last.revision, position: last.position, sealedHere: true };
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
      this.refuseIfReadOnly();
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
    if (this.signer && (this.flights.length > 0 || (!this.closing && this.wantsWorker(group)))) {
      this.sealInWorker(group);
      return;
    }
    if (group.length > 1) {
      // Several commits: hashed first, then their heads signed together (one signature per
      // source for the group, see batch-signature.ts), then written in one transaction.
      this.sealHere(group);
      return;
    }
    this.commitEach(group);
  }

  /** A group sealed commit by commit, each signed on its own, in one transaction. */
  private commitEach(group: ReadonlyArray<PendingAppend>): void {
    const outcomes = new Array<Outcome>(group.length);
    try {
      // IMMEDIATE: the write lock from the start, so the reads that decide the append (its
      // stream's head, its ids) are of the state it writes on. A deferred transaction reads
      // first and asks for the lock at its first write; if another process committed in
      // between, SQLite refuses at once with "database is locked", whatever the busy timeout
      // (two processes appending to one file lost ~8 % of their appends that way).
      if (group.length === 1) outcomes[0] = { ok: this.appendTx.immediate(group[0]!) };
      else this.groupTx.immediate(group, outcomes);
    } catch (err) {
      // The commit itself failed (a closed database, a lock held too long): nothing of the
      // group was stored.
      for (let i = 0; i < group.length; i++) outcomes[i] = { err };
    }
    this.settle(group, outcomes);
  }

  private settle(group: ReadonlyArray<PendingAppend>, outcomes: ReadonlyArray<Outcome>): void {
    let stored = false;
    for (let i = 0; i < group.length; i++) {
      const o = outcomes[i]!;
      if ('ok' in o) {
        stored = true;
        // Committed: the next append to the stream seals on this head without reading it again.
        const last = o.ok.events[o.ok.events.length - 1];
        if (last) this.writerHeads.remember(last.stream, last);
        group[i]!.resolve(o.ok);
      } else group[i]!.reject(o.err);
    }
    if (stored) this.committed();
  }

  /** After every commit that stored something: wake live readers; start the checkpointer when due. */
  private committed(): void {
    this.live.notify();
    if (--this.commitsBeforeCheckpointer <= 0) this.startCheckpointer();
  }

  private startCheckpointer(): void {
    this.commitsBeforeCheckpointer = Infinity;
    if (this.closing || !this.db.open) return;
    this.checkpointer = WalCheckpointer.start(this.db, this.opts.path);
  }

  /**
   * 'auto': the worker pays for a group big enough, once it has loaded. The first such group
   * starts it and signs here meanwhile, so a process that never appends in bursts never
   * starts a worker.
   */
  private wantsWorker(group: ReadonlyArray<PendingAppend>): boolean {
    if (this.opts.signing === 'worker') return true;
    if (signaturesNeeded(group) < WORKER_MIN_SIGNATURES) return false;
    if (this.signer!.isReady) return true;
    this.signer!.start();
    return false;
  }

  /**
   * Check and hash the group now, against the committed ledger and the groups still in
   * flight; send the hashes to the worker; commit when the signatures are back and every
   * earlier group has committed. Nothing of it is visible before then. (Another process
   * writing the same file meanwhile cannot break a chain: the UNIQUE (stream, revision) and
   * id constraints make such a commit fail whole, like any failed write below.)
   */
  private sealInWorker(group: ReadonlyArray<PendingAppend>): void {
    const checked = this.checkGroup(group);
    if (!checked) return;
    const { flight, toSign } = checked;
    const plan = planSignatures(toSign);
    const signed = plan.requests.length > 0 ? this.signer!.sign(plan.requests.map((r) => r.source), plan.requests.map((r) => r.message.toString('hex'))) : Promise.resolve([]);
    signed.then(
      (sigs) => {
        const heads = plan.finish(sigs);
        for (let i = 0; i < toSign.length; i++) (toSign[i] as { sig: string }).sig = heads[i]!;
        flight.state = 'signed';
        this.land();
      },
      (err: unknown) => {
        flight.state = 'failed';
        flight.error = err;
        this.land();
      },
    );
  }

  /** The same as sealInWorker, signing on this thread at once. */
  private sealHere(group: ReadonlyArray<PendingAppend>): void {
    const checked = this.checkGroup(group);
    if (!checked) return;
    try {
      signHeads(checked.toSign, this.opts.keyring);
    } catch {
      // A source that cannot sign (no key): the whole batch fails with it, so seal the group
      // again commit by commit, where only the appends that need that key are refused. On
      // this path no other group is in flight, so what is unsettled is this group alone.
      this.flights.pop();
      this.unsettledIds.clear();
      this.unsettledHeads.clear();
      this.unsettledSigned.clear();
      this.commitEach(group);
      return;
    }
    checked.flight.state = 'signed';
    this.land();
  }

  /** Check and hash a group and put it in line as a flight, or fail it (and land) when the read itself fails. */
  private checkGroup(group: ReadonlyArray<PendingAppend>): { flight: Flight; toSign: Envelope[] } | undefined {
    const toSign: Envelope[] = [];
    let prepared;
    try {
      prepared = this.checkTx(group, toSign);
    } catch (err) {
      // The read transaction itself failed (a closed database). The unsettled ids and heads
      // may hold part of this group: it fails in its turn, and with it every later group.
      this.flights.push({ group, prepared: group.map(() => ({ err })), state: 'failed', error: err });
      this.land();
      return undefined;
    }
    const flight: Flight = { group, prepared, state: 'signing' };
    this.flights.push(flight);
    return { flight, toSign };
  }

  /** Commit the signed groups at the front of the line, in order. */
  private land(): void {
    while (this.flights.length > 0 && this.flights[0]!.state !== 'signing') {
      const f = this.flights[0]!;
      if (f.state === 'failed') return this.abandonFlights(f.error);
      const outcomes = new Array<Outcome>(f.prepared.length);
      try {
        // IMMEDIATE as in commitEach; what was checked before signing is checked again by the
        // UNIQUE constraints here, so another process's commit meanwhile fails this one whole.
        this.flightTx.immediate(f, outcomes);
      } catch (err) {
        if (lostRaceToAnotherWriter(err)) return this.recheckFlights(err);
        return this.abandonFlights(err);
      }
      this.flights.shift();
      for (const p of f.prepared) {
        if (!('sealed' in p)) continue;
        for (const e of p.sealed) {
          this.unsettledIds.delete(e.id);
          this.unsettledSigned.delete(e.id);
        }
        const last = p.sealed[p.sealed.length - 1]!;
        // A later group may have chained on this stream since: its head stays.
        if (this.unsettledHeads.get(last.stream) === last) this.unsettledHeads.delete(last.stream);
      }
      this.settle(f.group, outcomes);
    }
    if (this.flights.length === 0) this.releaseDrainWaiters();
  }

  /**
   * The front group could not be signed or written: none of it is stored. Every later group
   * in flight was checked against, and chained on, that group's events, so it is refused as
   * well (appends refused by their own checks keep their own reasons); the next append sees
   * only the committed ledger.
   */
  private abandonFlights(cause: unknown): void {
    const flights = this.takeFlights();
    const reason = cause instanceof Error ? cause.message : String(cause);
    flights.forEach((f, k) => {
      const err = k === 0 ? cause : new Error(`not stored: an append made before it could not be stored (${reason})`);
      this.settle(f.group, f.prepared.map((p) => ('err' in p ? p : { err })));
    });
    this.releaseDrainWaiters();
  }

  /**
   * Another process committed between this group's checks and its write (the file is shared:
   * two `caco` processes on one data directory). Nothing of it was stored. Its appends, and
   * those of every later group (checked against it), go back to the front of the line to be
   * checked again against the ledger as it now is: an expected revision that no longer holds
   * is then refused with a ConcurrencyError, as it would have been had the other commit come
   * first; anything else is stored. An append refused by its own checks keeps its reason.
   */
  private recheckFlights(cause: unknown): void {
    const flights = this.takeFlights();
    const again: PendingAppend[] = [];
    for (const f of flights) {
      f.group.forEach((a, i) => {
        const p = f.prepared[i]!;
        if ('err' in p) a.reject(p.err);
        else if ((a.rechecks = (a.rechecks ?? 0) + 1) > MAX_RECHECKS) a.reject(cause);
        else again.push(a);
      });
    }
    const wasIdle = this.pending.length === 0;
    this.pending = [...again, ...this.pending];
    if (this.pending.length > 0 && wasIdle) queueMicrotask(() => this.commitPending());
    this.releaseDrainWaiters();
  }

  /** Every group in flight, out of the line, with what they left unsettled: none of it was stored. */
  private takeFlights(): Flight[] {
    const flights = this.flights;
    this.flights = [];
    this.unsettledIds.clear();
    this.unsettledHeads.clear();
    this.unsettledSigned.clear();
    return flights;
  }

  private releaseDrainWaiters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }

  async *readStream(stream: string, fromRevision = 0, opts: ReadStreamOptions = {}): AsyncIterable<Envelope> {
    // A page of rows at a time, each read whole: an open statement iterator would make any
    // append made while the reader awaits fail with "connection is busy"; and all the rest of
    // the stream at once made a reader that stops early (the relay's commit proof, per commit)
    // read it again and again, quadratic in the stream's length.
    // The next page starts after the last row's revision as stored, whatever it holds (a
    // planted 511.5 is still in the order the pages follow): every row is read, as before.
    // A page is bounded in its text as well (readRows): one cut short by it is not the end.
    let page = readRows(this.stmts.readStream, { stream, revision: fromRevision, limit: STREAM_PAGE });
    for (;;) {
      const rows = page.rows;
      for (const row of rows) {
        const e = readEventRow(row);
        if (!('unreadable' in e)) yield e;
        else if (opts.onUnreadable) await opts.onUnreadable(e);
        else throw unreadableRowError('the SQLite ledger', e);
      }
      if (rows.length < STREAM_PAGE && !page.cut) return;
      page = readRows(this.stmts.readStreamAfter, { stream, revision: rows[rows.length - 1]![3], limit: STREAM_PAGE });
    }
  }

  /**
   * The global log, a page of rows at a time. Written as a plain async iterator rather than
   * an async generator: replay spends a large share of its time in the generator's
   * per-event resume, and here the next event is usually already in the page.
   */
  readAll(opts: ReadAllOptions = {}): AsyncIterable<Envelope> {
    if (opts.onUnreadable) return this.readAllReporting(opts);
    let from = opts.from ?? 0;
    let left = opts.limit ?? Infinity;
    const cats = opts.categories ? new Set(opts.categories) : undefined;
    const stmt = this.stmts.readAll;
    let page: EventRow[] = [];
    let bounded = false;
    let i = 0;
    let ended = left <= 0;
    const done: IteratorResult<Envelope> = { done: true, value: undefined };
    const next = (): IteratorResult<Envelope> => {
      while (!ended) {
        if (i >= page.length) {
          // Bounded in its text (readRows); the read goes on until a page is empty.
          ({ rows: page, bounded } = readRows(stmt, { from, limit: cats ? READ_PAGE : Math.min(READ_PAGE, left) }));
          i = 0;
          if (page.length === 0) break;
        }
        const row = page[i++]!;
        from = this.pastCursor(row, from);
        // Past 2^53 - 1 (a row put there by someone else: no writer hands one out) the position
        // does not read back exactly, so reading on from it returns the same rows for ever; and
        // every row after it is past it too. The read ends here (at an error, in its category).
        if (!Number.isSafeInteger(from)) ended = true;
        // A stream over its bound has no category to pass it over by: it fails the read below.
        if (cats && !cats.has(categoryOf(row[2])) && !(bounded && isOversize(row[2]))) continue;
        if (--left <= 0) ended = true;
        return { done: false, value: envelopeOrThrow(row, bounded) };
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

  /**
   * The position of a row read on from `from`, which must be past it: pages are read on from
   * the last row's position, so a row that reads back at or before it (a position kept as text
   * that sorts after every number, in a table whose key is not the rowid) would be read again
   * for ever. The schema check refuses such a table (ledgerSchemaProblem); this stops a read
   * that meets one anyway.
   */
  private pastCursor(row: EventRow, from: number): number {
    const p = Number(row[0]);
    if (!(p > from)) throw new ConfigError(`the SQLite ledger ${this.opts.path}`, `gave position ${String(row[0]).slice(0, 40)} after position ${from}: its rows are not in position order, so it was altered; nothing more is read from it`);
    return p;
  }

  /** readAll for a reader that takes unreadable rows: they are reported in order, and skipped. */
  private async *readAllReporting(opts: ReadAllOptions): AsyncIterable<Envelope> {
    let from = opts.from ?? 0;
    let left = opts.limit ?? Infinity;
    const cats = opts.categories ? new Set(opts.categories) : undefined;
    while (left > 0) {
      const rows = readRows(this.stmts.readAll, { from, limit: READ_PAGE }).rows;
      if (rows.length === 0) return;
      for (const row of rows) {
        from = this.pastCursor(row, from);
        // Past 2^53 - 1 the read ends after this row, as in readAll.
        const last = !Number.isSafeInteger(from);
        // A row of another category is passed over undecoded, as readAll does (decoding every
        // row was most of a verified read of a few categories); one whose stream is not text
        // has no category to judge by, so it is decoded and reported.
        // So is one whose stream is over its bound (read as OVERSIZE_CELL…): its category is not known.
        if (cats && typeof row[2] === 'string' && !cats.has(categoryOf(row[2])) && !isOversize(row[2])) {
          if (last) return;
          continue;
        }
        const e = readEventRow(row);
        if ('unreadable' in e) {
          await opts.onUnreadable!(e);
          if (last) return;
          continue;
        }
        if (cats && !cats.has(categoryOf(e.stream))) continue;
        yield e;
        if (--left <= 0) return;
      }
    }
  }

  /**
   * Rows at positions below 1 (at most `limit`), where CACO never writes and no reader looks:
   * a row moved or put there is gone from every read without a trace but the hole it left, so
   * the audit asks for them (verifyLedger).
   */
  async rowsBeforeStart(limit: number): Promise<UnreadableRecord[]> {
    // Row by row off the cursor, each kept only as its record: `limit` rows of up to 16 MiB each are not held at once.
    const out: UnreadableRecord[] = [];
    for (const r of this.stmts.beforeStart.iterate(limit)) out.push(...strayRows([r]));
    return out;
  }

  /** Synchronous page read for the catch-up loop (fast path: no async iterator per event). */
  readPage(from: number, limit: number): Array<Envelope | UnreadableRecord> {
    return this.readPageCut(from, limit).page;
  }

  /** readPage, and whether the page was cut short by its text (readRows): then it does not end at the head. */
  private readPageCut(from: number, limit: number): { page: Array<Envelope | UnreadableRecord>; cut: boolean } {
    // A reader holds no position past MAX_POSITION: at it, the log it can read has ended (as on
    // PostgreSQL), so a row past it is reported once, not again at every poll.
    if (from >= MAX_POSITION) return { page: [], cut: false };
    // Plain first: the size check doubled the cost of the small reads a live subscription makes
    // (26 to 51 µs for a one-row page; the default week ~15 % slower). A cell too large to read
    // at all ("string or blob too big") takes the bounded form, so a live reader reports the row
    // and moves past it; a large one under that is read whole here, and verify-on-read refuses
    // it (its hash). readAll, readStream and the audit read bounded throughout.
    let plain: EventRow[] | undefined;
    try {
      plain = this.stmts.readPagePlain.all(from, limit);
    } catch (err) {
      if (!/too big/i.test(err instanceof Error ? err.message : '')) throw err;
    }
    const { rows, cut } = plain !== undefined ? { rows: plain, cut: false } : readRows(this.stmts.readAll, { from, limit });
    const out = new Array<Envelope | UnreadableRecord>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = readEventRow(rows[i]!);
    return { page: out, cut };
  }

  async subscribeAll(handler: EventHandler, opts: SubscribeAllOptions = {}): Promise<StoreSubscription> {
    let cut = false;
    return runCatchUpSubscription({
      from: opts.from ?? 0,
      categories: opts.categories,
      readPage: async (from, limit) => {
        const r = this.readPageCut(from, limit);
        cut = r.cut;
        return r.page;
      },
      head: async () => this.headPositionSync(),
      live: this.live,
      pollMs: this.opts.pollMs ?? 250,
      handler,
      onUnreadable: opts.onUnreadable,
      onError: opts.onError,
      giveUpAfterMs: opts.giveUpAfterMs,
      handlerFailures: opts.handlerFailures,
      storeName: 'the SQLite ledger',
      // A short page ends at the head, unless it was cut short by its text (readRows): then
      // the next is read at once, not after a poll. (The loop reads this after each page.)
      get shortPageIsHead() {
        return !cut;
      },
    });
  }

  /**
   * With worker signing, start the worker now and resolve once it has loaded (~0.5 s), so
   * the first appends need not wait for it or (with 'auto') sign here meanwhile.
   */
  async warmUp(): Promise<void> {
    if (Number.isFinite(this.commitsBeforeCheckpointer)) this.startCheckpointer();
    await Promise.all([this.signer?.whenReady(), this.checkpointer?.whenReady()]);
  }

  /** The background checkpointer's figures, while it runs (see `walCheckpoints`). */
  async walCheckpointStats(): Promise<WalCheckpointStats | undefined> {
    return this.checkpointer?.stats();
  }

  private headPositionSync(): number {
    // A row past MAX_POSITION is reported there (sql-rows.ts): so is the head, or no reader
    // could ever be caught up with it.
    return Math.min(this.stmts.headPos.get()?.p ?? 0, MAX_POSITION);
  }

  async headPosition(): Promise<number> {
    return this.headPositionSync();
  }

  async streamHeads(): Promise<ReadonlyArray<{ stream: string; revision: number; hash: string }>> {
    return this.stmts.heads.all();
  }

  /**
   * Commits are acknowledged with synchronous = NORMAL: in the write-ahead log, which SQLite
   * syncs only at a checkpoint. An anchor checkpoint signed over commits still in the page
   * cache, then a power cut, left an anchor that vouched for events the ledger no longer held,
   * and the audit called it deletion, then re-sealing, for good (a helper's review). The log
   * and the file are synced here, so what was committed before the call survives.
   */
  async durable(): Promise<void> {
    for (const file of this.durableFiles()) {
      let fd: number;
      try {
        fd = openSync(file, 'r');
      } catch (err) {
        // No log (not in WAL mode yet, or just checkpointed away): nothing of it to sync.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }

  /**
   * The files `durable` syncs: the log and the database where SQLite keeps them, beside the real
   * file. Beside a symlink's own path there is no log, and a ledger.db linked to another disk
   * had only its database file synced (the review of `durable`).
   */
  durableFiles(): string[] {
    if (this.opts.path === ':memory:') return [];
    const real = realpathSync(this.opts.path);
    return [`${real}-wal`, real];
  }

  async get(name: string): Promise<number> {
    const row = this.stmts.cpGet.get(name);
    return row === undefined ? 0 : checkpointPosition(name, row.position, `${this.opts.path}, table checkpoints,`);
  }

  async put(name: string, position: number): Promise<void> {
    this.refuseIfReadOnly();
    checkPutPosition(position);
    this.stmts.cpPut.run(name, position);
  }

  /** Every checkpoint above 0, by name (the start-up check of table-ledger-continuity.ts). */
  async listCheckpoints(): Promise<Array<{ key: string; position: number }>> {
    if (this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").get() === undefined) return [];
    // Every row, not `position > 0`: a value of another type compares above any integer, or below.
    const rows = this.db.prepare<[], { key: string; position: unknown }>(`SELECT ${boundedCell('name', MAX_READ_CELL_BYTES)} AS key, position FROM checkpoints ORDER BY name`).all();
    return rows.map((r) => ({ key: r.key, position: checkpointPosition(r.key, r.position, `${this.opts.path}, table checkpoints,`) })).filter((r) => r.position > 0);
  }

  async quarantine(r: QuarantineRecord): Promise<void> {
    this.refuseIfReadOnly();
    this.stmts.qPut.run(r.position, JSON.stringify(r));
  }

  async quarantined(): Promise<ReadonlyArray<QuarantineRecord>> {
    // SQLite keeps whatever type a row was given: text is checked as text, anything else is not a record.
    return this.stmts.qAll.all().map((x) => readQuarantineRecord(typeof x.record === 'string' ? x.record : '', typeof x.position === 'number' ? x.position : 0, `the quarantine of the SQLite ledger ${this.opts.path}`));
  }

  private refuseIfReadOnly(): void {
    if (this.opts.readOnly === true) throw new InvalidArgumentError('readOnly', `the ledger ${this.opts.path} was opened read-only; nothing is written to it`);
  }

  /** For tests of the audit: run raw SQL against the file (e.g. to tamper with a row). */
  unsafeExec(sql: string, ...params: unknown[]): void {
    this.db.prepare(sql).run(...params);
  }

  async close(): Promise<void> {
    this.closing = true;
    // Appends already made are committed, as they were when append wrote at once.
    if (this.pending.length && this.db.open) this.commitPending();
    if (this.flights.length > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
    await this.signer?.close();
    // Before the database: the last connection to close removes the log, so the worker's must go first.
    await this.checkpointer?.close();
    this.live.close();
    if (this.db.open) this.db.close();
  }
}
