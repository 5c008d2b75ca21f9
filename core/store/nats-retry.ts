/**
 * JetStream answers some calls with a time-out or "no responders" while a stream's replica
 * group elects a leader (a node died, was paused, or restarted). Those calls are safe to repeat
 * here: reads are reads, checkpoint writes write the same value, and a re-sent append carries
 * the same message id, which the server drops as a duplicate. So they are retried for a
 * bounded time rather than failing the agent that made them.
 */

import { JetStreamApiError } from '@nats-io/jetstream';

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
  // A JetStream API error's `code` is the server's own error number (its HTTP-like status is
  // `status`, and 503 there also covers permanent refusals such as "not currently supported in
  // clustered mode"), so the numbers an election or a restart explains are named one by one.
  // Their texts are not matched against the words below: "not currently supported in clustered
  // mode" (503, 10036) would read as "not current".
  if (err instanceof JetStreamApiError) {
    return TRANSIENT_JETSTREAM_API_CODES.has(err.code) || (err.code === 10005 && /no suitable peers/i.test(err.message));
  }
  const code = (err as { code?: unknown }).code;
  // 503: no responders (no leader to answer), from errors that are not JetStream API errors.
  if (code === 503 || code === '503') return true;
  return /no responders|temporarily unavailable|timeout|no suitable peers|not current\b|leader|disconnect|reconnect/i.test(err.message);
}

/**
 * JetStream API error numbers (nats-server's errors.json) that mean "not now" rather than "no":
 * the same request may succeed once a leader is elected or a restarted server has caught up.
 * Only the first four are sent by nats-server 2.9; the rest by newer servers. Placement that
 * finds "no suitable peers" (10005, while a node is down) is retried too, by its text, since
 * 10005 carries other placement failures as well.
 */
export const TRANSIENT_JETSTREAM_API_CODES: ReadonlySet<number> = new Set([
  10008, // JetStream system temporarily unavailable
  10009, // JetStream cluster can not handle request (asked a server that is not the leader)
  10007, // JetStream cluster not assigned to this server (placement still settling)
  10004, // incomplete results (a peer did not answer in time)
  10158, // duplicate message id is in process (the first copy of a re-sent append is still in flight)
  10163, // expected last sequence per subject temporarily unavailable
  10167, // too many requests
]);

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
