/**
 * The outside-agent wire protocol (docs/external-agent.md): subjects, error codes and reply
 * shapes. Pure; the gateway (gateway.ts) serves it.
 */

/** Subjects of one site's gateway and queries. */
export const gatewaySubjects = {
  announce: (site: string) => `caco.${site}.gw.announce`,
  append: (site: string) => `caco.${site}.gw.append`,
  read: (site: string) => `caco.${site}.gw.read`,
  query: (site: string, name: string) => `caco.${site}.q.${name}`,
};

/** The gateway's service name in `$SRV.PING/INFO/STATS` (NATS services framework). */
export const GATEWAY_SERVICE = 'caco-gateway';

/** The stream category outside agents' facts are stored in: `ext-<name>`. */
export const EXT_CATEGORY = 'ext';
export const extStreamOf = (name: string) => `${EXT_CATEGORY}-${name}`;

/**
 * Site-owned types an outside agent may publish (their schemas are the site's, in schemas/):
 * every registered type under `onsite.` (`onsite.battery.state.reported`, …). Anything else it
 * publishes must be its own `ext.*` type with the JSON Schema it announced.
 */
export const OUTSIDE_FACT_PREFIX = 'onsite.';
export const EXT_TYPE_PREFIX = 'ext.';
/** The party the gateway signs its own records as, unless told another. */
export const GATEWAY_PARTY = 'gateway';

/**
 * What every `ext.*` type of the agent `name` starts with: `ext.<name>.`. A fact is relayed on
 * `caco.<site>.evt.<type>`, so a consumer following one agent subscribes to `ext.<name>.>`; the
 * type, not only the stream, must name the party that publishes it, or one party could publish
 * another's types (`ext.acme-battery.…` stored in `ext-mallory`, relayed as acme-battery's).
 */
export const extTypePrefixOf = (name: string) => `${EXT_TYPE_PREFIX}${name}.`;

/**
 * Why `type`, an `ext.*` type, is not `name`'s own to publish; undefined when it is. `field`
 * names where in the request it was (`publishes[0]`, `type`).
 */
export function foreignExtType(name: string, type: string, field: string): string | undefined {
  const prefix = extTypePrefixOf(name);
  if (type.startsWith(prefix)) return undefined;
  // A type's words are lower-case letters, digits and "-", starting with a letter (MessageType):
  // an agent named otherwise has no ext.* types it could publish.
  const hint = /^[a-z][a-z0-9-]*$/u.test(name) ? '' : `; "${name}" cannot begin a type's word (lower-case letters, digits and "-", starting with a letter): publish onsite.* types or register another name`;
  return `${field} "${type}" is not "${name}"'s own type: an outside agent's ext.* types must start with "${prefix}" (its own name)${hint}`;
}

/** Every refusal's code. The first twelve are PROTOCOL.md's; `forbidden`, `unavailable` and the three of a request's binding (core/identity/command-binding.ts) are additions. */
export const ERROR_CODES = [
  'unsigned',
  'unknown-key',
  'revoked-key',
  'bad-signature',
  'source-mismatch',
  'schema',
  'not-announced',
  'not-declared',
  'wrong-subject',
  'rate-limited',
  'conflict',
  'bad-request',
  'forbidden',
  'unavailable',
  'wrong-site',
  'expired',
  'unbound',
] as const;
export type GatewayErrorCode = (typeof ERROR_CODES)[number];

export interface GatewayError {
  readonly code: GatewayErrorCode;
  /** Where in the request (`data.powerKw`, `schemas.ext.acme.x`), or null when it is the whole request. */
  readonly field: string | null;
  readonly reason: string;
  /** Every schema problem, for `schema` and `bad-request` (a `field` names only the first). */
  readonly problems?: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
  /** For `rate-limited`: when to try again. */
  readonly retryAfterMs?: number;
}

export type GatewayReply<T extends object = object> = ({ readonly ok: true } & T) | { readonly ok: false; readonly error: GatewayError };

export function refuse(code: GatewayErrorCode, field: string | null, reason: string, extra: Partial<Pick<GatewayError, 'problems' | 'retryAfterMs'>> = {}): { ok: false; error: GatewayError } {
  return { ok: false, error: { code, field, reason, ...extra } };
}

export interface AnnounceReply {
  readonly stream: string;
  readonly announcedAt: string;
  /** Position of the `gateway.agent.announced` fact. */
  readonly position: number;
  /** True when this signed announcement was recorded before (a re-send): nothing was appended, the position is the stored one's. */
  readonly duplicate?: boolean;
}

export interface AppendReply {
  /** The id the agent chose. */
  readonly id: string;
  /** The ledger event's id (derived from the stream and the agent's id; see eventIdFor). */
  readonly eventId: string;
  readonly stream: string;
  readonly position: number;
  readonly revision: number;
  readonly duplicate: boolean;
}

/** Does a type pattern (`compute.job.*`, `grid.>`) cover `type`? NATS wildcard rules over the dots. */
export function typeMatches(pattern: string, type: string): boolean {
  return tokensMatch(pattern.split('.'), type.split('.'));
}

function tokensMatch(p: ReadonlyArray<string>, t: ReadonlyArray<string>): boolean {
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return t.length > i;
    if (i >= t.length) return false;
    if (p[i] !== '*' && p[i] !== t[i]) return false;
  }
  return p.length === t.length;
}

/** Types a filter remembers its answer for; past it each further type is matched afresh. */
const TYPE_FILTER_MEMO = 1024;

/**
 * Whether any of `patterns` covers a type (as `typeMatches`), for one read of many events: the
 * patterns are split once and each type's answer is remembered, so a read costs a lookup an
 * event, not patterns × splits. A read may carry 64 patterns of 128 characters, matched against
 * every event it reads: 76-175 µs an event (a helper's review: a read of 2,500 events held the
 * site's loop 0.26-0.44 s, charged as one with a short filter).
 */
export function typeFilter(patterns: ReadonlyArray<string>): (type: string) => boolean {
  const split = [...new Set(patterns)].map((p) => p.split('.'));
  const memo = new Map<string, boolean>();
  return (type) => {
    const known = memo.get(type);
    if (known !== undefined) return known;
    const t = type.split('.');
    const hit = split.some((p) => tokensMatch(p, t));
    if (memo.size < TYPE_FILTER_MEMO) memo.set(type, hit);
    return hit;
  };
}
