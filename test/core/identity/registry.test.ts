import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  authenticateCommand,
  KeyRegistry,
  KeyRegistryError,
  MemoryKeyRegistryStore,
  newKeyFile,
  readKeyFile,
  ROLES,
  SiteIdentity,
  signWithKey,
  SqliteKeyRegistryStore,
  verifyEntry,
  writeKeyFile,
  type KeyRegistryStore,
} from '../../../core/identity/index.ts';
import { PRINCIPAL_ROLES } from '../../../schemas/index.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { SimulatedClock } from '../../../core/clock/simulated-clock.ts';

const clock = new SimulatedClock(Date.parse('2023-07-03T00:00:00Z'));

function stores(): Array<[string, () => { store: KeyRegistryStore & { putRaw(k: string, t: string): void }; cleanup: () => void }]> {
  return [
    ['memory', () => ({ store: new MemoryKeyRegistryStore(), cleanup: () => undefined })],
    [
      'sqlite',
      () => {
        const dir = mkdtempSync(join(tmpdir(), 'caco-reg-'));
        return { store: new SqliteKeyRegistryStore(join(dir, 'keys', 'registry.db')), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
      },
    ],
  ];
}

describe('key registry', { timeout: 60_000 }, () => {
  for (const [name, make] of stores()) {
    test(`${name}: add, look up, revoke; a changed or foreign entry is ignored and reported`, async () => {
      const { store, cleanup } = make();
      try {
        const reported: string[] = [];
        const id = new SiteIdentity({ store, keyring: new MemoryKeyring('reg'), clock });
        const registry = new KeyRegistry(store, id.registry.adminPublicKey, (b) => reported.push(`${b.keyId}: ${b.reason}`));
        const alice = newKeyFile({ party: 'alice', role: 'third-party' });
        const e = await id.admin.add(alice);
        assert.equal(e.status, 'active');
        assert.equal(e.revokedAt, null);
        assert.deepEqual((await registry.lookup(alice.keyId)).found, true);
        await assert.rejects(id.admin.add(alice), /keyId: "alice-[0-9a-f]{8}" is already registered/);
        // The same public key under another id (another party, another role) is refused: revoking
        // alice's entry would have left it accepted under the second.
        await assert.rejects(id.admin.add({ ...alice, keyId: 'other1', party: 'other', role: 'admin' }), (err: unknown) => err instanceof KeyRegistryError && err.field === 'publicKey' && new RegExp(`already registered as "${alice.keyId}"`).test(err.message));
        assert.equal((await registry.lookup('other1')).found, false);
        // Also when the new entry replaces one of its own id (the path the site takes for its own
        // parties): the key would still have two entries.
        await assert.rejects(id.admin.add({ ...alice, keyId: 'other3', party: 'other', role: 'admin' }, { replace: true }), (err: unknown) => err instanceof KeyRegistryError && err.field === 'publicKey');
        assert.equal((await registry.lookup('other3')).found, false);
        // Another spelling of the same 32 bytes (the last character's 2 unused bits set) is the same key.
        const last = alice.publicKey.at(-2)!;
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
        const respelt = alice.publicKey.slice(0, -2) + alphabet[alphabet.indexOf(last) ^ 1]! + '=';
        assert.notEqual(respelt, alice.publicKey);
        assert.ok(Buffer.from(respelt, 'base64').equals(Buffer.from(alice.publicKey, 'base64')));
        await assert.rejects(id.admin.add({ ...alice, publicKey: respelt, keyId: 'other2', party: 'other', role: 'admin' }), (err: unknown) => err instanceof KeyRegistryError && err.field === 'publicKey');
        await assert.rejects(id.admin.add({ ...alice, keyId: 'x.y', role: 'wizard' as never }), /keyId use 1-64 letters.*role use one of: agent, third-party, operator, admin/);
        const r = await id.admin.revoke(alice.keyId);
        assert.equal(r.status, 'revoked');
        assert.ok(r.revokedAt);
        await assert.rejects(id.admin.revoke(alice.keyId), /already revoked/);
        // Someone with write access to the storage turns the entry back on, or rewrites it.
        const stored = (await store.get(alice.keyId)) as Record<string, unknown>;
        store.putRaw(alice.keyId, JSON.stringify({ ...stored, status: 'active', revokedAt: null }));
        const revived = await registry.lookup(alice.keyId);
        assert.equal(revived.found, false, 'a revocation cannot be undone by editing the storage');
        assert.match(revived.found ? '' : revived.reason, /its registry entry is ignored \(admin signature does not verify/);
        store.putRaw('bob-1', '{not json');
        store.putRaw('carol-1', JSON.stringify({ ...stored, keyId: 'alice-copy' }));
        const { entries, bad } = await registry.list();
        assert.deepEqual(entries.map((x) => x.keyId), []);
        assert.deepEqual(bad.map((b) => b.keyId).sort(), [alice.keyId, 'bob-1', 'carol-1'].sort());
        assert.match(bad.find((b) => b.keyId === 'carol-1')!.reason, /stored under "carol-1" but names key "alice-copy"/);
        assert.ok(reported.length >= 3);
      } finally {
        await store.close();
        cleanup();
      }
    });
  }

  test("a site's own party is registered once, under its name, and never takes over a key id it does not hold", async () => {
    const store = new MemoryKeyRegistryStore();
    const a = new SiteIdentity({ store, keyring: new MemoryKeyring('site-a'), clock });
    assert.deepEqual(await a.ensureLocal('operator'), { keyId: 'operator', party: 'operator', role: 'operator' });
    assert.deepEqual(await a.ensureLocal('compute'), { keyId: 'compute', party: 'compute', role: 'agent' });
    // Another process with other keys but the same admin key cannot re-register "operator".
    const keyringB = new MemoryKeyring('site-a');
    keyringB.addPrivate('operator', new MemoryKeyring('other').signingKey('operator'));
    const b = new SiteIdentity({ store, keyring: keyringB, clock });
    await assert.rejects(b.ensureLocal('operator'), /"operator" is registered to a key this site does not hold/);
    // The site's own keys are not revoked by mistake: only with forceSiteKey (a leaked key).
    await a.ensureAdmin();
    await assert.rejects(a.admin.revoke('admin'), /keyId: "admin" is the site's admin key: revoking it stops the site.*--force-site-key/);
    await assert.rejects(a.admin.revoke('compute'), /keyId: "compute" is the key this site's "compute" signs with/);
    assert.equal((await a.ensureLocal('compute')).keyId, 'compute', 'still active');
    // "operator" under a key this site does not hold is someone else's: revoked without the flag.
    const foreign = await b.registry.lookup('operator');
    assert.ok(foreign.found);
    assert.equal(b.siteKeyOf(foreign.entry), undefined);
    await a.admin.revoke('compute', { forceSiteKey: true });
    const c = new SiteIdentity({ store, keyring: new MemoryKeyring('site-a'), clock });
    await assert.rejects(c.ensureLocal('compute'), /was revoked/);
  });

  test("the registry itself refuses a third-party key under a site signer's name, whoever adds it; the site's own roles keep those names", async () => {
    const id = new SiteIdentity({ store: new MemoryKeyRegistryStore(), keyring: new MemoryKeyring('reserved'), clock });
    for (const party of ['effects', 'site-anchor', 'workload', 'compute', 'admin']) {
      const k = newKeyFile({ party, role: 'third-party' });
      await assert.rejects(id.admin.add(k), (e: unknown) => e instanceof KeyRegistryError && e.field === 'party' && e.message.includes(`"${party}" is one of the site's own signers`));
      assert.equal((await id.registry.lookup(k.keyId, { fresh: true })).found, false);
    }
    const agent = await id.admin.add(newKeyFile({ party: 'effects', role: 'agent' }));
    assert.equal(agent.party, 'effects');
  });

  test('roles are the same in the registry and in the event schemas', () => {
    assert.deepEqual([...ROLES], [...PRINCIPAL_ROLES]);
  });
});

describe('signed commands', { timeout: 60_000 }, () => {
  const key = (() => {
    const k = newKeyFile({ party: 'alice', role: 'third-party' });
    const dir = mkdtempSync(join(tmpdir(), 'caco-key-'));
    const path = join(dir, 'alice.key');
    writeKeyFile(path, k);
    const loaded = readKeyFile(path);
    rmSync(dir, { recursive: true, force: true });
    return loaded;
  })();
  const entry = { found: true as const, entry: { format: 'caco-key-entry/1' as const, keyId: key.keyId, party: 'alice', role: 'third-party' as const, publicKey: key.publicKey, status: 'active' as const, createdAt: '2023-07-03T00:00:00Z', revokedAt: null, adminSig: '' } };
  const lookup = async () => entry;
  const base = { id: 'c1', type: 'compute.job.submit', version: 1, time: '2023-07-03T00:00:00Z', source: 'alice', correlationId: 'c1', causationId: null };

  test('any payload signed verifies whatever the JSON serialisation; any change to it, or to keyId, does not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.jsonValue(), async (data, other) => {
        const signed = signWithKey({ ...base, data }, key);
        // Key order and whitespace differ from what was signed: the receiver re-encodes.
        const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(signed).reverse()), null, 2)) as unknown;
        assert.deepEqual(await authenticateCommand(reordered, lookup), { ok: true, principal: { keyId: key.keyId, party: 'alice', role: 'third-party' } });
        if (JSON.stringify(other) !== JSON.stringify(data) && !(Object.is(other, -0) || Object.is(data, -0))) {
          const changed = await authenticateCommand({ ...signed, data: other }, lookup);
          assert.equal(changed.ok ? 'ok' : changed.code, 'bad-signature');
        }
      }),
      { numRuns: 200 },
    );
    const signed = signWithKey({ ...base, data: 1 }, key);
    const r = await authenticateCommand({ ...signed, keyId: 'someone-else' }, async (k) => (k === key.keyId ? entry : { found: false, reason: `unknown key "${k}"` }));
    assert.equal(r.ok ? 'ok' : r.code, 'unknown-key');
  });

  test('a key file is refused when others can read it, or when a field is wrong, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-keyfile-'));
    try {
      const k = newKeyFile({ party: 'bob', role: 'operator' });
      const path = join(dir, 'bob.key');
      writeKeyFile(path, k);
      assert.throws(() => writeKeyFile(path, k), /already exists; a key file is never overwritten/);
      chmodSync(path, 0o644);
      assert.throws(() => readKeyFile(path), /--key: .* can be read by others \(mode 644\); chmod 600 it/);
      const bad = join(dir, 'bad.key');
      writeFileSync(bad, JSON.stringify({ ...k, role: 'wizard' }), { mode: 0o600 });
      assert.throws(() => readKeyFile(bad), /--key role: use one of/);
      writeFileSync(bad, JSON.stringify({ ...k, publicKey: newKeyFile({ party: 'x', role: 'agent' }).publicKey }), { mode: 0o600 });
      assert.throws(() => readKeyFile(bad), /--key publicKey: does not belong to privateKey/);
      assert.throws(() => readKeyFile(join(dir, 'none.key')), /does not exist \(make one with `caco keys new`\)/);
      // JSON that is not an object: null once crashed with a TypeError reading .format.
      for (const text of ['null', '[]', '3']) {
        writeFileSync(bad, text, { mode: 0o600 });
        assert.throws(
          () => readKeyFile(bad),
          (e: unknown) => e instanceof KeyRegistryError && e.message === `--key: ${bad} must hold a JSON object (a key file from caco keys new)`,
          text,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('verifyEntry refuses shapes that are not entries', () => {
    const pub = new MemoryKeyring('v');
    pub.sign('admin', new Uint8Array());
    const adminPub = pub.publicKey('admin')!;
    for (const [raw, reason] of [
      ['text', /not a JSON object/],
      [[1], /not a JSON object/],
      [{ format: 'x' }, /format must be/],
      [{ format: 'caco-key-entry/1', keyId: 'a', party: 'a', role: 'agent', publicKey: newKeyFile({ party: 'a', role: 'agent' }).publicKey, status: 'active', createdAt: '2023-07-03T00:00:00Z', revokedAt: '2023-07-03T00:00:00Z', adminSig: 'x' }, /revokedAt must be null while active/],
      [{ extra: 1 }, /unexpected field/],
    ] as const) {
      const v = verifyEntry(raw, adminPub);
      assert.equal(v.ok, false);
      assert.match(v.ok ? '' : v.reason, reason);
    }
  });
});

describe('a registry another admin key signed', () => {
  test('is not rewritten from a second data folder: its admin, a third party and the site agents keep their entries, and the refusal names --data-dir', async () => {
    // A helper's review: caco keys init and add, run against the live site's JetStream registry
    // with another data folder (another admin key), replaced the site's admin entry and a third
    // party's, reporting success; the site then ignored both.
    const store = new MemoryKeyRegistryStore();
    const live = new SiteIdentity({ store, keyring: new MemoryKeyring('site-a'), clock });
    await live.ensureAdmin();
    await live.ensureLocal('compute');
    const alice = newKeyFile({ party: 'alice', role: 'third-party' });
    await live.admin.add({ keyId: alice.keyId, party: 'alice', role: 'third-party', publicKey: alice.publicKey });
    const before = await store.list();
    const other = new SiteIdentity({ store, keyring: new MemoryKeyring('site-b'), clock });
    for (const attempt of [() => other.ensureAdmin(), () => other.ensureLocal('grid'), () => other.ensureLocal('compute')]) {
      await assert.rejects(attempt(), (e: unknown) => e instanceof KeyRegistryError && /^--data-dir: the key registry's admin entry is not signed by this site's admin key .*nothing was written/.test(e.message));
    }
    assert.deepEqual(await store.list(), before, 'nothing was written');
    const again = new SiteIdentity({ store, keyring: new MemoryKeyring('site-a'), clock });
    assert.equal((await again.registry.lookup(alice.keyId)).found, true, "alice's entry still verifies for the live site");
    // A registry whose admin entry is missing (deleted) is still re-registered by its own site.
    const bare = new MemoryKeyRegistryStore();
    await new SiteIdentity({ store: bare, keyring: new MemoryKeyring('site-c'), clock }).ensureAdmin();
    assert.ok(await bare.get('admin'));
  });
});
