import { categoryOf, type Envelope } from '../envelope.ts';
import type { EventHandler, StoreSubscription } from './event-store.ts';

/** Wakes live subscriptions when the store has appended something. */
export class LiveSignal {
  private waiters = new Set<() => void>();
  private closed = false;

  notify(): void {
    const w = this.waiters;
    this.waiters = new Set();
    for (const r of w) r();
  }

  /** Resolves on the next notify, after `ms`, or at close, whichever is first. */
  wait(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      t.unref?.();
      this.waiters.add(done);
    });
  }

  close(): void {
    this.closed = true;
    this.notify();
  }
}

export interface CatchUpParams {
  from: number;
  categories: ReadonlyArray<string> | undefined;
  readPage(from: number, limit: number): Promise<Envelope[]>;
  head(): Promise<number>;
  live: LiveSignal;
  pollMs: number;
  handler: EventHandler;
  onError?: (err: unknown, event: Envelope) => void;
}

/**
 * One loop serves catch-up and live alike: read the next page after the last delivered
 * position, deliver it in order, and when a page comes back empty wait for the store to say
 * something was appended. Because "live" is just "the next page", there is no boundary at
 * which an event can be skipped or delivered twice.
 */
export function runCatchUpSubscription(p: CatchUpParams): StoreSubscription {
  let position = p.from;
  let closed = false;
  let caughtUpWaiters: Array<() => void> = [];
  const cats = p.categories ? new Set(p.categories) : undefined;
  let failure: unknown;

  const loop = async () => {
    while (!closed) {
      const page = await p.readPage(position, 1000);
      if (page.length === 0) {
        const head = await p.head();
        if (head <= position) {
          const w = caughtUpWaiters;
          caughtUpWaiters = [];
          for (const r of w) r();
          await p.live.wait(p.pollMs);
        }
        continue;
      }
      for (const e of page) {
        if (closed) return;
        if (!cats || cats.has(categoryOf(e.stream))) await p.handler(e);
        position = e.position;
      }
    }
  };
  const running = loop().catch((err: unknown) => {
    failure = err;
    closed = true;
    const w = caughtUpWaiters;
    caughtUpWaiters = [];
    for (const r of w) r();
  });

  return {
    get position() {
      return position;
    },
    async close() {
      closed = true;
      p.live.notify();
      await running;
    },
    async caughtUp() {
      if (failure) throw failure;
      const head = await p.head();
      if (position >= head) return;
      await new Promise<void>((r) => caughtUpWaiters.push(r));
      if (failure) throw failure;
    },
  };
}
