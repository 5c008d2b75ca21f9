// test-file-timeout: 30
/**
 * Found by a helper's review, run there: `caco keys add --public-key AAAA…A=` registered the
 * all-zero "key", a point of small order. OpenSSL verifies against such points, and a signature
 * made with no private key (the identity point and S = 0) was accepted under it by the site's
 * own command check on the first try (and by a plain verify for 42 of 200 random messages). Such
 * keys, and non-canonical encodings, are now refused wherever a public key is read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKeyring, publicKeyFromRaw, rawPublicKey, weakPublicKey } from '../../../core/ledger/keyring.ts';
import { ConfigError } from '../../../core/errors/index.ts';
import { checkNewKeyFields } from '../../../core/identity/key-entry.ts';
import { publicKeyFromBase64 } from '../../../beckn/keys.ts';

const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

test('points of small order, with either sign bit, are refused everywhere a public key is read', () => {
  for (const hex of SMALL_ORDER) {
    for (const signBit of [0, 0x80]) {
      const raw = Buffer.from(hex, 'hex');
      raw[31] = raw[31]! | signBit;
      assert.match(weakPublicKey(raw) ?? '', /small order/, raw.toString('hex'));
      assert.throws(() => publicKeyFromRaw(raw), /not a usable ed25519 public key: it is a point of small order/);
      assert.throws(() => publicKeyFromBase64(raw.toString('base64')), /small order/);
      const problems = checkNewKeyFields({ keyId: 'bob-1', party: 'bob', role: 'third-party', publicKey: raw.toString('base64') });
      assert.deepEqual(problems.map((p) => p.field), ['publicKey']);
      assert.match(problems[0]!.reason, /small order/);
    }
  }
});

test('a y not below 2^255 - 19 (a second encoding) is refused; 100 real keys are not', () => {
  const raw = Buffer.alloc(32, 0xff);
  raw[31] = 0x7f;
  raw[0] = 0xf0;
  assert.match(weakPublicKey(raw) ?? '', /not canonically encoded/);
  assert.match(weakPublicKey(Buffer.alloc(31)) ?? '', /32 bytes, got 31/);
  for (let i = 0; i < 100; i++) {
    const k = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
    assert.equal(weakPublicKey(k), undefined);
    assert.equal(rawPublicKey(publicKeyFromRaw(k)).equals(k), true);
  }
});

test('a small-order key in keys.json is a ConfigError naming the file and the entry, not a crash', () => {
  // From a helper's review of d08e720, run there: the RangeError reached caco audit verify as
  // "unexpected error" with a stack trace.
  const dir = mkdtempSync(join(tmpdir(), 'caco-weak-keys-json-'));
  try {
    writeFileSync(join(dir, 'keys.json'), JSON.stringify({ keys: { outsider: Buffer.alloc(32).toString('base64') } }));
    assert.throws(() => new FileKeyring(dir), (e: unknown) => e instanceof ConfigError && /keys\.json: key "outsider" is not a usable ed25519 public key: it is a point of small order/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
