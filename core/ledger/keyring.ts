import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors/errors.ts';
import { withFileLock } from './file-lock.ts';
import { readBoundedText } from '../files/read-bounded.ts';
import { writeFileAtomic } from '../files/write-atomic.ts';

/** keys.json: ~100 bytes a key, so room for over 100,000 parties. It may come with someone else's ledger. */
const MAX_PUBLIC_KEYS_BYTES = 16 * 1024 * 1024;
/** How often keys.json is read again for a key not known (FileKeyring.publicKey). */
const RELOAD_EVERY_MS = 1000;
/** A private key file is the base64 of a 32-byte seed. */
const MAX_PRIVATE_KEY_BYTES = 4 * 1024;

/** Raw 32-byte ed25519 keys are wrapped in these fixed DER prefixes for node:crypto. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function privateKeyFromSeed(seed32: Uint8Array): KeyObject {
  if (seed32.length !== 32) throw new RangeError('an ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed32]), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromRaw(raw32: Uint8Array): KeyObject {
  const weak = weakPublicKey(raw32);
  if (weak) throw new RangeError(`not a usable ed25519 public key: ${weak}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw32]), format: 'der', type: 'spki' });
}

/**
 * The encodings of the points of small order (libsodium's list, compared without the sign bit):
 * OpenSSL verifies against them, and a signature made with no private key (the identity point
 * and S = 0) holds under such a "key" for a large share of messages, so a party registering one
 * could sign anything, and disown anything. Refused wherever a public key is read.
 */
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => Buffer.from(h, 'hex'));

/** Why these 32 bytes are no public key to accept (wrong length, small order, y not below p), or undefined. */
export function weakPublicKey(raw: Uint8Array): string | undefined {
  if (raw.length !== 32) return `an ed25519 public key is 32 bytes, got ${raw.length}`;
  const y = Buffer.from(raw);
  y[31] = y[31]! & 0x7f;
  if (SMALL_ORDER.some((s) => s.equals(y))) return 'it is a point of small order, under which signatures can be made without a private key';
  // y ≥ p = 2^255 − 19: a second encoding of a point, which strict verifiers refuse.
  if (y[31] === 0x7f && y.subarray(1, 31).every((b) => b === 0xff) && y[0]! >= 0xed) return 'it is not canonically encoded (y is not below 2^255 - 19)';
  return undefined;
}

export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return pub.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/**
 * A public key's fingerprint, `fp:` and the first 16 hex digits of the SHA-256 of its raw 32
 * bytes: short enough to read out, copy into a runbook or compare by eye (`caco audit verify
 * --anchor-key`). Takes a key or the base64 of its raw bytes.
 */
