import type { SubscriptionErrorHandler, SubscriptionStatus } from './event-store.ts';
import { CorruptCommitError } from './jetstream-commit.ts';

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const DEFAULT_GIVE_UP_MS = 120_000;

/**
 * A failure of the subscriber's own handler, as opposed to the subscription's reading. By
 * default it ends the subscription at once (a projection with a bug must not spin); a
 * subscriber that asks for `handlerFailures: 'retry'` gets it retried like a lost consumer.
 */
export class HandlerFailure {
  constructor(readonly cause: unknown) {}
}

/** The wait before attempt `attempt + 1` after `attempt` failures in a row. */
export function backoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
}

/**
 * Keeps a subscription's loop alive: a failure is reported and the loop started again from
 * the subscription's own position after a back-off, until it has failed for `giveUpAfterMs`
 * without delivering anything. A loop that ends while nobody closed it is a failure too:
 * that is the silent stop this exists to prevent.
 */
export class Resumer {
  private state: SubscriptionStatus['state'] = 'running';
  private attempts = 0;
  private failingSince: number | undefined;
  private lastError: string | undefined;
  private wakeSleep: (() => void) | undefined;

  constructor(
    private readonly position: () => number,
    private readonly onError: SubscriptionErrorHandler | undefined,
    private readonly giveUpAfterMs = DEFAULT_GIVE_UP_MS,
    private readonly retryHandlerFailures = false,
  ) {}

  /** Something was delivered: the failures so far are over. */
  progressed(): void {
    if (this.attempts === 0 && this.state === 'running') return;
    this.attempts = 0;
    this.failingSince = undefined;
    this.lastError = undefined;
    if (this.state === 'retrying') this.state = 'running';
  }

  status(): SubscriptionStatus {
    return { state: this.state, position: this.position(), attempts: this.attempts, ...(this.lastError !== undefined ? { error: this.lastError } : {}) };
  }

  /** Ends a back-off at once (the subscription is closing). */
  close(): void {
    if (this.state !== 'failed') this.state = 'closed';
    this.wakeSleep?.();
  }

  /** Runs `once` until `closed()`; throws the last error (a handler's: its cause) once it gives up. */
  async run(once: () => Promise<void>, closed: () => boolean): Promise<void> {
    for (;;) {
      if (closed()) return;
      try {
        await once();
        if (closed()) return;
        throw new Error('the subscription stopped although nobody closed it');
      } catch (thrown) {
        if (closed()) return;
        const err = thrown instanceof HandlerFailure ? thrown.cause : thrown;
        this.attempts++;
        const now = Date.now();
        this.failingSince ??= now;
        this.lastError = err instanceof Error ? err.message : String(err);
        // A message nobody can read, for a reader that cannot pass over it (no onUnreadable):
        // reading it again will not help.
        const fatal = (thrown instanceof HandlerFailure && !this.retryHandlerFailures) || err instanceof CorruptCommitError || now - this.failingSince >= this.giveUpAfterMs;
        this.state = fatal ? 'failed' : 'retrying';
        try {
          this.onError?.(err, { attempt: this.attempts, fatal, position: this.position() });
        } catch {
          // A reporter that throws must not turn a retry into a stop.
        }
        if (fatal) throw err;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoffMs(this.attempts));
          this.wakeSleep = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeSleep = undefined;
      }
    }
  }
}
