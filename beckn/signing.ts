import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { KeyDirectory } from './key-directory.ts';

/**
 * Beckn HTTP message signing (BECKN-006, a profile of draft-cavage-http-signatures-12):
 * ed25519 over
 *   (created): <unix s>\n(expires): <unix s>\ndigest: BLAKE-512=<base64 BLAKE2b-512 of the body>
 * carried as `Authorization: Signature keyId="sub|key|ed25519",algorithm="ed25519",…`.
 */

export const SIGNED_HEADERS = '(created) (expires) digest';
/** The label BECKN-006 and its published vector use; the vectors only verify with it. */
export const DIGEST_LABEL = 'BLAKE-512';
/**
 * Labels accepted from senders. Some implementations write `BLAKE2-512`/`BLAKE2b-512`; the
 * hash is the same, so accepting them costs no security and avoids a pointless 401.
 */
export const ACCEPTED_DIGEST_LABELS = ['BLAKE-512', 'BLAKE2-512', 'BLAKE2b-512'] as const;
/** How far the sender's clock may be off before `created`/`expires` are held against it. */
export const DEFAULT_CLOCK_SKEW_SEC = 5;
/**
 * Longest `expires − created` taken: a day, the longest message ttl (INTAKE_LIMITS.maxTtlMs).
 * A signature is what makes captured bytes worth replaying; one valid for a week outlives
 * every record a receiver keeps of the messages it has seen.
 */
export const MAX_SIGNATURE_LIFETIME_SEC = 86_400;

export interface BecknSigningKey {
  readonly subscriberId: string;
  readonly uniqueKeyId: string;
  readonly privateKey: KeyObject;
}

export type Body = Uint8Array | string;

const bytesOf = (body: Body): Buffer => (typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength));

/** base64 of BLAKE2b-512 of the exact body bytes (no re-serialisation: one changed space breaks it). */
export function blake512Base64(body: Body): string {
  return createHash('blake2b512').update(bytesOf(body)).digest('base64');
}

/** The `digest` line's value, e.g. `BLAKE-512=b6lf…sw==`. */
export function digestValue(body: Body, label: string = DIGEST_LABEL): string {
  return `${label}=${blake512Base64(body)}`;
}

export function signingString(created: number, expires: number, digest: string): string {
  return `(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`;
}

export interface SignedRequest {
  /** Value of the `Authorization` header. */
  readonly authorization: string;
  /** Value of an optional `Digest` header (lets the receiver tell a changed body from a bad key). */
  readonly digest: string;
  readonly created: number;
  readonly expires: number;
  readonly signature: string;
  readonly signingString: string;
}

export function authorizationHeader(p: { subscriberId: string; uniqueKeyId: string; created: number; expires: number; signature: string }): string {
  return (
    `Signature keyId="${p.subscriberId}|${p.uniqueKeyId}|ed25519",algorithm="ed25519",` +
    `created="${p.created}",expires="${p.expires}",headers="${SIGNED_HEADERS}",signature="${p.signature}"`
  );
}

/**
 * Sign a request or callback body. `nowSec` comes from the caller's Clock; `ttlSec` is how long
 * the signature stays valid (BECKN-006: the message's ttl).
 */
export function signRequest(body: Body, key: BecknSigningKey, nowSec: number, ttlSec: number): SignedRequest {
  if (!Number.isFinite(nowSec)) throw new RangeError('signRequest: nowSec must be a finite number of seconds');
  if (!Number.isInteger(ttlSec) || ttlSec <= 0) throw new RangeError('signRequest: ttlSec must be a positive whole number of seconds');
  assertSafeIdPart('subscriberId', key.subscriberId);
  assertSafeIdPart('uniqueKeyId', key.uniqueKeyId);
  const created = Math.floor(nowSec);
  const expires = created + ttlSec;
  const digest = digestValue(body);
  const str = signingString(created, expires, digest);
  const signature = sign(null, Buffer.from(str, 'utf8'), key.privateKey).toString('base64');
  return {
    authorization: authorizationHeader({ subscriberId: key.subscriberId, uniqueKeyId: key.uniqueKeyId, created, expires, signature }),
    digest,
    created,
    expires,
    signature,
    signingString: str,
  };
}

