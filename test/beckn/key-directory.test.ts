import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  BecknSpecValidator,
  FileKeyDirectory,
  RegistryKeyDirectory,
  RegistryLookupError,
  generateKeyPairBase64,
  newSigningIdentity,
  parseKeyDirectoryFile,
  parseSigningKeyFile,
  publicKeyToBase64,
  signRequest,
  signingKey,
  verifyRequest,
} from '../../beckn/index.ts';
import { ConfigError } from '../../core/errors/errors.ts';
import { SPEC_DIR } from './spec-dir.ts';

const T = Date.parse('2026-01-15T16:00:00Z');
const pair = generateKeyPairBase64();
const other = generateKeyPairBase64();

describe('file key directory', { timeout: 30_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'caco-keys-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (keys: unknown[]) => ({ format: 'caco-beckn-keys/1', keys });

  test('finds a listed key within its validity, and nothing else', async () => {
    const path = join(dir, 'keys.json');
    writeFileSync(
      path,
      JSON.stringify(
        file([
          { subscriber_id: 'grid-operator.example.org', key_id: 'k1', signing_public_key: pair.publicKey, type: 'BAP', valid_from: '2026-01-01T00:00:00Z', valid_until: '2026-12-31T23:59:59Z' },
          { subscriber_id: 'grid-operator.example.org', key_id: 'k0', signing_public_key: other.publicKey, status: 'EXPIRED' },
        ]),
      ),
    );
    const d = new FileKeyDirectory(path);
    const k = await d.lookup('grid-operator.example.org', 'k1', T);
    assert.ok(k);
    assert.equal(publicKeyToBase64(k), pair.publicKey);
    assert.equal(await d.lookup('grid-operator.example.org', 'k1', Date.parse('2027-01-01T00:00:00Z')), undefined);
    assert.equal(await d.lookup('grid-operator.example.org', 'k1', Date.parse('2025-12-31T00:00:00Z')), undefined);
    assert.equal(await d.lookup('grid-operator.example.org', 'k0', T), undefined, 'a key whose status is not SUBSCRIBED is not used');
    assert.equal(await d.lookup('grid-operator.example.org', 'k2', T), undefined);
    assert.equal(await d.lookup('someone-else.example.org', 'k1', T), undefined);
  });

  test('signature round trip through the file directory, and reload picks up a rotation', async () => {
    const path = join(dir, 'rotate.json');
    writeFileSync(path, JSON.stringify(file([{ subscriber_id: 'bap.example.org', key_id: 'k1', signing_public_key: pair.publicKey }])));
    const d = new FileKeyDirectory(path);
    const body = '{"hello":"world"}';
    const signed = signRequest(body, signingKey('bap.example.org', 'k2', other.privateSeed), T / 1000, 30);
    const before = await verifyRequest({ authorization: signed.authorization }, body, d, T / 1000);
    assert.equal(before.ok ? 'ok' : before.reason, 'unknown-key');
    writeFileSync(path, JSON.stringify(file([
      { subscriber_id: 'bap.example.org', key_id: 'k1', signing_public_key: pair.publicKey },
      { subscriber_id: 'bap.example.org', key_id: 'k2', signing_public_key: other.publicKey },
    ])));
    d.reload();
    const afterRotation = await verifyRequest({ authorization: signed.authorization }, body, d, T / 1000);
    assert.equal(afterRotation.ok, true);
  });

  test('issue 15.5: an entry as a registry lookup returns it can be pasted in; its url is the registered address', async () => {
    const path = join(dir, 'pasted.json');
    const entry = {
      subscriber_id: 'grid-operator.example.org',
      key_id: '6f1d2c3b-4a59-4e8f-9b0a-1c2d3e4f5a6b',
      signing_public_key: pair.publicKey,
      encr_public_key: 'MCowBQYDK2VuAyEAa8o2ZtmS1k0cVjG6Yv2n2rj4l3g4o7tQ5P2nR6ydPj0=',
      type: 'BAP',
      domain: 'deg:compute-flexibility',
      url: 'https://grid-operator.example.org/beckn',
      location: { country: { code: 'GBR' }, city: { code: 'std:020' } },
      status: 'SUBSCRIBED',
      valid_from: '2026-01-01T00:00:00.000Z',
      valid_until: '2026-12-31T23:59:59+00:00',
      created: '2025-12-20T10:11:12.345Z',
      updated: '2025-12-21T10:11:12+01:00',
    };
    writeFileSync(path, JSON.stringify(file([entry])));
    const d = new FileKeyDirectory(path);
    assert.ok(await d.lookup(entry.subscriber_id, entry.key_id, T));
    assert.equal(await d.registeredUrl(entry.subscriber_id, entry.key_id, T), 'https://grid-operator.example.org/beckn');
    assert.equal(await d.registeredUrl(entry.subscriber_id, 'other', T), undefined);
  });

  test('issue 15.5: a key added to the file is used without a restart; re-reads are rate-limited; a broken edit keeps the keys in force', async () => {
    const path = join(dir, 'live.json');
    const k1 = { subscriber_id: 'bap.example.org', key_id: 'k1', signing_public_key: pair.publicKey };
    const k2 = { subscriber_id: 'new-bap.example.org', key_id: 'k1', signing_public_key: other.publicKey, url: 'https://new-bap.example.org/beckn' };
    writeFileSync(path, JSON.stringify(file([k1])));
    const d = new FileKeyDirectory(path, { checkIntervalMs: 1000 });
    assert.equal(await d.lookup('new-bap.example.org', 'k1', T), undefined);
    writeFileSync(path, JSON.stringify(file([k1, k2]), null, 1));
    assert.equal(await d.lookup('new-bap.example.org', 'k1', T + 500), undefined, 'not looked at again within a second');
    assert.ok(await d.lookup('new-bap.example.org', 'k1', T + 1000), 'the new key is in force');
    assert.equal(await d.registeredUrl('new-bap.example.org', 'k1', T + 1000), 'https://new-bap.example.org/beckn');
    writeFileSync(path, '{ "format": "caco-beckn-keys/1", "keys": [ broken');
    assert.ok(await d.lookup('new-bap.example.org', 'k1', T + 2000), 'a broken edit leaves the keys read before');
    assert.match(d.lastReloadError ?? '', /live\.json/);
    writeFileSync(path, JSON.stringify(file([k1])));
    assert.equal(await d.lookup('new-bap.example.org', 'k1', T + 3000), undefined, 'a removed key is gone');
    assert.equal(d.lastReloadError, undefined);
  });

  test('a bad file is a ConfigError naming the path and the field', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify(file([{ subscriber_id: 'a', key_id: 'k1', signing_public_key: 'short', extra: 1 }])));
    assert.throws(() => new FileKeyDirectory(path), (e: unknown) => e instanceof ConfigError && /keys\[0\]\.signing_public_key/.test(e.message) && /keys\[0\]\.extra/.test(e.message) && e.message.includes(path));
    writeFileSync(path, '{ not json');
    assert.throws(() => new FileKeyDirectory(path), ConfigError);
    assert.throws(() => new FileKeyDirectory(join(dir, 'missing.json')), ConfigError);
    const dup = { subscriber_id: 'a', key_id: 'k1', signing_public_key: pair.publicKey };
    assert.throws(() => parseKeyDirectoryFile(file([dup, dup])), /twice/);
    assert.throws(() => parseKeyDirectoryFile({ format: 'caco-keys/1', keys: [] }), /format/);
  });
});

