import {
  BECKN_VERSION,
  type AckResponse,
  type BecknAction,
  type BecknCallbackAction,
  type BecknRequestAction,
  type Context,
  type NackResponse,
} from '../schemas/beckn/index.ts';
import type { SchemaProblem } from '../schemas/index.ts';
import { BecknErrorCode, fault, type BecknFault } from './errors.ts';
import { wwwAuthenticate, type VerifyResult } from './signing.ts';

/** Default domain code of CACO's flexibility market (configurable; not a registered value). */
export const DEFAULT_DOMAIN = 'deg:compute-flexibility';
/** Default message ttl; also the signature lifetime. */
export const DEFAULT_TTL = 'PT30S';
/** Great Britain and London (STD code 020), as in the CACO examples. */
export const DEFAULT_CONTEXT_LOCATION = { country: { code: 'GBR' }, city: { code: 'std:020' } } as const;

export interface Participant {
  readonly id: string;
  readonly uri: string;
}

export interface BuildContextInput<A extends BecknAction = BecknAction> {
  readonly action: A;
  readonly bap: Participant;
  readonly bpp?: Participant;
  readonly transactionId: string;
  readonly messageId: string;
  /** From the caller's Clock. */
  readonly nowMs: number;
  readonly domain?: string;
  readonly ttl?: string;
  readonly location?: { readonly countryCode?: string; readonly cityCode?: string } | null;
}

export type ContextOf<A extends BecknAction> = Omit<Context, 'action'> & { readonly action: A };

/** A Beckn 1.1 context; ids and time are inputs, so the function is pure. */
export function buildContext<A extends BecknAction>(input: BuildContextInput<A>): ContextOf<A> {
  const location =
    input.location === null
      ? undefined
      : input.location === undefined
        ? DEFAULT_CONTEXT_LOCATION
        : {
            ...(input.location.countryCode ? { country: { code: input.location.countryCode } } : {}),
            ...(input.location.cityCode ? { city: { code: input.location.cityCode } } : {}),
          };
  return {
    domain: input.domain ?? DEFAULT_DOMAIN,
    ...(location ? { location } : {}),
    action: input.action,
    version: BECKN_VERSION,
    bap_id: input.bap.id,
    bap_uri: input.bap.uri,
    transaction_id: input.transactionId,
    message_id: input.messageId,
    timestamp: becknTimestamp(input.nowMs),
    ttl: input.ttl ?? DEFAULT_TTL,
    ...(input.bpp ? { bpp_id: input.bpp.id, bpp_uri: input.bpp.uri } : {}),
  };
}

export const callbackOf = <A extends BecknRequestAction>(action: A): `on_${A}` => `on_${action}`;

/**
 * The context of the `on_*` answer to a request: same transaction and message id (that is how
 * the BAP pairs them), this BPP's id and uri, a new timestamp. An unsolicited callback (a
 * status push during delivery) passes a new `messageId`.
 */
export function callbackContext<A extends BecknRequestAction>(
  request: Context & { readonly action: A },
  input: { readonly bpp: Participant; readonly nowMs: number; readonly messageId?: string; readonly ttl?: string },
): ContextOf<`on_${A}`> {
  const loc = request.location;
  // Only the parts of the location CACO reads go back; whatever else the BAP put there is not echoed.
  const location = loc && (loc.country?.code !== undefined || loc.city?.code !== undefined)
    ? { ...(loc.country?.code !== undefined ? { country: { code: loc.country.code } } : {}), ...(loc.city?.code !== undefined ? { city: { code: loc.city.code } } : {}) }
    : undefined;
  const { location: _dropped, ...rest } = request;
  return {
    ...rest,
    ...(location ? { location } : {}),
    action: callbackOf(request.action),
    bpp_id: input.bpp.id,
    bpp_uri: input.bpp.uri,
    message_id: input.messageId ?? request.message_id,
    timestamp: becknTimestamp(input.nowMs),
    ttl: input.ttl ?? request.ttl ?? DEFAULT_TTL,
  } as ContextOf<`on_${A}`>;
}

export const isCallbackAction = (a: BecknAction): a is BecknCallbackAction => a.startsWith('on_');

/** Requests are signed by the BAP, callbacks by the BPP: whoever the context names. */
export function expectedSigner(context: Pick<Context, 'action' | 'bap_id' | 'bpp_id'>): string | undefined {
  return isCallbackAction(context.action) ? context.bpp_id : context.bap_id;
}

