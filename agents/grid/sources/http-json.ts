import type { Schema } from 'effect';
import { decodeWith, type AnySchema } from '../../../schemas/index.ts';
import { backoffDelayMs, DEFAULT_RETRY, isRetryableStatus, parseRetryAfterMs, type RetryPolicy } from './backoff.ts';
import { BadResponseError, SourceUnavailableError } from './errors.ts';
import { readBoundedResponseText } from '../../../core/http/index.ts';

export type FetchFn = (input: string, init: { method: 'GET'; headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>;

export interface HttpOptions {
  readonly baseUrl: string;
  /** Defaults to Node's global `fetch`; tests inject their own. */
  readonly fetch?: FetchFn;
  /** Per attempt, covering the headers and the whole body. */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Jitter source; tests fix it. */
  readonly random?: () => number;
  /**
   * Waits between attempts. Back-off is about the remote server, not about domain time, so it
   * uses real timers rather than the agent's Clock; tests inject an instant sleep.
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Wall time, only to read an HTTP-date `Retry-After`. */
  readonly wallNow?: () => number;
  /** The most of a response body read, decompressed (default 8 MiB); past it the answer is refused. */
  readonly maxResponseBytes?: number;
}

export interface JsonRequest {
  /** The endpoint's template, e.g. `carbon-intensity /intensity/{from}/fw48h`; names it in errors. */
  readonly endpoint: string;
  /** Path below `baseUrl`, already encoded. */
  readonly path: string;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  /** Cancels the request and any retries (e.g. on shutdown). */
  readonly signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * The largest answer these APIs give is a few hundred kB (14 days of half-hours). A 200 MB
 * body, or 300 kB of gzip that inflates to 300 MB, was read whole into memory inside the
 * timeout: 600 MB more RSS per call, 48 calls a tick (a helper's review).
 */
const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One HTTP attempt's outcome, before the retry decision. */
type Attempt =
  | { kind: 'ok'; body: string }
  | { kind: 'http'; status: number; body: string; retryAfter: string | null }
  | { kind: 'network'; reason: string }
  /** The answer broke a bound (its size): asking again would get the same. */
  | { kind: 'refused'; reason: string };

/** GETs JSON with timeout and retries, and decodes it with an Effect Schema. */
export class HttpJsonClient {
  readonly baseUrl: string;
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly wallNow: () => number;
  private readonly maxResponseBytes: number;

  constructor(opts: HttpOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const r = opts.retry ?? {};
    this.policy = {
      maxAttempts: r.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
      baseDelayMs: r.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
      maxDelayMs: r.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    };
    if (!(this.policy.maxAttempts >= 1) || !Number.isInteger(this.policy.maxAttempts)) throw new RangeError('retry.maxAttempts must be an integer >= 1');
    this.random = opts.random ?? Math.random;
    this.sleep = opts.sleep ?? realSleep;
    this.wallNow = opts.wallNow ?? Date.now;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  urlOf(req: JsonRequest): string {
    const qs = (req.query ?? []).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    return `${this.baseUrl}${req.path}${qs ? `?${qs}` : ''}`;
  }

  async get<S extends AnySchema>(req: JsonRequest, schema: S): Promise<Schema.Schema.Type<S>> {
    const url = this.urlOf(req);
    const body = await this.fetchText(req, url);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (e) {
      throw new BadResponseError(req.endpoint, url, [{ path: '', reason: `not JSON (${(e as Error).message}): ${snippet(body)}` }]);
    }
    const decoded = decodeWith(schema, json);
    if (!decoded.ok) throw new BadResponseError(req.endpoint, url, decoded.problems);
    return decoded.value;
  }

  private async fetchText(req: JsonRequest, url: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      if (req.signal?.aborted) throw new SourceUnavailableError(req.endpoint, url, 'cancelled by the caller', null, attempt - 1, false);
      const a = await this.attempt(url, req.signal);
      if (a.kind === 'ok') return a.body;
      if (a.kind === 'refused') throw new SourceUnavailableError(req.endpoint, url, a.reason, null, attempt, false);
      if (req.signal?.aborted) throw new SourceUnavailableError(req.endpoint, url, 'cancelled by the caller', null, attempt, false);
      const status = a.kind === 'http' ? a.status : null;
      const retryable = a.kind === 'network' || isRetryableStatus(a.kind === 'http' ? a.status : 0);
      const reason = a.kind === 'network' ? a.reason : `HTTP ${a.status}${errorMessage(a.body)}`;
      if (!retryable || attempt >= this.policy.maxAttempts) {
        throw new SourceUnavailableError(req.endpoint, url, reason, status, attempt, retryable);
      }
      const retryAfter = a.kind === 'http' ? parseRetryAfterMs(a.retryAfter, this.wallNow()) : null;
      await this.sleep(backoffDelayMs(attempt, this.policy, this.random, retryAfter));
    }
  }

  private async attempt(url: string, outer: AbortSignal | undefined): Promise<Attempt> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.timeoutMs);
    const signal = outer ? AbortSignal.any([outer, timeout.signal]) : timeout.signal;
    try {
      const res = await this.fetchFn(url, { method: 'GET', headers: { accept: 'application/json' }, signal });
      const body = await readBoundedResponseText(res, this.maxResponseBytes);
      if (body === undefined) return { kind: 'refused', reason: `the response is larger than ${this.maxResponseBytes} bytes (decompressed); not read` };
      if (res.ok) return { kind: 'ok', body };
      return { kind: 'http', status: res.status, body, retryAfter: res.headers.get('retry-after') };
    } catch (e) {
      if (timeout.signal.aborted) return { kind: 'network', reason: `timed out after ${this.timeoutMs} ms` };
      return { kind: 'network', reason: networkReason(e) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function snippet(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? `${one.slice(0, 120)}…` : one || '(empty body)';
}

/** The provider's own error text, if the body carries one (`{"error":{"code","message"}}`). */
function errorMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown; code?: unknown }; message?: unknown };
    const m = j.error?.message ?? j.message ?? j.error?.code;
    if (typeof m === 'string' && m) return `: ${m}`;
  } catch {
    // not JSON: fall through to a snippet of the text
  }
  return body.trim() ? `: ${snippet(body)}` : '';
}

function networkReason(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    const detail = cause instanceof Error ? `: ${(cause as Error & { code?: string }).code ?? cause.message}` : '';
    return `network error: ${e.message}${detail}`;
  }
  return `network error: ${String(e)}`;
}
