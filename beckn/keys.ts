import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import { ConfigError } from '../core/errors/index.ts';
import { privateKeyFromSeed, publicKeyFromRaw } from '../core/ledger/index.ts';
import { SigningKeyFile, type KeyDirectoryEntry } from '../schemas/beckn/index.ts';
import { decodeWith } from '../schemas/index.ts';
import type { BecknSigningKey } from './signing.ts';
import { readBoundedText } from '../core/files/index.ts';

/** A signing key file is a few hundred bytes. */
const MAX_SIGNING_KEY_FILE_BYTES = 64 * 1024;

/** ed25519 key material in the encodings Beckn registries and libsodium use. */

/** A public key from base64 raw 32 bytes (the registry's `signing_public_key`). */
export function publicKeyFromBase64(b64: string): KeyObject {
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 32) throw new RangeError(`an ed25519 public key is 32 bytes, got ${raw.length} after base64 decoding`);
  return publicKeyFromRaw(raw);
}

/** base64 raw 32-byte public key, the form a registry or key directory file holds. */
export function publicKeyToBase64(key: KeyObject): string {
  return rawPublicKey(key).toString('base64');
}

/** Raw 32 bytes of an ed25519 public key, given the public or the private key. */
function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  // The SPKI DER of an ed25519 key is a fixed 12-byte prefix followed by the raw key.
  return pub.export({ format: 'der', type: 'spki' }).subarray(12);
}

/**
 * A private key from base64: the 32-byte seed, or libsodium's 64-byte seed‖public key
 * (the form BECKN-006 prints), whose public half must then match the seed.
 */
export function privateKeyFromBase64(b64: string): KeyObject {
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 32 && raw.length !== 64) throw new RangeError(`an ed25519 private key is a 32-byte seed or 64-byte libsodium key, got ${raw.length} bytes`);
  const key = privateKeyFromSeed(raw.subarray(0, 32));
  if (raw.length === 64 && !rawPublicKey(createPublicKey(key)).equals(raw.subarray(32))) {
    throw new RangeError('the 64-byte private key\'s public half does not belong to its seed');
  }
  return key;
}

export function signingKey(subscriberId: string, uniqueKeyId: string, privateKeyB64: string): BecknSigningKey {
  return { subscriberId, uniqueKeyId, privateKey: privateKeyFromBase64(privateKeyB64) };
}

/** A fresh key pair for `caco beckn keygen`-like tooling: the private seed and the public key, base64. */
export function generateKeyPairBase64(): { privateSeed: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  return { privateSeed: seed.toString('base64'), publicKey: publicKeyToBase64(publicKey) };
}

/** Read a signing key file (format `caco-beckn-signing-key/1`, see docs/beckn.md). */
export function parseSigningKeyFile(json: unknown, source = 'signing key file'): BecknSigningKey {
  const d = decodeWith(SigningKeyFile, json);
  if (!d.ok) throw new ConfigError(source, d.problems.map((p) => `${p.path || '(root)'}: ${p.reason}`).join('; '));
  let key: BecknSigningKey;
  try {
    key = signingKey(d.value.subscriber_id, d.value.key_id, d.value.signing_private_key);
  } catch (e) {
    throw new ConfigError(source, (e as Error).message);
  }
  if (d.value.signing_public_key !== undefined && d.value.signing_public_key !== publicKeyToBase64(key.privateKey)) {
    throw new ConfigError(source, 'signing_public_key does not belong to signing_private_key');
  }
  return key;
}

/** Read a signing key file; refuses one that others than its owner can read (a private key is not to be shared). */
export function loadSigningKeyFile(path: string): BecknSigningKey {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (e) {
    throw new ConfigError(`signing key file ${path}`, (e as Error).message);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new ConfigError(`signing key file ${path}`, `can be read or written by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  }
  let json: unknown;
  try {
    const text = readBoundedText(path, MAX_SIGNING_KEY_FILE_BYTES, (reason) => new ConfigError(`signing key file ${path}`, reason));
    // Empty: cut short when it was made (before writes were atomic), not a key to repair.
    if (text.trim() === '') throw new ConfigError(`signing key file ${path}`, 'is empty (its making was cut short): if no BAP has registered its public half yet, delete it and start again to make a new key; else restore it from a backup');
    json = JSON.parse(text);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`signing key file ${path}`, (e as Error).message);
  }
  return parseSigningKeyFile(json, `signing key file ${path}`);
}

/**
 * A new identity: the private signing key file's contents and the matching entry for other
 * participants' key directory files (or for a registry subscription).
 */
export function newSigningIdentity(subscriberId: string, keyId: string, url?: string): { signingKeyFile: SigningKeyFile; directoryEntry: KeyDirectoryEntry } {
  const { privateSeed, publicKey } = generateKeyPairBase64();
  return {
    signingKeyFile: { format: 'caco-beckn-signing-key/1', subscriber_id: subscriberId, key_id: keyId, signing_private_key: privateSeed, signing_public_key: publicKey },
    directoryEntry: { subscriber_id: subscriberId, key_id: keyId, signing_public_key: publicKey, ...(url !== undefined ? { url } : {}) },
  };
}
