import type { Context } from '../schemas/beckn/index.ts';
import { BecknErrorCode, fault, type BecknFault } from './errors.ts';
import { DEFAULT_TTL, expiredFault, isExpired, parseIsoDuration } from './context.ts';
import { MAX_SIGNATURE_LIFETIME_SEC } from './signing.ts';
import { isNatsUri, subjectOfNatsUri } from './nats-binding.ts';
import { DAY_MS, HOUR_MS } from '../core/time/index.ts';
import { duplicateKeyProblem, jsonDepth } from '../core/runtime/index.ts';

/**
 * Checks a BPP (or a BAP) makes on a request before it believes anything in it: the bytes are
 * Unicode text, the dates are plausible, the callback address is the sender's own. Pure: the
 * time and the registered address come in.
 */

/** The limits, in one place so docs/market.md and the code cannot drift apart. */
export const INTAKE_LIMITS = {
  /** Largest body taken (HTTP 413 above). */
  bodyBytes: 1_048_576,
  /** A message without `ttl` expires this long after its `timestamp`. */
  defaultTtl: DEFAULT_TTL,
  /** Longest `ttl` taken: a message must not stay valid for days. Also the longest a signature may live. */
  maxTtlMs: MAX_SIGNATURE_LIFETIME_SEC * 1000,
  /** How far ahead of our clock `context.timestamp` may be (clock skew between participants). */
  timestampAheadMs: 60_000,
  /** No date-time in a request may lie further ahead than this (offers are hours ahead, not years). */
  farFutureMs: 366 * DAY_MS,
  /**
   * Longest string (or key) taken anywhere in a request, in code points. What the BPP echoes
   * (billing, context fields, support ref_id) is recorded on the ledger with its callback, and
   * a callback's target (the bap_uri) may be at most this long.
   */
  maxTextChars: 2_048,
  /**
   * Deepest nesting of objects and arrays taken (a request is a dozen levels deep), checked on
   * the text before it is parsed: every check after the parse walks the body recursively.
   */
  maxDepth: 32,
} as const;

/** A body nested deeper than INTAKE_LIMITS.maxDepth, found on its text in one linear pass. */
export function nestingFault(text: string, max: number = INTAKE_LIMITS.maxDepth): BecknFault | undefined {
  return jsonDepth(text, max) > max ? fault(BecknErrorCode.INVALID_REQUEST, `nested too deep: more than ${max} levels of objects and arrays`, '(root)') : undefined;
}

const FATAL_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text, or the fault when its bytes are not UTF-8: such a body is never echoed. */
export function decodeUtf8(raw: Uint8Array): { ok: true; text: string } | { ok: false; fault: BecknFault } {
  try {
    return { ok: true, text: FATAL_UTF8.decode(raw) };
  } catch {
    let at = 0;
    // Find the first bad byte for the message: the longest prefix that decodes.
    for (let lo = 0, hi = raw.length; lo <= hi; ) {
      const mid = (lo + hi) >> 1;
      try {
        FATAL_UTF8.decode(raw.subarray(0, mid));
        at = mid;
        lo = mid + 1;
      } catch {
        hi = mid - 1;
      }
    }
    return { ok: false, fault: fault(BecknErrorCode.INVALID_REQUEST, `the body is not valid UTF-8 (first bad byte at offset ${at})`, '(root)') };
  }
}

/**
 * A request's (or callback's) body read as the intakes take it: UTF-8 text, nesting checked on
 * the text before it is parsed, JSON, then no lone surrogate and no string too long. The first
 * fault, or the parsed value (not yet checked against any schema).
 */
export function readCheckedBody(raw: Uint8Array): { ok: true; json: unknown } | { ok: false; fault: BecknFault } {
  const text = decodeUtf8(raw);
  if (!text.ok) return text;
  const deep = nestingFault(text.text);
  if (deep) return { ok: false, fault: deep };
  let json: unknown;
  try {
    json = JSON.parse(text.text);
  } catch (e) {
    return { ok: false, fault: fault(BecknErrorCode.INVALID_REQUEST, `the body is not JSON: ${(e as Error).message}`, '(root)') };
  }
  // A name twice in one object: JSON.parse keeps the last, a reader of the BAP's signed bytes that
  // keeps the first reads another order ("value":"0.1","value":"1.0" confirmed 1,000 kW).
  const twice = duplicateKeyProblem(text.text);
  if (twice) return { ok: false, fault: fault(BecknErrorCode.INVALID_REQUEST, twice, '(root)') };
  const notText = unpairedSurrogateFault(json) ?? longTextFault(json);
  return notText ? { ok: false, fault: notText } : { ok: true, json };
}

