import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import {
  DEFAULT_CLOCK_SKEW_SEC,
  StaticKeyDirectory,
  blake512Base64,
  digestValue,
  parseSignatureHeader,
  privateKeyFromBase64,
  publicKeyToBase64,
  signRequest,
  signingString,
  verifyRequest,
  wwwAuthenticate,
  type KeyDirectory,
} from '../../beckn/index.ts';
import { FIXTURES, readSpecJson, readSpecText, skipWithoutSpec } from './spec-dir.ts';

interface Vector {
  body: string;
  signing_public_key: string;
  signing_private_key_libsodium_64B: string;
  signing_private_key_seed_32B: string;
  created: number;
  expires: number;
  expected_digest_header_value: string;
  expected_signing_string: string;
  expected_signature: string;
  expected_authorization_header: string;
  subscriber_id?: string;
  unique_key_id?: string;
}

const VECTORS = ['fixtures/beckn-006-signing-vector.json', 'fixtures/caco-on_confirm-signing-vector.json'];

/** keyId parts as published in the vector's header (the BECKN-006 prose names another id; the header is what was signed). */
function keyIdOf(v: Vector): { subscriberId: string; uniqueKeyId: string } {
  const m = /keyId="([^|]+)\|([^|]+)\|ed25519"/.exec(v.expected_authorization_header);
  assert.ok(m, 'vector header has a keyId');
  return { subscriberId: m[1]!, uniqueKeyId: m[2]! };
}

function directoryFor(v: Vector, extra: Partial<{ valid_from: string; valid_until: string; status: 'SUBSCRIBED' | 'EXPIRED' }> = {}): StaticKeyDirectory {
  const { subscriberId, uniqueKeyId } = keyIdOf(v);
  return new StaticKeyDirectory([{ subscriber_id: subscriberId, key_id: uniqueKeyId, signing_public_key: v.signing_public_key, ...extra }]);
}

describe('Beckn signing reproduces the published vectors', { skip: skipWithoutSpec }, () => {
  for (const file of VECTORS) {
    test(file, async () => {
      const v = readSpecJson<Vector>(file);
      const { subscriberId, uniqueKeyId } = keyIdOf(v);
      assert.equal(digestValue(v.body), v.expected_digest_header_value);
      assert.equal(signingString(v.created, v.expires, digestValue(v.body)), v.expected_signing_string);
      for (const priv of [v.signing_private_key_seed_32B, v.signing_private_key_libsodium_64B]) {
        const key = { subscriberId, uniqueKeyId, privateKey: privateKeyFromBase64(priv) };
        assert.equal(publicKeyToBase64(createPublicKey(key.privateKey)), v.signing_public_key);
        const signed = signRequest(Buffer.from(v.body, 'utf8'), key, v.created, v.expires - v.created);
        assert.equal(signed.signingString, v.expected_signing_string);
        assert.equal(signed.signature, v.expected_signature);
        assert.equal(signed.authorization, v.expected_authorization_header);
      }
      const ok = await verifyRequest({ authorization: v.expected_authorization_header }, v.body, directoryFor(v), v.created + 1);
      assert.deepEqual(ok, { ok: true, subscriberId, uniqueKeyId, created: v.created, expires: v.expires, digestLabel: 'BLAKE-512' });
    });
  }

  test('the CACO vector signs the compact JSON of the on_confirm fixture', () => {
    const v = readSpecJson<Vector>(VECTORS[1]!);
    assert.equal(JSON.stringify(JSON.parse(readSpecText(`${FIXTURES}/on_confirm.json`))), v.body);
  });

  test('BECKN-006 worked BLAKE2b-512 example', () => {
    assert.equal(blake512Base64('The quick brown fox jumps over the lazy dog'), 'qK3Uvd39k+SHfSdG5igXsRY2Sh+nvBSNlQkLxzM7NnP4JAHPeqLkyx7NkCluPxTLVBP47Xe+cwRbE5FM3NapGA==');
  });
});

