import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Raw 32-byte ed25519 keys are wrapped in these fixed DER prefixes for node:crypto. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function privateKeyFromSeed(seed32: Uint8Array): KeyObject {
  if (seed32.length !== 32) throw new RangeError('an ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed32]), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromRaw(raw32: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw32]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return pub.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
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
 * A keyring kept in a directory: `keys.json` holds everyone's public keys (safe to share),
 * `private/<agent>.key` the seeds of local agents (mode 0600). Keys are created on first use.
 */
export class FileKeyring extends MemoryKeyring {
  constructor(private readonly dir: string, seed?: string) {
    super(seed);
    const pubFile = `${dir}/keys.json`;
    if (existsSync(pubFile)) {
      const parsed = JSON.parse(readFileSync(pubFile, 'utf8')) as { keys?: Record<string, string> };
      for (const [name, b64] of Object.entries(parsed.keys ?? {})) this.addPublic(name, publicKeyFromRaw(Buffer.from(b64, 'base64')));
    }
  }

  override signingKey(source: string): KeyObject {
    if (!this.priv.has(source)) {
      const file = `${this.dir}/private/${source}.key`;
      if (existsSync(file)) this.addPrivate(source, privateKeyFromSeed(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')));
      else {
        const key = super.signingKey(source);
        this.persist(source);
        return key;
      }
    }
    return super.signingKey(source);
  }

  private persist(source: string): void {
    const key = this.priv.get(source)!;
    const file = `${this.dir}/private/${source}.key`;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, rawPrivateSeed(key).toString('base64') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    writeFileSync(`${this.dir}/keys.json`, JSON.stringify({ format: 'caco-keys/1', algorithm: 'ed25519', encoding: 'base64 raw 32-byte public key', keys: this.publicKeys() }, null, 2) + '\n');
  }
}