const isWellFormed = (s: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/** A JSON `"\ud800"` escape is valid JSON but not Unicode text: refuse it, keys included. */
export function unpairedSurrogateFault(json: unknown, path = ''): BecknFault | undefined {
  if (typeof json === 'string') return isWellFormed(json) ? undefined : fault(BecknErrorCode.INVALID_REQUEST, 'a string holds an unpaired UTF-16 surrogate (not Unicode text)', path || '(root)');
  if (Array.isArray(json)) {
    for (const [i, v] of json.entries()) {
      const f = unpairedSurrogateFault(v, `${path}[${i}]`);
      if (f) return f;
    }
    return undefined;
  }
  if (typeof json === 'object' && json !== null) {
    for (const [k, v] of Object.entries(json)) {
      if (!isWellFormed(k)) return fault(BecknErrorCode.INVALID_REQUEST, 'a key holds an unpaired UTF-16 surrogate (not Unicode text)', path || '(root)');
      const f = unpairedSurrogateFault(v, path ? `${path}.${k}` : k);
      if (f) return f;
    }
  }
  return undefined;
}

const longerThan = (s: string, max: number): boolean => s.length > max && Array.from(s).length > max;

/** The first string or key longer than `max` code points (INTAKE_LIMITS.maxTextChars), with its path; nothing of it is echoed. */
export function longTextFault(json: unknown, max: number = INTAKE_LIMITS.maxTextChars): BecknFault | undefined {
  const tooLong = (path: string, what: string) => fault(BecknErrorCode.INVALID_REQUEST, `${what} is longer than ${max} characters`, path || '(root)');
  // Iterative: the body is at most 1 MiB, but it may be nested deep.
  const stack: Array<{ v: unknown; path: string }> = [{ v: json, path: '' }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (longerThan(v, max)) return tooLong(path, 'a string');
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]` });
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v);
      for (const [k] of entries) if (longerThan(k, max)) return tooLong(path, 'a key');
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ v: entries[i]![1], path: path ? `${path}.${entries[i]![0]}` : entries[i]![0] });
    }
  }
  return undefined;
}

/**
 * A string that is, as a whole, shaped as an RFC 3339 date-time (JSON Schema's format
 * "date-time"): date, `T` (or `t` or a space, as RFC 3339 and ajv-formats allow), time with
 * seconds, an optional fraction, and `Z` or a `±hh:mm` offset. Only the shape is matched, not
 * the ranges: a leap second (`:60`, which the schema takes) or an hour 25 is shaped as a
 * date-time, and Date.parse gives NaN for both, so such a string is refused as no instant.
 * Free text that merely begins with a date-time ("2026-01-15T16:03:01 UTC", an ISO interval
 * "…Z/…Z") is not one; the schema judges it where it stands.
 */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * The instant a date-time names, or NaN: Date.parse, except that a day its month does not have
 * is no instant. Date.parse rolls "2026-02-30" over to 2 March, an instant the sender never
 * wrote, which would then pass the expiry and far-future checks as that other day.
 */
export function instantOf(v: string): number {
  const t = Date.parse(v);
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(v);
  if (Number.isNaN(t) || !m) return t;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate() ? t : NaN;
}

/**
 * The time checks of a request at `nowMs`: expired (a missing ttl counts as the default), a ttl
 * too long, a timestamp ahead of our clock, or any date-time absurdly far ahead (a window in
 * 2099 is a mistake or a probe, not an order).
 */
export function timeFault(body: { readonly context: Pick<Context, 'timestamp' | 'ttl'> }, nowMs: number, who = 'this BPP'): BecknFault | undefined {
  const c = body.context;
  const ttlMs = c.ttl === undefined ? undefined : parseIsoDuration(c.ttl);
  // Unreadable, the message's expiry is unknown: refused, never taken as "does not expire".
  if (c.ttl !== undefined && ttlMs === undefined) return fault(BecknErrorCode.INVALID_REQUEST, `ttl ${c.ttl} is not an ISO 8601 duration`, 'context.ttl');
  if (ttlMs !== undefined && ttlMs > INTAKE_LIMITS.maxTtlMs) {
    return fault(BecknErrorCode.INVALID_REQUEST, `ttl ${c.ttl} is longer than the ${INTAKE_LIMITS.maxTtlMs / HOUR_MS} h ${who} accepts`, 'context.ttl');
  }
  const sentMs = instantOf(c.timestamp);
  if (Number.isNaN(sentMs)) return fault(BecknErrorCode.INVALID_REQUEST, `timestamp ${c.timestamp} is not a valid instant`, 'context.timestamp');
  if (isExpired(c, nowMs)) return expiredFault(c);
  if (sentMs > nowMs + INTAKE_LIMITS.timestampAheadMs) {
    return fault(BecknErrorCode.INVALID_REQUEST, `timestamp ${c.timestamp} is ${Math.round((sentMs - nowMs) / 1000)} s ahead of ${who}'s clock (at most ${INTAKE_LIMITS.timestampAheadMs / 1000} s)`, 'context.timestamp');
  }
  return farFutureFault(body, nowMs + INTAKE_LIMITS.farFutureMs, '');
}

