import { verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../ledger/canonical-json.ts';
import { publicKeyFromRaw } from '../ledger/keyring.ts';

/**
 * One entry of a site's key registry: who holds a key, in what role, and whether it still
 * counts. Entries are signed by the site's admin key and checked on every read, so whoever
 * can write the registry's storage (a KV bucket, a SQLite file) cannot add or revive a key.
 */
export const ROLES = ['agent', 'third-party', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The site's own people: they may override any job's plan, and are not held to the limits on
 * what outsiders send (a job's pins and releases, a party's command budget), so they can act
 * however much outsiders have sent.
 */
export const OPERATOR_ROLES: ReadonlySet<Role> = new Set<Role>(['operator', 'admin']);

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

export const ENTRY_FORMAT = 'caco-key-entry/1';

export interface KeyEntry {
  /** Marks the signed bytes as a registry entry, so they can never be taken for a command. */
  readonly format: typeof ENTRY_FORMAT;
  readonly keyId: string;
  /** The name the holder acts under: a command's `source` must equal it. */
  readonly party: string;
  readonly role: Role;
  /** base64 of the raw 32-byte ed25519 public key. */
  readonly publicKey: string;
  readonly status: 'active' | 'revoked';
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface SignedKeyEntry extends KeyEntry {
  /** ed25519 (base64) by the admin key over the canonical JSON of the entry without this field. */
  readonly adminSig: string;
}

/** Who sent a command, once its signature has been checked against the registry. */
export interface Principal {
  readonly keyId: string;
  readonly party: string;
  readonly role: Role;
}

/** Key ids are KV keys and command fields: short, and safe in a NATS subject. */
export const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Parties are command sources (agent names, Beckn subscriber ids). */
export const PARTY = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

export interface FieldProblem {
  readonly field: string;
  readonly reason: string;
}

/** The fields a caller chooses when adding a key; every problem names its field. */
export function checkNewKeyFields(f: { keyId?: unknown; party?: unknown; role?: unknown; publicKey?: unknown }): FieldProblem[] {
  const out: FieldProblem[] = [];
  if (typeof f.keyId !== 'string' || !KEY_ID.test(f.keyId)) out.push({ field: 'keyId', reason: 'use 1-64 letters, digits, "_" or "-", starting with a letter or digit' });
  if (typeof f.party !== 'string' || !PARTY.test(f.party)) out.push({ field: 'party', reason: 'use 1-128 letters, digits, ".", "_", ":", "@" or "-", starting with a letter or digit' });
  if (!isRole(f.role)) out.push({ field: 'role', reason: `use one of: ${ROLES.join(', ')}` });
  if (typeof f.publicKey !== 'string' || !BASE64_32.test(f.publicKey)) out.push({ field: 'publicKey', reason: 'must be the base64 of a raw 32-byte ed25519 public key (44 characters)' });
  else {
    try {
      publicKeyFromRaw(Buffer.from(f.publicKey, 'base64'));
    } catch (e) {
      out.push({ field: 'publicKey', reason: e instanceof RangeError ? e.message : 'is not an ed25519 public key' });
    }
  }
  return out;
}

/** The bytes the admin signs: canonical JSON of the entry without `adminSig`. */
export function entrySigningBytes(e: KeyEntry): Buffer {
  const unsigned: KeyEntry = { format: e.format, keyId: e.keyId, party: e.party, role: e.role, publicKey: e.publicKey, status: e.status, createdAt: e.createdAt, revokedAt: e.revokedAt };
  return Buffer.from(canonicalJson(unsigned), 'utf8');
}

/** `signBytes` signs with the admin key (ed25519, base64): the key itself may stay in a keyring. */
export function signEntry(e: KeyEntry, signBytes: (bytes: Buffer) => string): SignedKeyEntry {
  return { ...stripSig(e), adminSig: signBytes(entrySigningBytes(e)) };
}

function stripSig(e: KeyEntry): KeyEntry {
  return { format: e.format, keyId: e.keyId, party: e.party, role: e.role, publicKey: e.publicKey, status: e.status, createdAt: e.createdAt, revokedAt: e.revokedAt };
}

/**
 * Read a stored value as a registry entry: its shape, then the admin's signature. Returns the
 * entry, or why it must be ignored. `expectedKeyId` guards against an entry copied under
 * another key id.
 */
export function verifyEntry(raw: unknown, adminPublicKey: KeyObject, expectedKeyId?: string): { ok: true; entry: SignedKeyEntry } | { ok: false; reason: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'not a key registry entry (not a JSON object)' };
  const r = raw as Record<string, unknown>;
  const allowed = new Set(['format', 'keyId', 'party', 'role', 'publicKey', 'status', 'createdAt', 'revokedAt', 'adminSig']);
  const extra = Object.keys(r).filter((k) => !allowed.has(k));
  if (extra.length) return { ok: false, reason: `unexpected field(s) ${extra.slice(0, 3).join(', ')}` };
  if (r['format'] !== ENTRY_FORMAT) return { ok: false, reason: `format must be "${ENTRY_FORMAT}"` };
  const problems = checkNewKeyFields(r);
  if (problems.length) return { ok: false, reason: `${problems[0]!.field}: ${problems[0]!.reason}` };
  const { keyId, party, role, publicKey, status, createdAt, revokedAt, adminSig } = r;
  // checkNewKeyFields has checked these four; the guard only tells the compiler so.
  if (typeof keyId !== 'string' || typeof party !== 'string' || !isRole(role) || typeof publicKey !== 'string') return { ok: false, reason: 'keyId, party, role and publicKey are required' };
  if (status !== 'active' && status !== 'revoked') return { ok: false, reason: 'status must be active or revoked' };
  if (typeof createdAt !== 'string' || !ISO_UTC.test(createdAt)) return { ok: false, reason: 'createdAt must be an ISO 8601 UTC time' };
  const revoked = revokedAt === null ? null : typeof revokedAt === 'string' && ISO_UTC.test(revokedAt) ? revokedAt : undefined;
  if (revoked === undefined || (status === 'active') !== (revoked === null)) return { ok: false, reason: 'revokedAt must be null while active and a time once revoked' };
  if (typeof adminSig !== 'string') return { ok: false, reason: 'no admin signature' };
  if (expectedKeyId !== undefined && keyId !== expectedKeyId) return { ok: false, reason: `stored under "${expectedKeyId}" but names key "${keyId}"` };
  const entry: SignedKeyEntry = { format: ENTRY_FORMAT, keyId, party, role, publicKey, status, createdAt, revokedAt: revoked, adminSig };
  let good = false;
  try {
    good = verify(null, entrySigningBytes(entry), adminPublicKey, Buffer.from(entry.adminSig, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'admin signature does not verify (the entry was not written by this site\'s admin key, or was changed)' };
  return { ok: true, entry };
}

export function principalOf(e: KeyEntry): Principal {
  return { keyId: e.keyId, party: e.party, role: e.role };
}
