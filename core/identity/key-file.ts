import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { privateKeyFromSeed, rawPrivateSeed, rawPublicKey } from '../ledger/keyring.ts';
import { KeyRegistryError } from './key-registry.ts';
import { isRole, KEY_ID, PARTY, ROLES, type Role } from './key-entry.ts';
import { signCommandWith } from './command-signature.ts';
import { readBoundedText } from '../files/read-bounded.ts';

/** A key file is a few hundred bytes. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export const KEY_FILE_FORMAT = 'caco-signing-key/1';

/**
 * A party's signing key in a file (mode 0600): what `caco keys new` writes and `caco submit
 * --key` reads. The public half is repeated so `caco keys add --key` can register it.
 */
export interface KeyFile {
  readonly format: typeof KEY_FILE_FORMAT;
  readonly keyId: string;
  readonly party: string;
  readonly role: Role;
  readonly publicKey: string;
  /** base64 of the 32-byte ed25519 seed. */
  readonly privateKey: string;
}

export function newKeyFile(f: { keyId?: string; party: string; role: Role }): KeyFile {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = rawPublicKey(privateKey).toString('base64');
  // A default key id the holder can recognise and that changes with the key.
  const keyId = f.keyId ?? `${f.party.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 48)}-${Buffer.from(publicKey, 'base64').toString('hex').slice(0, 8)}`;
  return { format: KEY_FILE_FORMAT, keyId, party: f.party, role: f.role, publicKey, privateKey: rawPrivateSeed(privateKey).toString('base64') };
}

/** Write a key file readable by its owner only; never overwrites one. */
export function writeKeyFile(path: string, k: KeyFile): void {
  if (existsSync(path)) throw new KeyRegistryError('--out', `${path} already exists; a key file is never overwritten (choose another path)`);
  try {
    // 'wx': never through a link left at the path, never over a file made meanwhile.
    writeFileSync(path, JSON.stringify(k, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' ? 'already exists (or is a link); a key file is never overwritten' : code === 'ENOENT' ? 'is in a folder that does not exist' : `cannot be written (${(err as Error).message})`;
    throw new KeyRegistryError('--out', `${path} ${why}; choose another path`);
  }
}

export interface LoadedKey {
  readonly keyId: string;
  readonly party: string;
  readonly role: Role;
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/** Read a key file, naming the field that is wrong; refuses one others can read. */
export function readKeyFile(path: string, flag = '--key'): LoadedKey {
  if (!existsSync(path)) throw new KeyRegistryError(flag, `${path} does not exist (make one with \`caco keys new\`)`);
  const mode = statSync(path).mode & 0o077;
  if (mode !== 0 && process.platform !== 'win32') throw new KeyRegistryError(flag, `${path} can be read by others (mode ${(statSync(path).mode & 0o777).toString(8)}); chmod 600 it`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readBoundedText(path, MAX_KEY_FILE_BYTES, (reason) => new KeyRegistryError(flag, `${path} ${reason}`)));
  } catch (err) {
    if (err instanceof KeyRegistryError) throw err;
    throw new KeyRegistryError(flag, `${path} is not JSON (${(err as Error).message})`);
  }
  // Valid JSON need not be an object: `null` would crash reading its fields, and an array or a number would be refused field by field, never saying what is wrong.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new KeyRegistryError(flag, `${path} must hold a JSON object (a key file from caco keys new)`);
  const raw = parsed as Record<string, unknown>;
  if (raw['format'] !== KEY_FILE_FORMAT) throw new KeyRegistryError(`${flag} format`, `expected "${KEY_FILE_FORMAT}"`);
  if (typeof raw['keyId'] !== 'string' || !KEY_ID.test(raw['keyId'])) throw new KeyRegistryError(`${flag} keyId`, 'missing or not a key id');
  if (typeof raw['party'] !== 'string' || !PARTY.test(raw['party'])) throw new KeyRegistryError(`${flag} party`, 'missing or not a party name');
  const role = raw['role'];
  if (!isRole(role)) throw new KeyRegistryError(`${flag} role`, `use one of: ${ROLES.join(', ')}`);
  let privateKey: KeyObject;
  try {
    privateKey = privateKeyFromSeed(Buffer.from(String(raw['privateKey']), 'base64'));
  } catch {
    throw new KeyRegistryError(`${flag} privateKey`, 'not the base64 of a 32-byte ed25519 seed');
  }
  const publicKey = rawPublicKey(privateKey).toString('base64');
  if (raw['publicKey'] !== undefined && raw['publicKey'] !== publicKey) throw new KeyRegistryError(`${flag} publicKey`, 'does not belong to privateKey');
  return { keyId: raw['keyId'], party: raw['party'], role, publicKey, privateKey };
}

/** Sign a command with a loaded key file: `source` becomes the key's party. */
export function signWithKey<C extends object>(cmd: C, key: LoadedKey): Omit<C, 'sig' | 'keyId'> & { keyId: string; sig: string } {
  return signCommandWith({ ...cmd, source: key.party }, key.keyId, (bytes) => sign(null, bytes, key.privateKey).toString('base64'));
}
