// test-file-timeout: 60
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../core/errors/index.ts';
import { FileKeyring, keyFingerprint, rawPublicKey } from '../../../core/ledger/keyring.ts';

/**
 * keys.json is not signed and the site rewrites it: someone who can write the key folder could
 * put their own public key under "site-anchor" and re-sign every checkpoint with it. Where the
 * private key is in the folder, its public half decides.
 */
describe('FileKeyring and keys.json', { timeout: 30_000 }, () => {
  test('a keys.json public key that is not the public half of the private key held for that name is refused at start, naming the name and the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-keyring-trust-'));
    try {
      const k = new FileKeyring(dir);
      k.sign('site-anchor', new Uint8Array(1));
      k.sign('compute', new Uint8Array(1));
      const real = rawPublicKey(k.publicKey('site-anchor')!).toString('base64');
      // A key folder as it is: opens.
      assert.equal(rawPublicKey(new FileKeyring(dir).publicKey('site-anchor')!).toString('base64'), real);
      const file = join(dir, 'keys.json');
      const json = JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, string> };
      const theirs = rawPublicKey(generateKeyPairSync('ed25519').publicKey).toString('base64');
      json.keys['site-anchor'] = theirs;
      // A party whose private key is not here (an outside agent's) is taken as given.
      json.keys['acme'] = rawPublicKey(generateKeyPairSync('ed25519').publicKey).toString('base64');
      writeFileSync(file, JSON.stringify(json));
      assert.throws(
        () => new FileKeyring(dir),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes(file) &&
          err.message.includes('"site-anchor"') &&
          err.message.includes(join(dir, 'private', 'site-anchor.key')) &&
          err.message.includes(keyFingerprint(theirs)) &&
          err.message.includes(keyFingerprint(real)),
      );
      json.keys['site-anchor'] = real;
      writeFileSync(file, JSON.stringify(json));
      assert.ok(new FileKeyring(dir).publicKey('acme'), 'a key without a private key here is kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a fingerprint is fp: and the first 16 hex digits of the SHA-256 of the raw public key, the same from the key or its base64', () => {
    const pub = generateKeyPairSync('ed25519').publicKey;
    const fp = keyFingerprint(pub);
    assert.match(fp, /^fp:[0-9a-f]{16}$/);
    assert.equal(keyFingerprint(rawPublicKey(pub).toString('base64')), fp);
  });
});