describe('verifyRequest says why a request is refused', { skip: skipWithoutSpec }, () => {
  const v = (): Vector => readSpecJson<Vector>(VECTORS[1]!);
  const at = (x: Vector) => x.created + 1;

  test('missing header', async () => {
    const x = v();
    const r = await verifyRequest({}, x.body, directoryFor(x), at(x));
    assert.equal(r.ok ? 'ok' : r.reason, 'missing');
  });

  test('malformed headers', async () => {
    const x = v();
    const h = x.expected_authorization_header;
    const bad = [
      h.replace('Signature ', 'Bearer '),
      h.replace('|k1|ed25519', '|ed25519'),
      h.replace('|k1|ed25519', '|k1|rsa-sha256'),
      h.replace('algorithm="ed25519"', 'algorithm="hmac-sha256"'),
      h.replace('headers="(created) (expires) digest"', 'headers="(created) digest"'),
      h.replace(`created="${x.created}"`, 'created="soon"'),
      h.replace(`expires="${x.expires}"`, `expires="${x.created - 10}"`),
      h.replace(/signature="[^"]+"/, 'signature="AAAA"'),
      h.replace(/,signature="[^"]+"/, ''),
      `${h},keyId="x|y|ed25519"`,
    ];
    for (const b of bad) {
      const r = await verifyRequest({ authorization: b }, x.body, directoryFor(x), at(x));
      assert.equal(r.ok ? 'ok' : r.reason, 'malformed', b);
    }
  });

  test('spaces after commas and unquoted created/expires are accepted (draft-cavage allows them)', async () => {
    const x = v();
    const h = x.expected_authorization_header.replace(/","/g, '", "').replace(`created="${x.created}"`, `created=${x.created}`);
    const r = await verifyRequest({ Authorization: h }, x.body, directoryFor(x), at(x));
    assert.equal(r.ok, true);
  });

  test('expired and future-dated, with the clock-skew allowance at the edges', async () => {
    const x = v();
    const dir = directoryFor(x);
    const auth = { authorization: x.expected_authorization_header };
    const r1 = await verifyRequest(auth, x.body, dir, x.expires + DEFAULT_CLOCK_SKEW_SEC + 1);
    assert.equal(r1.ok ? 'ok' : r1.reason, 'expired');
    assert.equal((await verifyRequest(auth, x.body, dir, x.expires + DEFAULT_CLOCK_SKEW_SEC)).ok, true);
    const r2 = await verifyRequest(auth, x.body, dir, x.created - DEFAULT_CLOCK_SKEW_SEC - 1);
    assert.equal(r2.ok ? 'ok' : r2.reason, 'future-dated');
    assert.equal((await verifyRequest(auth, x.body, dir, x.created - DEFAULT_CLOCK_SKEW_SEC)).ok, true);
    const r3 = await verifyRequest(auth, x.body, dir, x.expires + 2, { clockSkewSec: 0 });
    assert.equal(r3.ok ? 'ok' : r3.reason, 'expired');
  });

  test('unknown key: not in the directory, another key id, or outside its validity', async () => {
    const x = v();
    const auth = { authorization: x.expected_authorization_header };
    const empty = await verifyRequest(auth, x.body, new StaticKeyDirectory(), at(x));
    assert.equal(empty.ok ? 'ok' : empty.reason, 'unknown-key');
    assert.equal(empty.ok ? '' : empty.subscriberId, 'dc-london-01.example.com');
    const other = await verifyRequest({ authorization: auth.authorization.replace('|k1|', '|k2|') }, x.body, directoryFor(x), at(x));
    assert.equal(other.ok ? 'ok' : other.reason, 'unknown-key');
    const createdIso = new Date(x.created * 1000).toISOString();
    const lapsed = await verifyRequest(auth, x.body, directoryFor(x, { valid_until: createdIso }), at(x));
    assert.equal(lapsed.ok ? 'ok' : lapsed.reason, 'unknown-key');
    const notYet = await verifyRequest(auth, x.body, directoryFor(x, { valid_from: new Date((x.created + 60) * 1000).toISOString() }), at(x));
    assert.equal(notYet.ok ? 'ok' : notYet.reason, 'unknown-key');
    const revoked = await verifyRequest(auth, x.body, directoryFor(x, { status: 'EXPIRED' }), at(x));
    assert.equal(revoked.ok ? 'ok' : revoked.reason, 'unknown-key');
    // The key is looked up before the body is hashed (up to a megabyte): a sender with no key
    // is refused as such, whatever its body and Digest header.
    const big = `${x.body}${' '.repeat(1 << 20)}`;
    const unknownBig = await verifyRequest({ ...auth, digest: x.expected_digest_header_value }, big, new StaticKeyDirectory(), at(x));
    assert.equal(unknownBig.ok ? 'ok' : unknownBig.reason, 'unknown-key');
  });

  test('a changed body is a bad signature, or a digest mismatch when a Digest header came with it', async () => {
    const x = v();
    const tampered = x.body.replace('"value":"1.5"', '"value":"2.5"');
    assert.notEqual(tampered, x.body);
    const r1 = await verifyRequest({ authorization: x.expected_authorization_header }, tampered, directoryFor(x), at(x));
    assert.equal(r1.ok ? 'ok' : r1.reason, 'bad-signature');
    const reformatted = JSON.stringify(JSON.parse(x.body), null, 1);
    const r2 = await verifyRequest({ authorization: x.expected_authorization_header }, reformatted, directoryFor(x), at(x));
    assert.equal(r2.ok ? 'ok' : r2.reason, 'bad-signature', 'verification is over the exact bytes, not the JSON value');
    const r3 = await verifyRequest({ authorization: x.expected_authorization_header, digest: x.expected_digest_header_value }, tampered, directoryFor(x), at(x));
    assert.equal(r3.ok ? 'ok' : r3.reason, 'digest-mismatch');
    const r4 = await verifyRequest({ authorization: x.expected_authorization_header, digest: x.expected_digest_header_value }, x.body, directoryFor(x), at(x));
    assert.equal(r4.ok, true);
  });

  test('a signature by another key is a bad signature', async () => {
    const x = v();
    const intruder = { subscriberId: 'dc-london-01.example.com', uniqueKeyId: 'k1', privateKey: generateKeyPairSync('ed25519').privateKey };
    const forged = signRequest(x.body, intruder, x.created, 30);
    const r = await verifyRequest({ authorization: forged.authorization }, x.body, directoryFor(x), at(x));
    assert.equal(r.ok ? 'ok' : r.reason, 'bad-signature');
  });

  test('a directory that cannot answer is not an unknown key', async () => {
    const x = v();
    const down: KeyDirectory = { lookup: () => Promise.reject(new Error('connection refused')), registeredUrl: () => Promise.reject(new Error('connection refused')) };
    const r = await verifyRequest({ authorization: x.expected_authorization_header }, x.body, down, at(x));
    assert.equal(r.ok ? 'ok' : r.reason, 'key-directory-unavailable');
  });

  test('a digest labelled BLAKE2-512 by the sender also verifies', async () => {
    const x = v();
    const priv = privateKeyFromBase64(x.signing_private_key_seed_32B);
    const str = signingString(x.created, x.expires, digestValue(x.body, 'BLAKE2-512'));
    const sig = sign(null, Buffer.from(str), priv).toString('base64');
    const h = x.expected_authorization_header.replace(/signature="[^"]+"/, `signature="${sig}"`);
    const r = await verifyRequest({ authorization: h }, x.body, directoryFor(x), at(x));
    assert.equal(r.ok && r.digestLabel, 'BLAKE2-512');
  });
});

