import { categoryOf, type Envelope } from '../envelope/envelope.ts';
import type { EventHandler, StoreSubscription, SubscriptionErrorHandler, UnreadableHandler, UnreadableRecord } from './event-store.ts';
import { CorruptCommitError } from './jetstream-commit.ts';
import { HandlerFailure, Resumer } from './resume.ts';

/**
 * Wakes live subscriptions when the store has appended something. A live subscription waits
 * once per appended event, so waiting must be cheap: waiters share one poll timer, which is
 * not cleared when a notify comes first (its later firing is only a spurious wake-up, and
 * every waiter re-checks the store anyway).
 */
export class LiveSignal {
  private waiters: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly closeListeners: Array<() => void> = [];
  /** Counts notifications: a loop that reads it before looking at the store can tell whether anything was appended since. */
  private notified = 0;

  get version(): number {
    return this.notified;
  }

  /** The store closed: its subscriptions end instead of reading a closed store and retrying. */
  get isClosed(): boolean {
    return this.closed;
  }

  notify(): void {
    this.notified++;
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  /** Resolves on the next notify, within `ms`, or at close, whichever is first. */
  wait(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      if (this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.wakeAll();
        }, ms);
        this.timer.unref?.();
      }
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.notify();
    for (const f of this.closeListeners.splice(0)) f();
  }

  /** Told once when the store closes (at once if it has): a subscription's back-off must not outlive it. Returns the way to stop listening. */
  onClose(f: () => void): () => void {
    if (this.closed) {
      f();
      return () => undefined;
    }
    this.closeListeners.push(f);
    return () => {
      const i = this.closeListeners.indexOf(f);
      if (i >= 0) this.closeListeners.splice(i, 1);
    };
  }

  /** A poll tick: wake the waiters without claiming that anything was appended. */
  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

export interface CatchUpParams {
  from: number;
  categories: ReadonlyArray<string> | undefined;
  readPage(from: number, limit: number): Promise<Array<Envelope | UnreadableRecord>>;
  head(): Promise<number>;
  live: LiveSignal;
  pollMs: number;
  handler: EventHandler;
  /** Events read per page (default 1000). */
  pageSize?: number;
  onUnreadable?: UnreadableHandler | undefined;
  onError?: SubscriptionErrorHandler | undefined;
  giveUpAfterMs?: number | undefined;
  handlerFailures?: 'end' | 'retry' | undefined;
  /** Names the store in the error thrown for an unreadable message nobody handles. */
  storeName?: string;
  /**
   * A page shorter than asked for ends at the store's head as of that read (true of a store
   * whose positions are given in commit order, as SQLite's are; not of one where a later
   * position can commit first). Then, if nothing was appended in this process since just before
   * the read, the loop waits at once instead of reading an empty page and the head first: two
   * queries fewer per wake-up of a live subscription. Appends by another process are found by
   * the poll; one committed while a page was being delivered now waits for it (up to `pollMs`),
   * where the empty read used to find it at once.
   */
  /** Read after every page, so a getter may answer page by page (the SQLite store: not after a page cut short by its bytes). */
  shortPageIsHead?: boolean;
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
  const pageSize = p.pageSize ?? 1000;
  const resumer = new Resumer(() => position, p.onError, p.giveUpAfterMs, p.handlerFailures === 'retry');

  // A subscription ends with its store: reading a closed store failed, and was retried with a
  // back-off for as long as giveUpAfterMs (2 min), its timers keeping the process alive.
  const ended = () => closed || p.live.isClosed;
  const loop = async () => {
    while (!ended()) {
      const seen = p.live.version;
      const page = await p.readPage(position, pageSize);
      if (page.length === 0) {
        const head = await p.head();
        if (head <= position) {
          const w = caughtUpWaiters;
          caughtUpWaiters = [];
          for (const r of w) r();
          // Something appended between the read and now: read again rather than sleep.
          if (p.live.version === seen) await p.live.wait(p.pollMs);
        }
        continue;
      }
      const before = position;
      for (const e of page) {
        if (closed) return;
        if ('unreadable' in e) {
          if (!p.onUnreadable) throw new CorruptCommitError(p.storeName ?? 'ledger', e.position, e.reason);
          await p.onUnreadable(e);
        } else if (!cats || cats.has(categoryOf(e.stream))) {
          // A synchronous handler is not awaited: a microtask per event is most of the
          // delivery cost, and order is the same either way.
          try {
            const r = p.handler(e);
            if (r !== undefined) await r;
          } catch (err) {
            throw new HandlerFailure(err);
          }
        }
        position = e.position;
        // Cheap when nothing failed: a delivery ends a run of failures.
        resumer.progressed();
      }
      if (position === before && !closed) {
        // Only rows reported at a position already passed (unreadable rows past 2^53 - 1 are
        // all reported there, sql-rows.ts): reading again at once would return them again, for
        // ever, without a turn for anything else. The reader is at the end it can reach.
        const w = caughtUpWaiters;
        caughtUpWaiters = [];
        for (const r of w) r();
        await p.live.wait(p.pollMs);
        continue;
      }
      // A caught-up waiter is answered where an empty page has the head read, so it takes the long way.
      if (p.shortPageIsHead && page.length < pageSize && caughtUpWaiters.length === 0 && p.live.version === seen && !closed) await p.live.wait(p.pollMs);
    }
  };
  const releaseWaiters = () => {
    const w = caughtUpWaiters;
    caughtUpWaiters = [];
    for (const r of w) r();
  };
  // A subscription retrying with a back-off when its store closes stops at once, not after the back-off.
  const stopListening = p.live.onClose(() => resumer.close());
  const running = resumer.run(loop, ended).finally(stopListening).then(
    () => {
      // Ended by its store's close (which closed the resumer too): closed as if by its own, waiters released.
      if (closed) return;
      closed = true;
      releaseWaiters();
    },
    (err: unknown) => {
      failure = err;
      closed = true;
      releaseWaiters();
    },
  );

  return {
    get position() {
      return position;
    },
    status() {
      return resumer.status();
    },
    async close() {
      closed = true;
      resumer.close();
      p.live.notify();
      await running;
      // As the JetStream subscription does: nobody waits for a closed subscription forever.
      releaseWaiters();
    },
    async caughtUp() {
      if (failure) throw failure;
      // Closed (or its store is): nothing more will be delivered, and the store may not answer.
      if (ended()) return;
      const head = await p.head();
      // The loop may have failed or been closed while the head was read: then no one will
      // release a waiter registered now.
      if (failure) throw failure;
      if (position >= head || closed) return;
      await new Promise<void>((r) => caughtUpWaiters.push(r));
      if (failure) throw failure;
    },
  };
}
