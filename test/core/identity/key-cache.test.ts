import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvKeyRegistryStore, MemoryKeyRegistryStore, newKeyFile, SiteIdentity, signWithKey, SqliteKeyRegistryStore, type KeyRegistryStore, type LoadedKey, type Role } from '../../../core/identity/index.ts';
import { CountingRegistryStore } from '../../support/counting-registry-store.ts';
import { connectNats } from '../../../core/bus/nats-bus.ts';
import { natsSkip, natsUrl, uniqueToken } from '../../support/nats.ts';
import { MemoryKeyring, privateKeyFromSeed } from '../../../core/ledger/keyring.ts';
import { SimulatedClock } from '../../../core/clock/simulated-clock.ts';

/**
 * The registry's answers kept in memory (core/identity/key-registry.ts): a flood of commands
 * under one key id, known or not, costs one read of the store per cache time, not one each; a
 * revocation by another process counts within `knownTtlMs`, one by this process at once.
 * Counted: reads of the store. Time: a hand-driven clock, never the wall clock.
 */

const clock = new SimulatedClock(Date.parse('2023-07-03T00:00:00Z'));


function party(name: string, role: Role = 'third-party'): LoadedKey {
  const k = newKeyFile({ party: name, role });
  return { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
}

let seq = 0;
function command(source: string) {
  const id = `c-${++seq}`;
  return { id, type: 'compute.job.submit', version: 1, time: '2023-07-03T00:00:00Z', source, correlationId: id, causationId: null, data: { n: seq } };
}

/** A site's identity and a second one on the same store with the same admin key: another process (`caco keys`). */
function setup(cache: { knownTtlMs?: number; unknownTtlMs?: number; maxEntries?: number; registeredIdsTtlMs?: number } = {}) {
  let nowMs = 0;
  const store = new CountingRegistryStore();
  const keyring = new MemoryKeyring('key-cache');
  const site = new SiteIdentity({ store, keyring, clock, keyCache: { knownTtlMs: 1000, unknownTtlMs: 5000, ...cache, now: () => nowMs } });
  const other = new SiteIdentity({ store: store.inner, keyring, clock });
  return { store, site, other, advance: (ms: number) => (nowMs += ms) };
}

describe('key registry lookups answered from memory', { timeout: 30_000 }, () => {
  test('1,000 commands under one unknown key id read the store once; under a known key with a forged signature, once', async () => {
    const { store, site, other } = setup();
    const alice = party('alice');
    await other.admin.add(alice);
    const junk = { ...command('x'), keyId: 'nobody-1', sig: 'AAAA' };
    for (let i = 0; i < 1000; i++) {
      const r = await site.authenticate(junk);
      assert.equal(r.ok ? 'ok' : r.code, 'unknown-key');
    }
    assert.equal(store.reads, 1, 'one read for 1,000 lookups of the same unknown key id');
    const forged = { ...signWithKey(command('alice'), alice), sig: Buffer.alloc(64).toString('base64') };
    for (let i = 0; i < 1000; i++) {
      const r = await site.authenticate(forged);
      assert.equal(r.ok ? 'ok' : r.code, 'bad-signature');
    }
    assert.equal(store.reads, 2, "one read of alice's entry for 1,000 forged commands");
    assert.equal((await site.authenticate(signWithKey(command('alice'), alice))).ok, true, 'alice herself still gets through');
    assert.equal(store.reads, 2);
  });

  test('concurrent lookups of one key id share one read', async () => {
    const { store, site } = setup();
    const junk = { ...command('x'), keyId: 'nobody-2', sig: 'AAAA' };
    const all = await Promise.all(Array.from({ length: 50 }, () => site.authenticate(junk)));
    assert.ok(all.every((r) => !r.ok && r.code === 'unknown-key'));
    assert.equal(store.reads, 1);
  });

  test('a revocation by another process is refused once knownTtlMs has passed; one by this process at once', async () => {
    const { store, site, other, advance } = setup();
    const alice = party('alice');
    const bob = party('bob');
    await other.admin.add(alice);
    await other.admin.add(bob);
    assert.equal((await site.authenticate(signWithKey(command('alice'), alice))).ok, true);
    assert.equal((await site.authenticate(signWithKey(command('bob'), bob))).ok, true);
    await other.admin.revoke(alice.keyId);
    advance(999);
    assert.equal((await site.authenticate(signWithKey(command('alice'), alice))).ok, true, 'within 1 s of the revocation the remembered entry still counts');
    advance(1);
    const refused = await site.authenticate(signWithKey(command('alice'), alice));
    assert.equal(refused.ok ? 'ok' : refused.code, 'revoked-key', 'at 1 s it is read again and refused');
    const reads = store.reads;
    await site.admin.revoke(bob.keyId);
    const bobRefused = await site.authenticate(signWithKey(command('bob'), bob));
    assert.equal(bobRefused.ok ? 'ok' : bobRefused.code, 'revoked-key', "this process's own revocation counts at once");
    assert.equal(store.reads, reads + 1, "revoke's own read of the entry; the refusal after it reads nothing");
  });

  test('a key added by another process is accepted once unknownTtlMs has passed; by this process at once', async () => {
    const { site, other, advance } = setup();
    const carol = party('carol');
    const dave = party('dave');
    assert.equal((await site.authenticate(signWithKey(command('carol'), carol))).ok, false);
    assert.equal((await site.authenticate(signWithKey(command('dave'), dave))).ok, false);
    await other.admin.add(carol);
    advance(4999);
    assert.equal((await site.authenticate(signWithKey(command('carol'), carol))).ok, false, '"not registered" is remembered 5 s');
    advance(1);
    assert.equal((await site.authenticate(signWithKey(command('carol'), carol))).ok, true);
    await site.admin.add(dave);
    assert.equal((await site.authenticate(signWithKey(command('dave'), dave))).ok, true, "this process's own addition counts at once");
  });

  test('a read begun before this process revokes the key does not put the old entry back', async () => {
    const { store, site, other } = setup();
    const erin = party('erin');
    await other.admin.add(erin);
    store.hold();
    const before = site.authenticate(signWithKey(command('erin'), erin));
    await site.admin.revoke(erin.keyId).catch((err: unknown) => assert.fail(String(err)));
    store.release();
    await before;
    const after = await site.authenticate(signWithKey(command('erin'), erin));
    assert.equal(after.ok ? 'ok' : after.code, 'revoked-key');
  });

  test('how a key id stands: registered or unregistered (answered from memory), known (registered, answer not in memory) or unseen; at most maxEntries are kept', async () => {
    const { site, other, advance } = setup({ maxEntries: 100 });
    const frank = party('frank');
    await other.admin.add(frank);
    assert.equal(site.keyStanding('nobody-3'), 'unseen');
    assert.equal(site.keyStanding('not a key id'), 'unregistered', 'refused without a read');
    await site.authenticate(signWithKey(command('frank'), frank));
    assert.equal(site.keyStanding(frank.keyId), 'registered');
    advance(1000);
    assert.equal(site.keyStanding(frank.keyId), 'known');
    for (let i = 0; i < 1000; i++) await site.registry.lookup(`junk-${i}`);
    assert.equal(site.keyStanding('junk-999'), 'unregistered');
    assert.equal(site.keyStanding('junk-0'), 'unseen', 'the oldest unknown ids were forgotten');
    assert.equal(site.keyStanding(frank.keyId), 'known', 'unknown ids do not push out known keys');
  });

  test("a fresh identity (a restarted site) counts every key id the registry holds as known before looking any up; one added by another process once it reads the ids again", async () => {
    const { store, site, other, advance } = setup();
    const frank = party('frank');
    await other.admin.add(frank);
    // From memory alone (what the gateway asks): not known yet, but the read of the ids is begun.
    assert.equal(site.keyStanding(frank.keyId), 'unseen');
    assert.equal(await site.keyStandingNow(frank.keyId), 'known', 'registered, never looked up by this process');
    assert.equal(site.keyStanding(frank.keyId), 'known');
    assert.equal(store.reads, 0, 'no lookup');
    const gina = party('gina');
    await other.admin.add(gina);
    const asked = await Promise.all(Array.from({ length: 100 }, (_, i) => site.keyStandingNow(`junk-${i}`)));
    assert.ok(asked.every((s) => s === 'unseen'));
    assert.equal(await site.keyStandingNow(gina.keyId), 'unseen', 'added after the ids were read');
    assert.equal(store.lists, 1, 'the ids are read once, not once per unseen id');
    advance(4999);
    assert.equal(await site.keyStandingNow(gina.keyId), 'unseen');
    assert.equal(store.lists, 1);
    advance(1);
    assert.equal(await site.keyStandingNow(gina.keyId), 'known', 'read again at 5 s (registeredIdsTtlMs, by default unknownTtlMs)');
    assert.equal(store.lists, 2);
    assert.equal(store.reads, 0);
  });

  test("the registry's ids are read only when an id is not in memory, at most once per registeredIdsTtlMs, concurrent askers sharing one read; a failed read is retried no sooner", async () => {
    const { store, site, other, advance } = setup({ registeredIdsTtlMs: 10_000 });
    const hana = party('hana');
    await other.admin.add(hana);
    await site.authenticate(signWithKey(command('hana'), hana));
    assert.equal(await site.keyStandingNow(hana.keyId), 'registered');
    assert.equal(store.lists, 0, 'an id answered from memory needs no list');
    store.failLists = true;
    const asked = await Promise.all(Array.from({ length: 50 }, (_, i) => site.keyStandingNow(`junk-${i}`)));
    assert.ok(asked.every((s) => s === 'unseen'), 'a failed read leaves ids unseen');
    assert.equal(store.lists, 1, '50 concurrent askers, one read');
    store.failLists = false;
    const ivan = party('ivan');
    await other.admin.add(ivan);
    advance(9999);
    assert.equal(await site.keyStandingNow(ivan.keyId), 'unseen');
    assert.equal(store.lists, 1, 'not retried before registeredIdsTtlMs');
    advance(1);
    assert.equal(await site.keyStandingNow(ivan.keyId), 'known');
    assert.equal(store.lists, 2);
  });
});

describe("each store gives its key ids, and a restarted site's identity over it counts them as known", { timeout: 30_000 }, async () => {
  const skip = await natsSkip();
  const cases: Array<[string, { skip?: string | false }, () => Promise<{ store: KeyRegistryStore; cleanup: () => Promise<void> }>]> = [
    ['memory', {}, async () => ({ store: new MemoryKeyRegistryStore(), cleanup: async () => undefined })],
    [
      'sqlite',
      {},
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'caco-keyids-'));
        const store = new SqliteKeyRegistryStore(join(dir, 'keys', 'registry.db'));
        return { store, cleanup: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
      },
    ],
    [
      'NATS KV',
      { skip },
      async () => {
        const nc = await connectNats({ servers: natsUrl() });
        const store = await KvKeyRegistryStore.open(nc, uniqueToken('keyids'));
        return { store, cleanup: async () => (await store.destroy(), await nc.close()) };
      },
    ],
  ];
  for (const [name, opts, make] of cases) {
    test(name, opts, async () => {
      const { store, cleanup } = await make();
      try {
        const keyring = new MemoryKeyring('key-ids');
        const earlier = new SiteIdentity({ store, keyring, clock });
        const judy = party('judy');
        await earlier.admin.add(judy);
        await earlier.ensureAdmin();
        await earlier.ensureLocal('operator');
        assert.deepEqual((await store.keyIds!()).sort(), [judy.keyId, 'admin', 'operator'].sort());
        const restarted = new SiteIdentity({ store, keyring, clock });
        assert.equal(await restarted.keyStandingNow(judy.keyId), 'known');
        assert.equal(await restarted.keyStandingNow('nobody-4'), 'unseen');
      } finally {
        await cleanup();
      }
    });
  }
});