export function keyFingerprint(key: KeyObject | string): string {
  const raw = typeof key === 'string' ? Buffer.from(key, 'base64') : rawPublicKey(key);
  return `fp:${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
}

export function rawPrivateSeed(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
}

/** Public keys of the agents whose signatures a ledger carries. */
export interface PublicKeyDirectory {
  publicKey(source: string): KeyObject | undefined;
}

/**
 * Hands out the private key an agent signs with, creating it on first use as `sign` would.
 * Only a signing worker of this process asks (see `worker-signer.ts`): the key goes to that
 * thread and nowhere else.
 */
export interface SigningKeys {
  signingKey(source: string): KeyObject;
}

/** Signs on behalf of the local agents and knows everyone's public keys. */
export interface Keyring extends PublicKeyDirectory {
  /** ed25519 signature (base64) of `bytes` by `source`'s key; creates the key on first use. */
  sign(source: string, bytes: Uint8Array): string;
  verify(source: string, bytes: Uint8Array, sigBase64: string): boolean;
  /** Public keys as base64 raw 32 bytes, for export to a key file. */
  publicKeys(): Record<string, string>;
}

export class MemoryKeyring implements Keyring, SigningKeys {
  protected readonly priv = new Map<string, KeyObject>();
  protected readonly pub = new Map<string, KeyObject>();

  /**
   * @param seed for tests only: each agent's key is derived from it and the agent name, so a
   *             test signs identically every run. Anyone who knows the seed has the keys, so
   *             nothing that runs a site passes one (a simulation's keys are random too).
   */
  constructor(private readonly seed?: string) {}

  addPrivate(source: string, key: KeyObject): void {
    this.priv.set(source, key);
    this.pub.set(source, createPublicKey(key));
  }

  addPublic(source: string, key: KeyObject): void {
    this.pub.set(source, key);
  }

  publicKey(source: string): KeyObject | undefined {
    return this.pub.get(source);
  }

  signingKey(source: string): KeyObject {
    let key = this.priv.get(source);
    if (!key) {
      key = this.seed !== undefined
        ? privateKeyFromSeed(createHash('sha256').update(`caco-key:${this.seed}:${source}`).digest())
        : generateKeyPairSync('ed25519').privateKey;
      this.addPrivate(source, key);
    }
    return key;
  }

  sign(source: string, bytes: Uint8Array): string {
    return sign(null, bytes, this.signingKey(source)).toString('base64');
  }

  verify(source: string, bytes: Uint8Array, sigBase64: string): boolean {
    const key = this.pub.get(source);
    if (!key) return false;
    try {
      return verify(null, bytes, key, Buffer.from(sigBase64, 'base64'));
    } catch {
      return false;
    }
  }

  publicKeys(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, key] of [...this.pub].sort(([a], [b]) => a.localeCompare(b))) out[name] = rawPublicKey(key).toString('base64');
    return out;
  }
}

/**
 * The public keys in a keys.json (a file that may come with a ledger from someone else): a
 * ConfigError naming the file and the entry when it is not JSON or a key is not 32 bytes.
 */
function readPublicKeys(pubFile: string): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  if (!existsSync(pubFile)) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readBoundedText(pubFile, MAX_PUBLIC_KEYS_BYTES, (reason) => new ConfigError(pubFile, reason)));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(pubFile, `not JSON (${(err as Error).message}); restore the key directory's keys.json`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys ?? {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new ConfigError(pubFile, 'must hold an object with "keys": { "<agent>": "<base64 public key>" }');
  }
  for (const [name, b64] of Object.entries(keys)) {
    const raw = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (raw.length !== 32) throw new ConfigError(pubFile, `key "${name}" is not the base64 of a raw 32-byte ed25519 public key`);
    try {
      out.set(name, publicKeyFromRaw(raw));
    } catch (err) {
      throw new ConfigError(pubFile, `key "${name.slice(0, 64)}" is ${(err as Error).message}`);
    }
  }
  return out;
}

/** Whether a party's name can name its key file, `private/<name>.key`, inside the key folder. */
export const isKeyFileName = (name: string): boolean => /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(name) && !name.includes('..');

/**
 * A keyring kept in a directory: `keys.json` holds everyone's public keys (safe to share),
 * `private/<agent>.key` the seeds of local agents (mode 0600). Keys are created on first use.
 * keys.json is rewritten whole (a new file renamed over it), with the keys another process on
 * the same directory added meanwhile, under `keys.json.lock` (see file-lock.ts).
 */
export class FileKeyring extends MemoryKeyring {
  /** When keys.json was last read for a key not known here (ms since the epoch; wall time, not the site's clock: this paces file reads). */
  private lastReloadMs = 0;

  constructor(private readonly dir: string, seed?: string) {
    super(seed);
    for (const [name, key] of readPublicKeys(`${dir}/keys.json`)) this.addPublic(name, key);
    // keys.json is not signed, and the site itself rewrites it: someone who can write the
    // folder could put their own key beside a name whose private key is here (the anchor's,
    // "site-anchor", to re-sign checkpoints over a changed ledger). Where the private key is
    // here, its public half must be the one keys.json gives, or nothing starts.
    for (const name of [...this.pub.keys()]) {
      // keys.json may come with a ledger from someone else: a name like "../../x" named a
      // file anywhere, which was read, and its fingerprint printed. Only a name that is a
      // plain file name has a key file here.
      if (!isKeyFileName(name)) continue;
      const file = `${dir}/private/${name}.key`;
      if (existsSync(file)) this.loadPrivate(name, file);
    }
  }

  /**
   * A key not known here is looked for again in keys.json, at most once a second: another
   * process on the same folder (`caco bpp` beside `caco run`, another writer of a PostgreSQL
   * ledger) may have made it since this one read the file, and its events would otherwise not
   * verify here until a restart.
   */
  override publicKey(source: string): KeyObject | undefined {
    const known = super.publicKey(source);
    if (known !== undefined) return known;
    const now = Date.now();
    if (now - this.lastReloadMs < RELOAD_EVERY_MS) return undefined;
    this.lastReloadMs = now;
    for (const [name, key] of readPublicKeys(`${this.dir}/keys.json`)) if (super.publicKey(name) === undefined) this.addPublic(name, key);
    return super.publicKey(source);
  }

  /** Parties whose key file's mode was checked in this process (once: signing is a hot path). */
  private readonly modeChecked = new Set<string>();

