/** Retry policy for the live clients: exponential back-off with full jitter. Pure. */
export interface RetryPolicy {
  /** Attempts in total, including the first. 1 means no retry. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 8_000 };

/**
 * Delay before attempt `attempt + 1`, after `attempt` (1-based) failed. Full jitter (a uniform
 * draw below the exponential cap) keeps many clients that failed together from retrying
 * together. A server's `Retry-After` is honoured as a floor, still capped by `maxDelayMs` so a
 * long hint turns into a failure the caller can act on rather than a silent stall.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number, retryAfterMs?: number | null): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.floor(random() * cap);
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
}

/** Network errors, timeouts, 5xx and 429 may pass; any other 4xx will not. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `Retry-After` as seconds or an HTTP date, in ms from `nowMs`; null if absent or unreadable. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | null {
  if (value === null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}
