import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';
import { metricsHooks } from '../observability/hooks.ts';

/**
 * SQLite's WAL checkpoints, run by a worker thread on a connection of its own.
 *
 * In WAL mode SQLite copies the log back into the database file (a checkpoint) on the
 * connection whose commit took the log past `wal_autocheckpoint` pages (1000 by default), in
 * that commit's turn: with `synchronous = NORMAL`, two fsyncs and ~4 MB of copying every ~250
 * one-event appends, paid by whichever append crossed the line. For one appender awaiting each
 * append that was about a quarter of its wall-clock time on our 2-core machine (the runtime
 * bench's sequential appender end to end, same run: 5,916 ev/s inline, 7,669 here). SQLite's own
 * advice for this is to run checkpoints in another thread (sqlite.org/wal.html, "Automatic
 * Checkpoint"). The worker runs a PASSIVE checkpoint every `everyMs`, which never blocks a
 * writer or a reader; the appending connection keeps its automatic checkpoint as a backstop
 * at `backstopPages`, so the log stays bounded if the worker falls behind (a writer that never
 * pauses keeps the log from restarting, and the backstop's checkpoint, with little left to
 * copy, is what lets it restart). If the worker stops, the backstop goes back to SQLite's
 * default, and a process warning (`CACO_WAL_CHECKPOINTER`) and the metric
 * `caco_sqlite_checkpoint_thread_lost_total` say so.
 *
 * Durability: with `synchronous = NORMAL` the log is forced to disk only by a checkpoint, so a
 * power cut (not a process crash, which loses nothing committed) can lose what was committed
 * since the last one. That was until the log next reached 1000 pages, which at a site's usual
 * pace could be hours (the kernel's own writeback is not ordered or forced); now it is about
 * `everyMs`.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private closing = false;
  private stopped = false;
  private waiting = 0;
  private readonly ready: Promise<void>;

  private constructor(
    private readonly db: Database.Database,
    path: string,
    everyMs: number,
    private readonly backstopPages: number,
  ) {
    this.worker = new Worker(new URL('./wal-checkpoint-worker.mjs', import.meta.url), { workerData: { path, everyMs }, execArgv: [] });
    // A checkpointer never keeps a process alive on its own.
    this.worker.unref();
    this.ready = this.awaitWorker((resolve) => {
      const onReady = (m: { ready?: boolean; failed?: string }) => {
        if (!m.ready && !m.failed) return;
        this.worker.off('message', onReady);
        resolve();
      };
      this.worker.on('message', onReady);
      this.worker.once('error', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.on('message', (m: { failed?: string }) => {
      if (m.failed) this.lost(`failed: ${m.failed}`);
    });
    this.worker.once('error', (err: unknown) => this.lost(`failed: ${err instanceof Error && err.message ? err.message : String(err)}`));
    this.worker.once('exit', (code) => this.lost(`exited with code ${code}`));
    db.pragma(`wal_autocheckpoint = ${backstopPages}`);
  }

  /**
   * Start checkpointing `path`, the file `db` appends to (not ':memory:').
   * @param everyMs how often the worker checkpoints (default 100 ms)
   * @param backstopPages the appending connection's own threshold meanwhile (default 10,000
   *   pages, ~40 MB of log at 4 KiB pages, the most the log file grows to under load)
   */
  static start(db: Database.Database, path: string, opts: { everyMs?: number; backstopPages?: number } = {}): WalCheckpointer {
    const everyMs = opts.everyMs ?? 100;
    const backstopPages = opts.backstopPages ?? 10_000;
    if (!(Number.isInteger(everyMs) && everyMs > 0)) throw new RangeError(`everyMs must be a positive integer; got ${everyMs}`);
    if (!(Number.isInteger(backstopPages) && backstopPages > 0)) throw new RangeError(`backstopPages must be a positive integer; got ${backstopPages}`);
    return new WalCheckpointer(db, path, everyMs, backstopPages);
  }

  /** Resolves once the worker has opened the file (or has stopped). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** False once the worker has stopped, asked to or not. */
  get running(): boolean {
    return !this.stopped;
  }

  /** What the worker has done so far; undefined once it has stopped. */
  async stats(): Promise<WalCheckpointStats | undefined> {
    if (this.stopped) return undefined;
    return this.awaitWorker<WalCheckpointStats | undefined>((resolve) => {
      const onMessage = (m: { stats?: WalCheckpointStats }) => {
        if (!m.stats) return;
        done(m.stats);
      };
      const onExit = () => done(undefined);
      const done = (s: WalCheckpointStats | undefined) => {
        this.worker.off('message', onMessage);
        this.worker.off('exit', onExit);
        resolve(s);
      };
      this.worker.on('message', onMessage);
      this.worker.once('exit', onExit);
      this.worker.postMessage('stats');
    });
  }

  /** Stop the worker and close its connection; the appending connection's checkpoints go back to SQLite's default. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.closing = true;
    const exited = this.awaitWorker<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('close');
    // The worker closes its connection and its port; terminate is the fallback for one stuck in a
    // checkpoint (a slow disk), and harmless once it has gone.
    const timer = setTimeout(() => void this.worker.terminate(), 5_000);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A promise settled by the worker's events. The worker is unref'd, so while something
   * waits on it, it is ref'd: otherwise a process with nothing else to do would end before
   * the worker's answer arrives.
   */
  private awaitWorker<T>(executor: (resolve: (v: T) => void) => void): Promise<T> {
    this.waiting++;
    this.worker.ref();
    return new Promise<T>(executor).finally(() => {
      if (--this.waiting === 0) this.worker.unref();
    });
  }

  private lost(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    if (this.closing) return;
    metricsHooks.checkpointThreadLost();
    process.emitWarning(`the SQLite checkpoint thread ${why}; checkpoints run in the appending thread again (every 1000 pages, SQLite's default; was a backstop at ${this.backstopPages})`, { code: 'CACO_WAL_CHECKPOINTER' });
  }
}

export interface WalCheckpointStats {
  /** Checkpoints the worker ran. */
  readonly checkpoints: number;
  /** Of those, how many found another checkpoint running (the backstop's, another process's). */
  readonly busy: number;
  /** Log frames the worker copied into the database file. */
  readonly framesCopied: number;
  /** Checkpoints that failed outright (SQLITE_BUSY from another checkpoint, an I/O error). */
  readonly failures: number;
  readonly lastError?: string;
}