  override signingKey(source: string): KeyObject {
    // Checked where a key signs, not where the folder is read: an auditor verifying a copied
    // run folder needs only the public keys, whatever the private files' modes.
    if (!this.modeChecked.has(source) && isKeyFileName(source)) {
      refuseLooseKeyFile(`${this.dir}/private/${source}.key`, source);
      this.modeChecked.add(source);
    }
    if (!this.priv.has(source)) {
      if (!isKeyFileName(source)) throw new ConfigError(`the key of "${source.slice(0, 64)}"`, 'a party whose name is not a plain file name (letters, digits, ".", "_" and "-", not starting with "." or "-") has no key file on this site');
      const file = `${this.dir}/private/${source}.key`;
      if (!this.loadPrivate(source, file)) {
        // One process at a time makes a key and rewrites keys.json: two making the same
        // party's key would each sign with their own while one file kept the other's, and two
        // rewriting keys.json at once dropped what the other had just added.
        mkdirSync(this.dir, { recursive: true });
        withFileLock(`${this.dir}/keys.json`, () => {
          if (this.loadPrivate(source, file)) return; // made by another process while we waited
          const listed = this.pub.get(source) ?? readPublicKeys(`${this.dir}/keys.json`).get(source);
          const made = super.signingKey(source);
          // A party keys.json lists whose private key is not here (deleted, or not restored with
          // the rest): a new key would be written over the listed one, and every event the party
          // signed would stop verifying; the effects reactor would not know its own outcomes
          // and send every callback again. Only a party listed nowhere gets a new key.
          if (listed !== undefined && !rawPublicKey(listed).equals(rawPublicKey(createPublicKey(made)))) {
            this.forget(source, listed);
            throw new ConfigError(
              file,
              `is missing, but ${this.dir}/keys.json lists a public key for "${source}" (${keyFingerprint(listed)}), and what "${source}" signed verifies only with that key; nothing was changed. Restore the file from a backup of the key folder; CACO does not rotate a site's own keys, so without it the site cannot sign as "${source}" again (docs/identity.md, "A missing private key")`,
            );
          }
          this.persist(source, file);
        });
      }
    }
    return super.signingKey(source);
  }

  /** Back to what keys.json says of `source`, after a key made for it was refused. */
  private forget(source: string, listed: KeyObject): void {
    this.priv.delete(source);
    this.pub.set(source, listed);
  }

  /** The private key in `file`, if it exists (written whole by a rename, so never seen half-made). */
  private loadPrivate(source: string, file: string): boolean {
    if (!existsSync(file)) return false;
    const seed = Buffer.from(readBoundedText(file, MAX_PRIVATE_KEY_BYTES, (reason) => new ConfigError(file, reason)).trim(), 'base64');
    if (seed.length !== 32) throw new ConfigError(file, `is not the base64 of a 32-byte ed25519 seed; restore it from a backup (the events "${source}" signed need its key)`);
    const key = privateKeyFromSeed(seed);
    const listed = this.pub.get(source);
    if (listed !== undefined && !rawPublicKey(listed).equals(rawPublicKey(key))) {
      throw new ConfigError(
        `${this.dir}/keys.json`,
        `its public key for "${source}" (${keyFingerprint(listed)}) is not the public half of ${file} (${keyFingerprint(key)}): keys.json was changed (or the private key replaced); whoever holds the key keys.json names can sign as "${source}". Restore keys.json from a copy you trust, or put back the "${source}" entry the private key gives`,
      );
    }
    this.addPrivate(source, key);
    return true;
  }

  /** Under the folder's lock: the new private key, then keys.json with the keys others added. */
  private persist(source: string, file: string): void {
    const key = this.priv.get(source)!;
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, rawPrivateSeed(key).toString('base64') + '\n', 0o600);
    chmodSync(file, 0o600);
    const pubFile = `${this.dir}/keys.json`;
    for (const [name, pub] of readPublicKeys(pubFile)) if (!this.pub.has(name)) this.addPublic(name, pub);
    writeFileAtomic(pubFile, JSON.stringify({ format: 'caco-keys/1', algorithm: 'ed25519', encoding: 'base64 raw 32-byte public key', keys: this.publicKeys() }, null, 2) + '\n');
  }
}

/** As a --key file is: a private key file others can read may already be someone else's too. */
function refuseLooseKeyFile(file: string, source: string): void {
  if (process.platform === 'win32') return;
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return; // not made yet (it will be, 0600), or not on this site
  }
  if ((mode & 0o077) !== 0) throw new ConfigError(file, `can be read by others (mode ${(mode & 0o777).toString(8)}), and whoever read it can sign as "${source}"; chmod 600 it (and if others may have read it, treat the key as lost: docs/identity.md)`);
}
