/**
 * ed25519 signing shared with a worker thread. A signature costs ~30 µs of CPU, most of an
 * append's cost on the embedded stack. A batch's hashes go to shared memory; the worker
 * claims and signs its events one at a time, and the main thread, once it has nothing else
 * queued (a macrotask later), claims and signs the rest alongside — so a batch is signed on
 * both cores, and the main thread's other work (relay, handlers) goes first. ed25519 is
 * deterministic, so the signatures are byte for byte those the keyring makes, whoever signs.
 *
 * The keyring stays the one authority on keys (created, derived from a seed or read from a
 * key file on first use, exactly as its `sign` does); each key is handed, as a KeyObject, to
 * this process's worker and to nothing else. When the worker dies, every batch it had fails
 * with a SignerError naming the cause, and the next batch starts a fresh worker.
 */
import { sign, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { CacoError } from '../errors/errors.ts';
import type { SigningKeys } from './keyring.ts';
import { HASH_BYTES, newArena, SIG_BYTES, signClaimed, type Arena, type SignerReply, type SignerRequest } from './signer-protocol.ts';

const WORKER_URL = new URL('./signer-worker-boot.mjs', import.meta.url);

/** Event slots in the shared arena (~108 bytes each); a bigger batch gets memory of its own. */
const ARENA_EVENTS = 16_384;

/** How long the main thread blocks for the worker to finish the last signatures it claimed. */
const FINISH_WAIT_MS = 5;

/** A batch could not be signed: the worker refused it, died, or the signer was closed. */
export class SignerError extends CacoError {
  override readonly _tag = 'SignerError';
}

/**
 * The worker installs tsx itself (see signer-worker-boot.mjs), so it must not inherit the
 * parent's loader flags: under the `tsx` CLI they would register a second loader.
 */
function workerExecArgv(): string[] {
  return process.execArgv.filter((a, i, all) => !/tsx|preflight|loader/.test(a) && !(['--import', '--require', '--loader'].includes(a) && /tsx|preflight|loader/.test(all[i + 1] ?? '')));
}

interface Batch {
  readonly id: number;
  readonly arena: Arena;
  /** Slots in the shared arena, or undefined for a batch with memory of its own. */
  readonly region: Region | undefined;
  readonly start: number;
  readonly n: number;
  settled: boolean;
  /** The worker has answered for it: it no longer touches the batch's memory. */
  released: boolean;
  resolve(sigs: ReadonlyArray<string>): void;
  reject(err: Error): void;
}

interface Region {
  readonly start: number;
  readonly n: number;
  free: boolean;
}

const signOne = (hash: Uint8Array, key: KeyObject) => sign(null, hash, key);

export class WorkerSigner {
  private worker: Worker | null = null;
  private shared: { buffer: SharedArrayBuffer; arena: Arena } | undefined;
  /** Regions of the arena in allocation order; freed from the front (a ring). */
  private regions: Region[] = [];
  private readonly sourceIds = new Map<string, number>();
  private readonly keyObjects: KeyObject[] = [];
  private readonly keyOf = (id: number): KeyObject | undefined => this.keyObjects[id];
  private readonly batches = new Map<number, Batch>();
  private nextBatch = 1;
  private closed = false;
  private ready = false;
  /** The worker is being terminated: it stays referenced until its exit is seen. */
  private stopping = false;
  private readyWaiters: Array<{ resolve(): void; reject(err: Error): void }> = [];

  /**
   * @param opts.helpOnMainThread (default true) the main thread signs what the worker has
   *        not claimed once it is otherwise idle; false leaves every signature to the worker.
   */
  constructor(
    private readonly keys: SigningKeys,
    private readonly opts: { readonly helpOnMainThread?: boolean } = {},
  ) {}

  /**
   * Make sure `source`'s key will be with the worker before a batch that needs it. Throws,
   * synchronously, whatever the keyring throws when it cannot give the key, so the caller
   * can refuse that one append before anything is sent.
   */
  prepareKey(source: string): void {
    if (this.sourceIds.has(source)) return;
    const key = this.keys.signingKey(source);
    const id = this.keyObjects.length;
    this.keyObjects.push(key);
    this.sourceIds.set(source, id);
    if (this.worker) this.post({ kind: 'key', id, key });
  }

  /** Signatures (base64) of the given SHA-256 hashes (hex) by their sources, in order. */
  sign(sources: ReadonlyArray<string>, hashesHex: ReadonlyArray<string>): Promise<ReadonlyArray<string>> {
    if (this.closed) return Promise.reject(new SignerError('the signer is closed'));
    const n = sources.length;
    if (hashesHex.length !== n) return Promise.reject(new RangeError('one source per hash'));
    if (n === 0) return Promise.resolve([]);
    try {
      for (const s of sources) this.prepareKey(s);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    this.ensure();
    const region = this.allocate(n);
    let arena: Arena;
    let start: number;
    let oneOff: { buffer: SharedArrayBuffer; capacity: number } | undefined;
    if (region) {
      arena = this.shared!.arena;
      start = region.start;
    } else {
      const own = newArena(n);
      arena = own.arena;
      start = 0;
      oneOff = { buffer: own.buffer, capacity: n };
    }
    const hashView = Buffer.from(arena.hashes.buffer, arena.hashes.byteOffset, arena.hashes.byteLength);
    for (let i = 0; i < n; i++) {
      const e = start + i;
      arena.sourceIds[e] = this.sourceIds.get(sources[i]!)!;
      if (hashView.write(hashesHex[i]!, e * HASH_BYTES, HASH_BYTES, 'hex') !== HASH_BYTES) {
        if (region) region.free = true;
        this.compact();
        return Promise.reject(new RangeError(`hash ${i} is not 64 hex digits`));
      }
    }
    Atomics.store(arena.control, 2 * start, 0);
    Atomics.store(arena.control, 2 * start + 1, 0);
    const id = this.nextBatch++;
    return new Promise<ReadonlyArray<string>>((resolve, reject) => {
      const b: Batch = { id, arena, region, start, n, settled: false, released: false, resolve, reject };
      // Keep the process alive while a batch is out (an append is waiting on it); idle, the
      // worker never holds a process open.
      if (this.batches.size === 0) this.worker!.ref();
      this.batches.set(id, b);
      this.post({ kind: 'sign', batch: id, start, n, ...(oneOff ? { oneOff } : {}) });
      // What is queued now (relays, handlers, the next appends) runs first; then this
      // thread signs whatever the worker has not claimed yet.
      if (this.opts.helpOnMainThread !== false) setImmediate(() => this.help(b));
    });
  }

  private help(b: Batch): void {
    if (b.settled) return;
    try {
      signClaimed(b.arena, b.start, b.n, this.keyOf, signOne);
    } catch (err) {
      return this.settle(b, err instanceof Error ? err : new Error(String(err)));
    }
    // Every event is claimed; the worker may still be on the last it took (one signature):
    // waiting here is cheaper than a message back.
    const done = 2 * b.start + 1;
    const until = performance.now() + FINISH_WAIT_MS;
    for (;;) {
      const d = Atomics.load(b.arena.control, done);
      if (d >= b.n) return this.settle(b);
      const left = until - performance.now();
      if (left <= 0) return; // the worker's answer settles it
      Atomics.wait(b.arena.control, done, d, left);
    }
  }

  private settle(b: Batch, err?: Error): void {
    if (b.settled) return;
    b.settled = true;
    let out: string[] | undefined;
    if (!err) {
      const sigs = Buffer.from(b.arena.sigs.buffer, b.arena.sigs.byteOffset, b.arena.sigs.byteLength);
      out = new Array<string>(b.n);
      for (let i = 0; i < b.n; i++) out[i] = sigs.toString('base64', (b.start + i) * SIG_BYTES, (b.start + i + 1) * SIG_BYTES);
    }
    this.retire(b);
    if (err) b.reject(err);
    else b.resolve(out!);
  }

  /** Forget a batch once it is settled and the worker is done with its memory. */
  private retire(b: Batch): void {
    if (!b.settled || !b.released) return;
    this.batches.delete(b.id);
    if (this.batches.size === 0 && !this.stopping) this.worker?.unref();
    if (b.region) {
      b.region.free = true;
      this.compact();
    }
  }

  private compact(): void {
    while (this.regions.length > 0 && this.regions[0]!.free) this.regions.shift();
  }

  /** `n` contiguous free slots of the arena, after the newest region (wrapping to 0), or none. */
  private allocate(n: number): Region | undefined {
    const cap = ARENA_EVENTS;
    if (n > cap) return undefined;
    let start: number | undefined;
    if (this.regions.length === 0) start = 0;
    else {
      const oldest = this.regions[0]!.start;
      const newest = this.regions[this.regions.length - 1]!;
      const end = newest.start + newest.n;
      if (newest.start >= oldest) {
        // Used: [oldest, end). Free: [end, cap) then [0, oldest).
        if (end + n <= cap) start = end;
        else if (n <= oldest) start = 0;
      } else if (end + n <= oldest) start = end; // wrapped; free: [end, oldest)
    }
    if (start === undefined) return undefined;
    const r: Region = { start, n, free: false };
    this.regions.push(r);
    return r;
  }

  /**
   * True once a worker has started and loaded. A caller in a hurry can sign on its own
   * thread until then rather than wait; `start` begins loading without sending anything.
   */
  get isReady(): boolean {
    return this.ready;
  }

  start(): void {
    if (!this.closed) this.ensure();
  }

  /** Starts the worker if need be and resolves once it has loaded. */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.closed) return Promise.reject(new SignerError('the signer is closed'));
    // Someone is waiting on it: the worker keeps the process alive until it has loaded.
    this.ensure().ref();
    return new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Batches the worker has not answered for yet (their callers may have their signatures). */
  get inFlight(): number {
    return this.batches.size;
  }

  /**
   * Stop the worker at once, as a crash would: batches in flight fail with a SignerError.
   * The next batch starts a new worker. (For tests of a worker lost mid-batch.)
   */
  async abort(): Promise<void> {
    const w = this.worker;
    // Referenced, or the process could end before the worker's exit is seen.
    if (w) {
      this.stopping = true;
      w.ref();
      // Failed now, not at the exit: a reply the worker sent just before being stopped would
      // otherwise still be read while it terminates, and a batch in flight would succeed.
      this.lost(w, 'the signing worker exited: stopped by abort()');
      await w.terminate();
    }
  }

  /** Ends the worker; batches still in flight fail. Call after the last batch was answered. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    if (w) {
      this.stopping = true;
      w.ref();
      await w.terminate();
    }
  }

  private post(msg: SignerRequest): void {
    this.worker!.postMessage(msg);
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_URL, { execArgv: workerExecArgv() });
    w.unref();
    w.on('message', (r: SignerReply) => this.onReply(w, r));
    w.on('error', (err) => this.lost(w, `the signing worker failed: ${err instanceof Error ? err.message : String(err)}`));
    w.on('exit', (code) => this.lost(w, this.closed ? 'the signer was closed' : `the signing worker exited with code ${code}`));
    this.worker = w;
    this.ready = false;
    this.stopping = false;
    // A new worker gets fresh memory: a lost one may have been stopped mid-write.
    this.shared = newArena(ARENA_EVENTS);
    this.regions = [];
    this.post({ kind: 'arena', buffer: this.shared.buffer, capacity: ARENA_EVENTS });
    this.keyObjects.forEach((key, id) => this.post({ kind: 'key', id, key }));
    return w;
  }

  private onReply(w: Worker, r: SignerReply): void {
    if (this.worker !== w) return;
    if (r.kind === 'ready') {
      this.ready = true;
      if (this.batches.size === 0 && !this.stopping) w.unref();
      const waiters = this.readyWaiters;
      this.readyWaiters = [];
      for (const x of waiters) x.resolve();
      return;
    }
    const b = this.batches.get(r.batch);
    if (!b) return;
    b.released = true;
    if (b.settled) return this.retire(b);
    if (r.kind === 'failed') return this.settle(b, new SignerError(`signing failed: ${r.error}`));
    // The worker has nothing left to claim. If the main thread has not helped yet, the
    // worker signed every event; if it has, `help` settled the batch or is past its wait.
    if (Atomics.load(b.arena.control, 2 * b.start + 1) >= b.n) this.settle(b);
  }

  private lost(w: Worker, reason: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.ready = false;
    const batches = [...this.batches.values()];
    const readyWaiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const b of batches) {
      b.released = true;
      if (b.settled) this.retire(b);
      else this.settle(b, new SignerError(reason));
    }
    this.batches.clear();
    this.regions = [];
    for (const x of readyWaiters) x.reject(new SignerError(reason));
  }
}