describe('sign/verify round trip (property)', () => {
  const keys: Array<{ priv: KeyObject; pub: string }> = Array.from({ length: 3 }, () => {
    const k = generateKeyPairSync('ed25519');
    return { priv: k.privateKey, pub: publicKeyToBase64(k.publicKey) };
  });
  const dir = new StaticKeyDirectory(keys.map((k, i) => ({ subscriber_id: 'bap.example.org', key_id: `key-${i}`, signing_public_key: k.pub })));

  test('any body verifies with its own key and fails after any one-byte change', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.nat({ max: 2 }),
        fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (body, k, now, ttl, pos, flip) => {
          const key = { subscriberId: 'bap.example.org', uniqueKeyId: `key-${k}`, privateKey: keys[k]!.priv };
          const s = signRequest(body, key, now, ttl);
          assert.equal(parseSignatureHeader(s.authorization).ok, true);
          const ok = await verifyRequest({ authorization: s.authorization }, body, dir, now + Math.floor(ttl / 2));
          assert.equal(ok.ok, true);
          const changed = Uint8Array.from(body);
          const i = pos % changed.length;
          changed[i] = changed[i]! ^ flip;
          const bad = await verifyRequest({ authorization: s.authorization }, changed, dir, now);
          assert.equal(bad.ok ? 'ok' : bad.reason, 'bad-signature');
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a signature that lives longer than a day (expires − created) is refused: captured bytes must not be replayable for a week', async () => {
    const key = { subscriberId: 'bap.example.org', uniqueKeyId: 'key-0', privateKey: keys[0]!.priv };
    const now = 1_768_471_200;
    const day = await verifyRequest({ authorization: signRequest('{}', key, now, 86_400).authorization }, '{}', dir, now);
    assert.equal(day.ok, true, 'a day, the longest ttl, is taken');
    const week = await verifyRequest({ authorization: signRequest('{}', key, now, 7 * 86_400).authorization }, '{}', dir, now);
    assert.equal(week.ok ? 'ok' : week.reason, 'malformed');
    assert.match(week.ok ? '' : week.message, /lives 604800 s \(expires − created\); at most 86400 s is taken/);
    const allowed = await verifyRequest({ authorization: signRequest('{}', key, now, 7 * 86_400).authorization }, '{}', dir, now, { maxLifetimeSec: 7 * 86_400 });
    assert.equal(allowed.ok, true);
  });

  test('WWW-Authenticate names the realm and the signed headers', () => {
    assert.equal(wwwAuthenticate('dc-london-01.example.com'), 'Signature realm="dc-london-01.example.com",headers="(created) (expires) digest"');
  });
});