/** UTC, with milliseconds only when there are any: `2026-01-15T16:03:01Z`. */
export function becknTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Milliseconds of an ISO 8601 duration; undefined when it is not one. Years and months have
 * no fixed length, so they count as 365 and 30 days (a ttl of `P1M` is rare and coarse anyway).
 */
export function parseIsoDuration(s: string): number | undefined {
  const m = DURATION.exec(s);
  if (!m) return undefined;
  const n = (i: number): number => (m[i] === undefined ? 0 : Number(m[i]));
  const days = n(1) * 365 + n(2) * 30 + n(3) * 7 + n(4);
  return Math.round(((days * 24 + n(5)) * 60 + n(6)) * 60_000 + n(7) * 1000);
}

/** `PT30S`, `PT15M`, `PT1H30M`, `P1DT2H`: whole seconds. */
export function formatIsoDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`duration must be a non-negative number of ms, got ${ms}`);
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const min = Math.floor(s / 60);
  s -= min * 60;
  const time = `${h ? `${h}H` : ''}${min ? `${min}M` : ''}${s ? `${s}S` : ''}`;
  if (!d && !time) return 'PT0S';
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
}

/**
 * When a message stops being valid: `timestamp + ttl`; a message without `ttl` gets
 * {@link DEFAULT_TTL}, so none lives for ever. Undefined when either is unreadable.
 */
export function expiresAtMs(context: Pick<Context, 'timestamp' | 'ttl'>): number | undefined {
  const t = Date.parse(context.timestamp);
  const ttl = parseIsoDuration(context.ttl ?? DEFAULT_TTL);
  return Number.isNaN(t) || ttl === undefined ? undefined : t + ttl;
}

/**
 * A message past its ttl gets a NACK and no effect. One whose expiry cannot be read counts as
 * expired: a timestamp the schema lets through but `Date.parse` cannot read (seconds "60")
 * would otherwise never expire, and its signed bytes could be replayed once the replay memory
 * had let it go.
 */
export function isExpired(context: Pick<Context, 'timestamp' | 'ttl'>, nowMs: number, skewMs = 0): boolean {
  const until = expiresAtMs(context);
  return until === undefined || nowMs > until + skewMs;
}

export function ack(): AckResponse {
  return { message: { ack: { status: 'ACK' } } };
}

export function nack(code: string, message?: string, path?: string): NackResponse {
  return {
    message: { ack: { status: 'NACK' } },
    error: { code, ...(message !== undefined ? { message } : {}), ...(path !== undefined ? { paths: path } : {}) },
  };
}

export function nackOf(f: BecknFault): NackResponse {
  return nack(f.code, f.message, f.path);
}

/** Offending paths a NACK lists; past them it says how many more (the answer stays small). */
export const MAX_FAULT_PATHS = 20;

/** 30000 for a body that fails the schema: the offending paths (the first 20), the first few reasons. */
export function schemaFault(problems: ReadonlyArray<SchemaProblem>): BecknFault {
  const paths = [...new Set(problems.map((p) => p.path || '(root)'))];
  const reasons = problems.slice(0, 3).map((p) => `${p.path || '(root)'}: ${p.reason}`).join('; ');
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
  const unlisted = paths.length > MAX_FAULT_PATHS ? `${paths.length - MAX_FAULT_PATHS} more paths` : undefined;
  return fault(BecknErrorCode.INVALID_REQUEST, `${reasons}${more}`, [...paths.slice(0, MAX_FAULT_PATHS), ...(unlisted ? [unlisted] : [])].join(','));
}

export function expiredFault(context: Pick<Context, 'timestamp' | 'ttl'>): BecknFault {
  return fault(BecknErrorCode.INVALID_REQUEST, `the message expired (timestamp ${context.timestamp} + ttl ${context.ttl ?? `${DEFAULT_TTL}, the default when none is given`})`, 'context.ttl');
}

export interface HttpAnswer<B> {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: B;
}

/**
 * The answer to a request whose signature did not verify: 401 with a NACK and
 * `WWW-Authenticate` naming this subscriber as realm (BECKN-006). A key directory that could
 * not be asked is our fault, not the sender's: 503, so the sender retries.
 */
export function authFailure(result: Extract<VerifyResult, { ok: false }>, realm: string): HttpAnswer<NackResponse> {
  if (result.reason === 'key-directory-unavailable') {
    return { statusCode: 503, headers: {}, body: nack(BecknErrorCode.BUSINESS_ERROR, `cannot check the signature now: ${result.message}`) };
  }
  return {
    statusCode: 401,
    headers: { 'www-authenticate': wwwAuthenticate(realm) },
    body: nack(BecknErrorCode.UNAUTHORIZED, `${result.reason}: ${result.message}`),
  };
}