describe('registry key directory against a local registry', () => {
  let app: FastifyInstance;
  let url: string;
  let calls: Array<Record<string, unknown>> = [];
  let failNext = 0;
  let specProblems: string[] = [];
  const keyId = '6f1d2c3b-4a59-4e8f-9b0a-1c2d3e4f5a6b';
  const subs = [
    { subscriber_id: 'grid-operator.example.org', key_id: keyId, signing_public_key: pair.publicKey, status: 'SUBSCRIBED', type: 'BAP', url: 'https://grid-operator.example.org/beckn', valid_from: '2026-01-01T00:00:00Z', valid_until: '2026-01-15T17:00:00Z', created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' },
    { subscriber_id: 'old-bap.example.org', key_id: keyId, signing_public_key: other.publicKey, status: 'UNSUBSCRIBED' },
  ];

  before(async () => {
    // The registry checks our lookup request against registry.yaml when the spec is at hand.
    const spec = SPEC_DIR ? BecknSpecValidator.fromFile(join(SPEC_DIR, 'core-v1.1.1', 'registry.yaml')) : undefined;
    app = Fastify();
    app.post('/lookup', async (req, reply) => {
      const body = req.body as Record<string, unknown>;
      calls.push(body);
      if (spec) specProblems.push(...spec.validatePointer('#/paths/~1lookup/post/requestBody/content/application~1json/schema', body, 'strict').map((p) => `${p.path}: ${p.message}`));
      if (failNext > 0) {
        failNext--;
        return reply.code(500).send({ error: 'boom' });
      }
      return subs.filter((s) => s.subscriber_id === body.subscriber_id && (body.key_id === undefined || s.key_id === body.key_id));
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => app.close());

  test('finds a subscribed key, caches it by the caller\'s clock, and honours valid_until', async () => {
    calls = [];
    specProblems = [];
    const d = new RegistryKeyDirectory({ registryUrl: url, cacheTtlMs: 60_000, lookupAttributes: { type: 'BAP' } });
    const k = await d.lookup('grid-operator.example.org', keyId, T);
    assert.equal(await d.registeredUrl('grid-operator.example.org', keyId, T), 'https://grid-operator.example.org/beckn', 'the url registered with the key');
    assert.ok(k);
    assert.equal(publicKeyToBase64(k), pair.publicKey);
    assert.deepEqual(calls, [{ type: 'BAP', subscriber_id: 'grid-operator.example.org', key_id: keyId }]);
    assert.ok(await d.lookup('grid-operator.example.org', keyId, T + 59_000));
    assert.equal(calls.length, 1, 'answered from the cache');
    assert.ok(await d.lookup('grid-operator.example.org', keyId, T + 61_000));
    assert.equal(calls.length, 2, 'asked again after the cache ttl');
    assert.equal(await d.lookup('grid-operator.example.org', keyId, Date.parse('2026-01-15T17:00:01Z')), undefined, 'past valid_until');
    assert.deepEqual(specProblems, []);
  });

  test('unknown and unsubscribed keys are not found; "not found" is cached briefly', async () => {
    calls = [];
    const d = new RegistryKeyDirectory({ registryUrl: `${url}/`, negativeCacheTtlMs: 10_000 });
    assert.equal(await d.lookup('nobody.example.org', keyId, T), undefined);
    assert.equal(await d.lookup('nobody.example.org', keyId, T + 5_000), undefined);
    assert.equal(calls.length, 1);
    assert.equal(await d.lookup('old-bap.example.org', keyId, T), undefined);
    assert.equal(await d.lookup('grid-operator.example.org', 'another-key', T), undefined);
  });

  test('concurrent lookups of one key ask once', async () => {
    calls = [];
    const d = new RegistryKeyDirectory({ registryUrl: url });
    const found = await Promise.all(Array.from({ length: 5 }, () => d.lookup('grid-operator.example.org', keyId, T)));
    assert.ok(found.every((k) => k !== undefined));
    assert.equal(calls.length, 1);
  });

  test('a failing or unreachable registry is an error, and verify reports it as such', async () => {
    failNext = 1;
    const d = new RegistryKeyDirectory({ registryUrl: url });
    await assert.rejects(d.lookup('grid-operator.example.org', keyId, T), RegistryLookupError);
    const closed = Fastify();
    const deadUrl = await closed.listen({ host: '127.0.0.1', port: 0 });
    await closed.close();
    const dead = new RegistryKeyDirectory({ registryUrl: deadUrl, timeoutMs: 2000 });
    await assert.rejects(dead.lookup('grid-operator.example.org', keyId, T), RegistryLookupError);
    const body = '{"a":1}';
    const s = signRequest(body, signingKey('grid-operator.example.org', keyId, pair.privateSeed), T / 1000, 30);
    const r = await verifyRequest({ authorization: s.authorization }, body, dead, T / 1000);
    assert.equal(r.ok ? 'ok' : r.reason, 'key-directory-unavailable');
  });

  test('a request signed by a registered BAP verifies through the registry; a stranger does not', async () => {
    const d = new RegistryKeyDirectory({ registryUrl: url });
    const body = JSON.stringify({ context: { action: 'search' }, message: {} });
    const good = signRequest(body, signingKey('grid-operator.example.org', keyId, pair.privateSeed), T / 1000, 30);
    assert.equal((await verifyRequest({ authorization: good.authorization }, body, d, T / 1000)).ok, true);
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const bad = signRequest(body, { subscriberId: 'grid-operator.example.org', uniqueKeyId: keyId, privateKey: stranger }, T / 1000, 30);
    const r = await verifyRequest({ authorization: bad.authorization }, body, d, T / 1000);
    assert.equal(r.ok ? 'ok' : r.reason, 'bad-signature');
  });
});

describe('signing key file', () => {
  test('a new identity signs, and its directory entry verifies it', async () => {
    const id = newSigningIdentity('dc-london-01.example.com', 'k1');
    const key = parseSigningKeyFile(JSON.parse(JSON.stringify(id.signingKeyFile)));
    const dir = parseKeyDirectoryFile({ format: 'caco-beckn-keys/1', keys: [id.directoryEntry] });
    const body = '{"x":1}';
    const s = signRequest(body, key, T / 1000, 30);
    assert.ok(s.authorization.includes('keyId="dc-london-01.example.com|k1|ed25519"'));
    assert.equal((await verifyRequest({ authorization: s.authorization }, body, dir, T / 1000)).ok, true);
  });

  test('a public key that does not match, or a malformed private key, is a ConfigError', () => {
    const id = newSigningIdentity('a.example.org', 'k1');
    assert.throws(() => parseSigningKeyFile({ ...id.signingKeyFile, signing_public_key: other.publicKey }), (e: unknown) => e instanceof ConfigError && /does not belong/.test(e.message));
    assert.throws(() => parseSigningKeyFile({ ...id.signingKeyFile, signing_private_key: 'c2hvcnQ=' }), (e: unknown) => e instanceof ConfigError && /signing_private_key/.test(e.message));
    assert.throws(() => parseSigningKeyFile({ ...id.signingKeyFile, format: 'v2' }), ConfigError);
  });
});

describe('registry key directory: what unsigned junk can make it remember', { timeout: 60_000 }, () => {
  test('the cache of answers is bounded: 10,000 keys, the oldest forgotten first', async () => {
    // Every request names its own keyId (unverified: the header is read before the key is found),
    // so each junk keyId used to add a "not found" entry that was never dropped.
    const asked: string[] = [];
    const fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      asked.push(JSON.parse(String(init?.body)).key_id as string);
      return new Response('[]', { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof globalThis.fetch;
    const d = new RegistryKeyDirectory({ registryUrl: 'http://registry.invalid', fetch });
    const T = Date.parse('2026-01-15T12:00:00Z');
    for (let i = 0; i <= 10_000; i++) assert.equal(await d.lookup('junk.example.org', `k${i}`, T), undefined);
    assert.equal(asked.length, 10_001);
    assert.equal(await d.lookup('junk.example.org', 'k10000', T), undefined);
    assert.equal(asked.length, 10_001, 'the newest answer is still cached');
    assert.equal(await d.lookup('junk.example.org', 'k0', T), undefined);
    assert.equal(asked.length, 10_002, 'the oldest was forgotten, so it is asked again');
  });

  test('at most 32 different keys wait on the registry at once; past that a lookup fails at once, unasked', async () => {
    // Each unsigned request naming a new keyId used to start one more registry request, each held
    // for up to the timeout: junk at any rate became the same rate of requests to the registry.
    let asked = 0;
    const release: Array<() => void> = [];
    const fetch = (async () => {
      asked++;
      await new Promise<void>((resolve) => release.push(resolve));
      return new Response('[]', { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof globalThis.fetch;
    const d = new RegistryKeyDirectory({ registryUrl: 'http://registry.invalid', fetch });
    const T = Date.parse('2026-01-15T12:00:00Z');
    const waiting = Array.from({ length: 32 }, (_, i) => d.lookup('junk.example.org', `k${i}`, T));
    await assert.rejects(d.lookup('junk.example.org', 'k32', T), (e: unknown) => e instanceof RegistryLookupError && /32 lookups already waiting/.test(e.message));
    const same = d.lookup('junk.example.org', 'k0', T);
    assert.equal(asked, 32, 'the 33rd key was not asked for; a key already being asked for shares its request');
    const r = await verifyRequest({ authorization: signRequest('{}', signingKey('junk.example.org', 'k99', generateKeyPairBase64().privateSeed), T / 1000, 30).authorization }, '{}', d, T / 1000);
    assert.equal(r.ok ? 'ok' : r.reason, 'key-directory-unavailable', 'answered as a registry that cannot be asked, not as an unknown key');
    for (const go of release) go();
    assert.deepEqual(await Promise.all([...waiting, same]), Array.from({ length: 33 }, () => undefined));
    const later = d.lookup('junk.example.org', 'k40', T);
    await new Promise((r) => setImmediate(r));
    assert.equal(asked, 33, 'asked once the others are answered');
    release.at(-1)?.();
    assert.equal(await later, undefined);
  });

  test('a registry answer longer than maxAnswerBytes is an error, not read to the end', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const fetch = (async () => new Response(endless, { status: 200 })) as typeof globalThis.fetch;
    const d = new RegistryKeyDirectory({ registryUrl: 'http://registry.invalid', fetch, maxAnswerBytes: 256 * 1024 });
    await assert.rejects(d.lookup('a.example.org', 'k1', Date.parse('2026-01-15T12:00:00Z')), (e: unknown) => e instanceof RegistryLookupError && /longer than 262144 bytes/.test(e.message));
    assert.ok(pulled <= 8, `read ${pulled} chunks of 64 KiB`);
  });

  test('a keyId whose subscriber or key id is over 256 characters is malformed: no directory is asked', async () => {
    let asked = 0;
    const directory = { lookup: async () => (asked++, undefined), registeredUrl: async () => (asked++, undefined) };
    const T = Date.parse('2026-01-15T12:00:00Z');
    const body = '{}';
    const sig = (sub: string, kid: string) => signRequest(body, signingKey('ok.example.org', 'k1', generateKeyPairBase64().privateSeed), T / 1000, 30).authorization.replace('keyId="ok.example.org|k1|ed25519"', `keyId="${sub}|${kid}|ed25519"`);
    for (const [sub, kid] of [['s'.repeat(257), 'k1'], ['ok.example.org', 'k'.repeat(8_000)]] as const) {
      const r = await verifyRequest({ authorization: sig(sub, kid) }, body, directory, T / 1000);
      assert.equal(r.ok ? 'ok' : r.reason, 'malformed');
      assert.match(r.ok ? '' : r.message, /at most 256 characters/);
    }
    assert.equal(asked, 0);
    const fine = await verifyRequest({ authorization: sig('s'.repeat(256), 'k'.repeat(256)) }, body, directory, T / 1000);
    assert.equal(fine.ok ? 'ok' : fine.reason, 'unknown-key', 'ids of 256 characters are looked up');
  });
});
