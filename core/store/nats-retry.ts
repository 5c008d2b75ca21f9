/**
 * JetStream answers some calls with a time-out or "no responders" while a stream's replica
 * group elects a leader (a node died, was paused, or restarted). Those calls are safe to repeat
 * here: reads are reads, checkpoint writes write the same value, and a re-sent append carries
 * the same message id, which the server drops as a duplicate. So they are retried for a
 * bounded time rather than failing the agent that made them.
 */

/** How long a call keeps trying through an election before the error reaches the caller. */
export const DEFAULT_UNAVAILABLE_BUDGET_MS = 60_000;

const BACKOFF_MS = [50, 100, 250, 500, 1000, 2000];

/** A failure that a leader election or a reconnect explains, so the same call may succeed soon. */
export function isTransientNatsError(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error)) return false;
  // A refused permission comes back as a failed request too, but no election will grant it.
  if (isPermissionViolation(err)) return false;
  // nats.js wraps "no responders" from a stream without a leader as "jetstream is not enabled".
  if (depth < 3 && err.cause !== undefined && isTransientNatsError(err.cause, depth + 1)) return true;
  const name = err.name || err.constructor.name;
  if (name === 'TimeoutError' || name === 'NoRespondersError' || name === 'RequestError') return true;
  const code = (err as { code?: unknown }).code;
  // 503: no responders (no leader to answer); 10008: JetStream temporarily unavailable.
  if (code === 503 || code === '503' || code === 10008) return true;
  return /no responders|temporarily unavailable|timeout|no suitable peers|not current|leader|disconnect|reconnect/i.test(err.message);
}

function isPermissionViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === 'PermissionViolationError' || /permissions violation/i.test(e.message)) return true;
  }
  return false;
}

export interface RetryOptions {
  readonly budgetMs?: number;
  /** Told about each retry (for a log line or a counter). */
  readonly onRetry?: (err: unknown, attempt: number) => void;
}

export async function retryWhileUnavailable<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.budgetMs ?? DEFAULT_UNAVAILABLE_BUDGET_MS);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientNatsError(err) || Date.now() >= deadline) throw err;
      opts.onRetry?.(err, attempt);
      const wait = Math.min(BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)]!, Math.max(0, deadline - Date.now()));
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
