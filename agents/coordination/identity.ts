import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { publicKeyToBase64, type BecknSigningKey } from '../../beckn/index.ts';
import { privateKeyFromSeed } from '../../core/ledger/index.ts';

/**
 * Beckn identities for simulations: a participant's key derived from the run seed, so a seeded
 * run signs the same bytes every time, and the key directory file each run writes.
 */
export function seededSigningKey(seed: string, subscriberId: string, keyId = 'k1'): BecknSigningKey {
  const seed32 = createHash('sha256').update(`caco-beckn:${seed}:${subscriberId}`).digest();
  return { subscriberId, uniqueKeyId: keyId, privateKey: privateKeyFromSeed(seed32) };
}

/**
 * Write a `caco-beckn-keys/1` file (docs/beckn.md) listing the public halves of `keys`, each
 * with the address it takes callbacks at (a BPP calls back only there).
 */
export function writeKeyDirectoryFile(path: string, keys: ReadonlyArray<BecknSigningKey & { readonly type?: 'BAP' | 'BPP'; readonly url?: string }>): void {
  const file = {
    format: 'caco-beckn-keys/1',
    keys: keys.map((k) => ({
      subscriber_id: k.subscriberId,
      key_id: k.uniqueKeyId,
      signing_public_key: publicKeyToBase64(k.privateKey),
      ...(k.type ? { type: k.type } : {}),
      ...(k.url ? { url: k.url } : {}),
    })),
  };
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o644 });
}
