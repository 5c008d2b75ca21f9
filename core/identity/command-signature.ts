import { verify, type KeyObject } from 'node:crypto';
import { FifoMap } from '../collections/index.ts';
import { canonicalJson } from '../ledger/canonical-json.ts';
import { publicKeyFromRaw } from '../ledger/keyring.ts';
import { principalOf, type Principal } from './key-entry.ts';
import type { Lookup } from './key-registry.ts';

/**
 * The signed form of a command: the envelope carries `keyId` (a key in the site's registry)
 * and `sig`, a detached ed25519 signature (base64) over the UTF-8 bytes of the canonical JSON
 * (core/ledger/canonical-json.ts) of the whole envelope except `sig` — `keyId` included. The
 * receiver re-encodes what it parsed, so the sender may serialise the JSON however it likes.
 *
 * Ledger events are signed over a 32-byte hash and registry entries carry a `format` marker,
 * so neither can be replayed as a command (a command's JSON is longer than 32 bytes and has
 * no `format` field the decoder would accept).
 */
export function commandSigningBytes(cmd: object): Buffer {
  const { sig: _sig, ...unsigned } = cmd as Record<string, unknown>;
  return Buffer.from(canonicalJson(unsigned), 'utf8');
}

/** Add `keyId` and `sig` to a command; `signBytes` returns an ed25519 signature in base64. */
export function signCommandWith<C extends object>(cmd: C, keyId: string, signBytes: (bytes: Buffer) => string): Omit<C, 'sig' | 'keyId'> & { keyId: string; sig: string } {
  const { sig: _s, keyId: _k, ...rest } = cmd as C & { sig?: unknown; keyId?: unknown };
  const withKey = { ...rest, keyId };
  return { ...withKey, sig: signBytes(commandSigningBytes(withKey)) } as Omit<C, 'sig' | 'keyId'> & { keyId: string; sig: string };
}

/**
 * Whether `cmd`'s signature is good under `publicKey` (base64, raw ed25519); false for anything
 * that is not what was signed. Key objects are kept by their base64: making one from raw bytes
 * cost as much as the verify itself (a review's profile of a forged flood: 5.1 s of 10.6).
 */
export function signatureHolds(cmd: Record<string, unknown>, publicKey: string): boolean {
  const sig = cmd['sig'];
  // One encoding only: Buffer.from(…, 'base64') also takes unpadded, base64url and spaced
  // text, and every such copy of a signed announcement was a new announcement to the gateway
  // (an old one, replaced, was taken again; copies of the current one filled the party's stream).
  if (typeof sig !== 'string' || sig.length !== 88) return false;
  const bytes = Buffer.from(sig, 'base64');
  if (bytes.toString('base64') !== sig) return false;
  try {
    return verify(null, commandSigningBytes(cmd), keyObject(publicKey), bytes);
  } catch {
    // A value canonical JSON cannot encode, or nesting too deep to walk: not what was signed.
    return false;
  }
}

const keyObjects = new FifoMap<string, KeyObject>(1024);

function keyObject(publicKey: string): KeyObject {
  let k = keyObjects.get(publicKey);
  if (k === undefined) {
    k = publicKeyFromRaw(Buffer.from(publicKey, 'base64'));
    keyObjects.set(publicKey, k);
  }
  return k;
}

export type AuthRefusal = 'unsigned' | 'unknown-key' | 'revoked-key' | 'bad-signature' | 'source-mismatch';

export type AuthResult = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly code: AuthRefusal; readonly reason: string };

/**
 * Who sent this command? Checked in this order, each failure with its own reason: signed at
 * all, key registered (and its entry signed by the admin), key not revoked, signature good,
 * and the envelope's `source` is the key's party (no one acts in another's name).
 */
export async function authenticateCommand(raw: unknown, lookup: (keyId: string) => Promise<Lookup>): Promise<AuthResult> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, code: 'unsigned', reason: 'unsigned: not a command envelope' };
  const cmd = raw as Record<string, unknown>;
  const keyId = cmd['keyId'];
  const sig = cmd['sig'];
  if (typeof keyId !== 'string' || typeof sig !== 'string' || keyId === '' || sig === '') {
    return { ok: false, code: 'unsigned', reason: 'unsigned: a command needs "keyId" and "sig" (an ed25519 signature by a registered key; see docs/identity.md)' };
  }
  const found = await lookup(keyId);
  if (!found.found) return { ok: false, code: 'unknown-key', reason: found.reason };
  const entry = found.entry;
  if (entry.status === 'revoked') return { ok: false, code: 'revoked-key', reason: `revoked key "${keyId}" (party "${entry.party}", revoked at ${entry.revokedAt})` };
  if (!signatureHolds(cmd, entry.publicKey)) return { ok: false, code: 'bad-signature', reason: `bad signature by key "${keyId}": the signature does not match the command` };
  if (cmd['source'] !== entry.party) {
    return { ok: false, code: 'source-mismatch', reason: `source "${String(cmd['source']).slice(0, 128)}" does not match key "${keyId}" (party "${entry.party}"): a key acts only in its own party's name` };
  }
  return { ok: true, principal: principalOf(entry) };
}