function farFutureFault(v: unknown, limitMs: number, path: string): BecknFault | undefined {
  if (typeof v === 'string') {
    if (!DATE_TIME.test(v)) return undefined;
    const t = instantOf(v);
    // A date-time that cannot be read would pass every comparison below; it is no date.
    if (Number.isNaN(t)) return fault(BecknErrorCode.INVALID_REQUEST, `date ${v} is not a valid instant`, path);
    return t > limitMs ? fault(BecknErrorCode.INVALID_REQUEST, `date ${v} is more than ${Math.round(INTAKE_LIMITS.farFutureMs / DAY_MS)} days ahead`, path) : undefined;
  }
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const f = farFutureFault(x, limitMs, `${path}[${i}]`);
      if (f) return f;
    }
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      const f = farFutureFault(x, limitMs, path ? `${path}.${k}` : k);
      if (f) return f;
    }
  }
  return undefined;
}

/**
 * Callbacks go only to the address the sender registered (its key directory entry's `url`):
 * the same origin (scheme, host and port), or for a `nats:` address the same subject prefix. Otherwise a BAP could make the BPP POST signed
 * messages to any URL, services on the BPP's own host included. The BAP holds a BPP to the same
 * rule for `bpp_uri`, where it sends select, init and confirm.
 */
export function callbackAddressFault(bapUri: string, registeredUrl: string | undefined, subscriberId: string, field: 'bap_uri' | 'bpp_uri' = 'bap_uri'): BecknFault | undefined {
  const path = `context.${field}`;
  if (registeredUrl === undefined) {
    return fault(BecknErrorCode.INVALID_REQUEST, `no ${field === 'bap_uri' ? 'callback ' : ''}address is registered for "${subscriberId}" (the url of its key directory entry); ${field === 'bap_uri' ? 'callbacks' : 'messages'} go only to a registered address`, path);
  }
  // Over NATS the address is a subject prefix (beckn/nats-binding.ts): it must be the registered one exactly.
  if (isNatsUri(bapUri) || isNatsUri(registeredUrl)) {
    if (isNatsUri(bapUri) && subjectOfNatsUri(bapUri) === undefined) return fault(BecknErrorCode.INVALID_REQUEST, `${field} is not a nats:<subject> URI (dot-separated tokens of letters, digits, "_" and "-")`, path);
    if (bapUri !== registeredUrl) return fault(BecknErrorCode.INVALID_REQUEST, `${field} is not the address registered for "${subscriberId}" (${registeredUrl})`, path);
    return undefined;
  }
  let registered: URL;
  let asked: URL;
  try {
    registered = new URL(registeredUrl);
  } catch {
    return fault(BecknErrorCode.INVALID_REQUEST, `the url registered for "${subscriberId}" is not a URL; callbacks go only to a registered address`, path);
  }
  try {
    asked = new URL(bapUri);
  } catch {
    return fault(BecknErrorCode.INVALID_REQUEST, `${field} is not a URL`, path);
  }
  if (asked.origin !== registered.origin || asked.username !== '' || asked.password !== '') {
    return fault(BecknErrorCode.INVALID_REQUEST, `${field} is not at the address registered for "${subscriberId}" (${registered.origin})`, path);
  }
  return undefined;
}