function assertSafeIdPart(name: string, v: string): void {
  if (v.length === 0 || /["|\\\s]/.test(v)) throw new RangeError(`${name} "${v}" must be non-empty without quotes, "|", "\\" or spaces (it goes into keyId)`);
}

export interface SignatureParams {
  readonly subscriberId: string;
  readonly uniqueKeyId: string;
  readonly algorithm: 'ed25519';
  readonly created: number;
  readonly expires: number;
  readonly signature: Buffer;
}

export type ParsedSignature = { readonly ok: true; readonly params: SignatureParams } | { readonly ok: false; readonly reason: string };

/** Longest subscriber_id or unique_key_id in a keyId (a subscriber_id is a domain name, at most 253). */
export const MAX_KEY_ID_PART = 256;

const PARAM = /\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s"]*))\s*(?:,|$)/y;

/** Parse `Signature keyId="…",algorithm="…",…`; every rule broken is named in `reason`. */
export function parseSignatureHeader(value: string): ParsedSignature {
  const m = /^\s*Signature\s+/i.exec(value);
  if (!m) return { ok: false, reason: 'the auth-scheme must be "Signature"' };
  const params = new Map<string, string>();
  PARAM.lastIndex = m[0].length;
  while (PARAM.lastIndex < value.length) {
    const start = PARAM.lastIndex;
    const p = PARAM.exec(value);
    if (!p || PARAM.lastIndex === start) return { ok: false, reason: `cannot parse the parameters after position ${start}` };
    const name = p[1]!;
    if (params.has(name)) return { ok: false, reason: `parameter ${name} appears twice` };
    params.set(name, p[2] ?? p[3] ?? '');
  }
  for (const required of ['keyId', 'algorithm', 'created', 'expires', 'headers', 'signature']) {
    if (!params.has(required)) return { ok: false, reason: `parameter ${required} is missing` };
  }
  const keyIdParts = params.get('keyId')!.split('|');
  if (keyIdParts.length !== 3 || keyIdParts.some((x) => x.length === 0)) {
    return { ok: false, reason: 'keyId must be "subscriber_id|unique_key_id|algorithm"' };
  }
  const [subscriberId, uniqueKeyId, keyAlg] = keyIdParts as [string, string, string];
  // Ids are looked up (and a registry's answers cached) before the signature is checked: bound them.
  if (subscriberId.length > MAX_KEY_ID_PART || uniqueKeyId.length > MAX_KEY_ID_PART) {
    return { ok: false, reason: `keyId: the subscriber_id and unique_key_id must be at most ${MAX_KEY_ID_PART} characters each` };
  }
  const algorithm = params.get('algorithm')!;
  if (algorithm !== 'ed25519') return { ok: false, reason: `algorithm "${algorithm}" is not supported (only ed25519)` };
  if (keyAlg !== algorithm) return { ok: false, reason: `the keyId algorithm "${keyAlg}" differs from algorithm "${algorithm}"` };
  const headers = params.get('headers')!.trim().split(/\s+/).join(' ');
  if (headers !== SIGNED_HEADERS) return { ok: false, reason: `headers must be "${SIGNED_HEADERS}", got "${params.get('headers')}"` };
  const created = unixSeconds(params.get('created')!);
  const expires = unixSeconds(params.get('expires')!);
  if (created === undefined) return { ok: false, reason: 'created must be a Unix time in whole seconds' };
  if (expires === undefined) return { ok: false, reason: 'expires must be a Unix time in whole seconds' };
  if (expires < created) return { ok: false, reason: 'expires is before created' };
  const sigText = params.get('signature')!;
  const signature = Buffer.from(sigText, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sigText) || signature.length !== 64) {
    return { ok: false, reason: 'signature must be the base64 of a 64-byte ed25519 signature' };
  }
  return { ok: true, params: { subscriberId, uniqueKeyId, algorithm: 'ed25519', created, expires, signature } };
}

function unixSeconds(s: string): number | undefined {
  if (!/^\d{1,12}$/.test(s)) return undefined;
  return Number(s);
}

export type VerifyFailureReason =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'future-dated'
  | 'unknown-key'
  | 'bad-signature'
  | 'digest-mismatch'
  | 'key-directory-unavailable';

export type VerifyResult =
  | {
      readonly ok: true;
      readonly subscriberId: string;
      readonly uniqueKeyId: string;
      readonly created: number;
      readonly expires: number;
      readonly digestLabel: string;
    }
  | {
      readonly ok: false;
      readonly reason: VerifyFailureReason;
      readonly message: string;
      /** Who the sender claimed to be, when the header could be parsed. */
      readonly subscriberId?: string;
      readonly uniqueKeyId?: string;
    };

/** Node's `IncomingHttpHeaders`, fetch's `Headers` flattened, or any plain record. */
export type HeaderBag = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>;

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== want || v === undefined) continue;
    return typeof v === 'string' ? v : v.join(', ');
  }
  return undefined;
}

