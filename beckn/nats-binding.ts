/**
 * Beckn 1.1 over NATS: the names only (subjects, URIs, headers), pure. The messages, their
 * signatures and the ACK/NACK bodies are exactly those of the HTTP binding (docs/beckn.md
 * "Beckn over NATS"); only the way they travel differs:
 *
 * | HTTP | NATS |
 * | --- | --- |
 * | `POST <bpp_uri>/<action>` | request to `beckn.<domain>.<action>` (the market) or `beckn.<domain>.bpp.<bpp_id>.<action>` (one BPP) |
 * | `POST <bap_uri>/on_<action>` | request to `<bap subject>.on_<action>` |
 * | `Authorization`, `Digest` headers | the same, as NATS headers |
 * | HTTP status of the answer | `Beckn-Status` header of the reply |
 * | body bytes | message payload (the digest covers these bytes) |
 *
 * A participant reached over NATS has a `nats:` URI naming its subject prefix, e.g.
 * `nats:beckn.deg_compute-flexibility.bap.grid-operator_caco_local`; that is its `bap_uri` (or
 * `bpp_uri`) and the `url` registered with its key, so callbacks still go only to the address
 * the key directory holds for the signer.
 */

export const NATS_URI_SCHEME = 'nats:';

/** Reply header carrying the HTTP status the same answer would have had (200, 400, 401, 429, 503 …). */
export const BECKN_STATUS_HEADER = 'Beckn-Status';

/** One subject token: letters, digits, `_` and `-`; anything else (`.`, `:`, spaces, wildcards) becomes `_`. */
export function subjectToken(s: string): string {
  const t = s.replace(/[^A-Za-z0-9_-]/g, '_');
  return t.length > 0 ? t : '_';
}

/** `beckn.<domain token>`: the prefix of every request subject of a market. */
export function marketSubject(domain: string): string {
  return `beckn.${subjectToken(domain)}`;
}

/** Where a BPP takes `action` for a market: `beckn.<domain token>.<action>`. */
export function requestSubject(domain: string, action: string): string {
  return `${marketSubject(domain)}.${subjectToken(action)}`;
}

/** One BPP's own subject prefix: `beckn.<domain token>.bpp.<bpp_id token>` (requests to it alone). */
export function bppSubject(domain: string, bppId: string): string {
  return `${marketSubject(domain)}.bpp.${subjectToken(bppId)}`;
}

/** The subject prefix a BAP takes its callbacks under: `beckn.<domain token>.bap.<bap_id token>`. */
export function bapSubject(domain: string, bapId: string): string {
  return `${marketSubject(domain)}.bap.${subjectToken(bapId)}`;
}

/** `nats:<subject prefix>`, the URI form of a subject prefix. */
export function natsUri(subjectPrefix: string): string {
  if (!isSubjectPrefix(subjectPrefix)) throw new RangeError(`"${subjectPrefix}" is not a subject prefix (dot-separated tokens of letters, digits, "_" and "-")`);
  return `${NATS_URI_SCHEME}${subjectPrefix}`;
}

/** The BAP's callback address for a market: `nats:beckn.<domain>.bap.<bap_id>`. */
export const natsBapUri = (domain: string, bapId: string): string => natsUri(bapSubject(domain, bapId));

/**
 * The market's address: `nats:beckn.<domain>`. A search sent to `<that>.search` reaches every
 * BPP of the market (each answers with its own on_search); with one BPP, every action may go there.
 */
export const natsMarketUri = (domain: string): string => natsUri(marketSubject(domain));

/** One BPP's address, its `bpp_uri` over NATS: `nats:beckn.<domain>.bpp.<bpp_id>`. */
export const natsBppUri = (domain: string, bppId: string): string => natsUri(bppSubject(domain, bppId));

const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Dot-separated tokens of letters, digits, `_` and `-`: no wildcard, no space, at most 200 characters. */
export function isSubjectPrefix(s: string): boolean {
  return s.length <= 200 && PREFIX.test(s);
}

export const isNatsUri = (uri: string): boolean => uri.startsWith(NATS_URI_SCHEME);

/** The subject prefix of a `nats:` URI, or undefined when it is not one (or not a valid prefix). */
export function subjectOfNatsUri(uri: string): string | undefined {
  if (!isNatsUri(uri)) return undefined;
  const s = uri.slice(NATS_URI_SCHEME.length);
  return isSubjectPrefix(s) ? s : undefined;
}

/** The subject a message for `action` goes to at `baseUri` (a `nats:` URI), or undefined. */
export function subjectFor(baseUri: string, action: string): string | undefined {
  const prefix = subjectOfNatsUri(baseUri);
  return prefix === undefined ? undefined : `${prefix}.${subjectToken(action)}`;
}
