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
  if (err instanceof JetStreamApiError) {
    if (TRANSIENT_JETSTREAM_API_CODES.has(err.code)) return true;
    // A reply with no error number (the server's own 503 for a proposal its raft group refused,
    // "raft: not leader" and the like), or one whose number only wraps the server's text, says
    // what went wrong in words alone. Any other number's text is not read: "not currently
    // supported in clustered mode" (10036) would read as "not current".
    const code = err.code as number | undefined;
    return (code === undefined || code === 0 || TEXT_CARRYING_API_CODES.has(code)) && TRANSIENT_WORDS.test(err.message);
  }
  const code = (err as { code?: unknown }).code;
  // 503: no responders (no leader to answer), from errors that are not JetStream API errors.
  if (code === 503 || code === '503') return true;
  return TRANSIENT_WORDS.test(err.message);
}

const TRANSIENT_WORDS = /no responders|temporarily unavailable|timeout|no suitable peers|not current\b|leader|disconnect|reconnect/i;

/**
 * JetStream API error numbers (nats-server's errors.json) that mean "not now" rather than "no":
 * the same request may succeed once a leader is elected or a restarted server has caught up.
 * Only the first four are sent by nats-server 2.9; the rest by newer servers.
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

/**
 * JetStream API error numbers whose text is the server's own error ("{err}" in errors.json):
 * no peers for placement (10005, "no suitable peers" while a node is down), raft (10041), stream
 * store (10077), general stream (10051), stream assignment (10048), consumer create (10012),
 * stream create, update and delete (10049, 10069, 10050), message delete (10057), purge (10110),
 * and source and mirror consumer setup (10045, 10029): an election-time failure of any of them
 * says so only in its words.
 */
const TEXT_CARRYING_API_CODES: ReadonlySet<number> = new Set([10005, 10041, 10077, 10051, 10048, 10012, 10049, 10069, 10050, 10057, 10110, 10045, 10029]);

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