export interface VerifyOptions {
  readonly clockSkewSec?: number;
  /** Longest `expires − created` taken; default {@link MAX_SIGNATURE_LIFETIME_SEC}. */
  readonly maxLifetimeSec?: number;
  /** `authorization` (BAP/BPP) or `x-gateway-authorization` (BG). */
  readonly headerName?: string;
}

/**
 * Verify a signed request or callback against the exact body bytes received. `nowSec` comes
 * from the caller's Clock. A failure says why, so the server can answer 401 with
 * `WWW-Authenticate` and record the reason.
 */
export async function verifyRequest(headers: HeaderBag, body: Body, keyDirectory: KeyDirectory, nowSec: number, options: VerifyOptions = {}): Promise<VerifyResult> {
  const skew = options.clockSkewSec ?? DEFAULT_CLOCK_SKEW_SEC;
  const headerName = options.headerName ?? 'authorization';
  const auth = headerValue(headers, headerName);
  if (auth === undefined || auth.trim() === '') return { ok: false, reason: 'missing', message: `no ${headerName} header` };
  const parsed = parseSignatureHeader(auth);
  if (!parsed.ok) return { ok: false, reason: 'malformed', message: `${headerName}: ${parsed.reason}` };
  const p = parsed.params;
  const who = { subscriberId: p.subscriberId, uniqueKeyId: p.uniqueKeyId };
  if (p.created > nowSec + skew) {
    return { ok: false, reason: 'future-dated', message: `created ${p.created} is ${p.created - Math.floor(nowSec)} s in the future`, ...who };
  }
  if (p.expires < nowSec - skew) {
    return { ok: false, reason: 'expired', message: `the signature expired at ${p.expires}, ${Math.floor(nowSec) - p.expires} s ago`, ...who };
  }
  const maxLifetime = options.maxLifetimeSec ?? MAX_SIGNATURE_LIFETIME_SEC;
  if (p.expires - p.created > maxLifetime) {
    return { ok: false, reason: 'malformed', message: `the signature lives ${p.expires - p.created} s (expires − created); at most ${maxLifetime} s is taken`, ...who };
  }

  let labels: ReadonlyArray<string> = ACCEPTED_DIGEST_LABELS;
  const digestHeader = headerValue(headers, 'digest');
  const eq = digestHeader === undefined ? -1 : digestHeader.indexOf('=');
  if (digestHeader !== undefined) {
    const label = eq < 0 ? '' : digestHeader.slice(0, eq).trim();
    if (!(ACCEPTED_DIGEST_LABELS as ReadonlyArray<string>).includes(label)) {
      return { ok: false, reason: 'malformed', message: `Digest header: algorithm "${label}" is not BLAKE-512`, ...who };
    }
    labels = [label];
  }

  // The key before the body: hashing up to a megabyte is the costly step, and a sender with no
  // registered key should not get it done for them.
  let key: KeyObject | undefined;
  try {
    key = await keyDirectory.lookup(p.subscriberId, p.uniqueKeyId, nowSec * 1000);
  } catch (e) {
    return { ok: false, reason: 'key-directory-unavailable', message: `key lookup failed: ${(e as Error).message}`, ...who };
  }
  if (!key) return { ok: false, reason: 'unknown-key', message: `no valid key "${p.uniqueKeyId}" for subscriber "${p.subscriberId}"`, ...who };

  const bodyDigest = blake512Base64(body);
  if (digestHeader !== undefined && digestHeader.slice(eq + 1).trim() !== bodyDigest) {
    return { ok: false, reason: 'digest-mismatch', message: 'the Digest header does not match the BLAKE2b-512 of the body received', ...who };
  }

  for (const label of labels) {
    const str = signingString(p.created, p.expires, `${label}=${bodyDigest}`);
    if (verifyEd25519(key, str, p.signature)) {
      return { ok: true, subscriberId: p.subscriberId, uniqueKeyId: p.uniqueKeyId, created: p.created, expires: p.expires, digestLabel: label };
    }
  }
  return { ok: false, reason: 'bad-signature', message: 'the signature does not verify with the registered key for this body', ...who };
}

function verifyEd25519(key: KeyObject, str: string, signature: Buffer): boolean {
  try {
    return verify(null, Buffer.from(str, 'utf8'), key.type === 'private' ? createPublicKey(key) : key, signature);
  } catch {
    return false;
  }
}

/** `WWW-Authenticate` value for a 401 (BECKN-006). */
export function wwwAuthenticate(realm: string): string {
  return `Signature realm="${realm.replace(/["\\]/g, '')}",headers="${SIGNED_HEADERS}"`;
}
