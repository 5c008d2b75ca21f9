/**
 * Callbacks to many BAPs, so that one slow BAP cannot hold up the others.
 *
 * Each BAP (keyed by the origin of its bap_uri) has its own FIFO queue and at most one POST in
 * flight, which keeps its callbacks in order (on_confirm before the on_status pushes). Across
 * BAPs, up to `maxInFlight` POSTs run at once, and when that many are running the next free
 * slot goes round-robin to the BAPs with work waiting, so a BAP with a long queue gets no more
 * turns than one with a single callback. A BAP's queue is bounded: past `maxQueuedPerBap` an
 * offer is refused with the reason, and the caller records it.
 */

export interface CallbackQueueOptions {
  /** POSTs in flight at once, over all BAPs. */
  readonly maxInFlight: number;
  /** Callbacks waiting or in flight for one BAP. */
  readonly maxQueuedPerBap: number;
}

export type Offered = { readonly accepted: true; readonly done: Promise<void> } | { readonly accepted: false; readonly reason: string };

interface Task {
  readonly run: () => Promise<unknown>;
  readonly resolve: () => void;
}

export class CallbackQueue {
  private readonly waiting = new Map<string, Task[]>();
  private readonly busy = new Set<string>();
  /** BAPs in the order they get their next turn. */
  private turn: string[] = [];
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: CallbackQueueOptions) {
    if (!(options.maxInFlight >= 1) || !(options.maxQueuedPerBap >= 1)) throw new RangeError('CallbackQueue: maxInFlight and maxQueuedPerBap must be at least 1');
  }

  /** Callbacks waiting or in flight for `key`. */
  pending(key: string): number {
    return (this.waiting.get(key)?.length ?? 0) + (this.busy.has(key) ? 1 : 0);
  }

  /** All callbacks waiting or in flight. */
  get size(): number {
    let n = this.inFlight;
    for (const q of this.waiting.values()) n += q.length;
    return n;
  }

  /** Queue `run` (one POST; it must not throw) for `key`; `done` resolves when it has run. */
  offer(key: string, run: () => Promise<unknown>): Offered {
    const pending = this.pending(key);
    if (pending >= this.options.maxQueuedPerBap) {
      return { accepted: false, reason: `${pending} callbacks already waiting for ${key} (at most ${this.options.maxQueuedPerBap})` };
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const q = this.waiting.get(key);
    if (q) q.push({ run, resolve });
    else {
      this.waiting.set(key, [{ run, resolve }]);
      if (!this.busy.has(key)) this.turn.push(key);
    }
    this.pump();
    return { accepted: true, done };
  }

  /** Drop every callback not yet started (on shutdown); returns how many. Those in flight go on. */
  dropWaiting(): number {
    let n = 0;
    for (const q of this.waiting.values()) {
      for (const t of q) t.resolve();
      n += q.length;
    }
    this.waiting.clear();
    this.turn = [];
    if (this.size === 0) this.releaseIdle();
    return n;
  }

  /** Resolves when nothing is waiting or in flight. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.turn.length > 0) {
      const key = this.turn.shift()!;
      const q = this.waiting.get(key);
      const task = q?.shift();
      if (!task) continue;
      if (q!.length === 0) this.waiting.delete(key);
      this.busy.add(key);
      this.inFlight++;
      void task
        .run()
        .catch(() => undefined)
        .then(() => {
          this.busy.delete(key);
          this.inFlight--;
          task.resolve();
          // Its next callback waits for a new turn, behind the BAPs already waiting.
          if (this.waiting.has(key)) this.turn.push(key);
          this.pump();
          if (this.size === 0) this.releaseIdle();
        });
    }
  }

  private releaseIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }
}
