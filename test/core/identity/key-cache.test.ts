import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryKeyRegistryStore, newKeyFile, SiteIdentity, signWithKey, type KeyRegistryStore, type LoadedKey, type Role } from '../../../core/identity/index.ts';
import { MemoryKeyring, privateKeyFromSeed } from '../../../core/ledger/keyring.ts';
import { SimulatedClock } from '../../../core/clock/simulated-clock.ts';

/**
 * The registry's answers kept in memory (core/identity/key-registry.ts): a flood of commands
 * under one key id, known or not, costs one read of the store per cache time, not one each; a
 * revocation by another process counts within `knownTtlMs`, one by this process at once.
 * Counted: reads of the store. Time: a hand-driven clock, never the wall clock.
 */

const clock = new SimulatedClock(Date.parse('2023-07-03T00:00:00Z'));

/** A registry store that counts its reads, and can hold them until released. */
class CountingStore implements KeyRegistryStore {
  reads = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  constructor(readonly inner: MemoryKeyRegistryStore = new MemoryKeyRegistryStore()) {}
  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.open?.();
  }
  async get(keyId: string): Promise<unknown> {
    this.reads++;
    const g = this.gate;
    this.gate = undefined;
    const v = await this.inner.get(keyId);
    if (g) await g;
    return v;
  }
  put(keyId: string, entry: unknown): Promise<void> {
    return this.inner.put(keyId, entry);
  }
  list(): Promise<Array<{ keyId: string; value: unknown }>> {
    return this.inner.list();
  }
  async close(): Promise<void> {}
}

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
function setup(cache: { knownTtlMs?: number; unknownTtlMs?: number; maxEntries?: number } = {}) {
  let nowMs = 0;
  const store = new CountingStore();
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

  test('how a key id stands: registered or unregistered (answered from memory), known (registered, answer expired) or unseen; at most maxEntries are kept', async () => {
    const { site, other, advance } = setup({ maxEntries: 100 });
    const frank = party('frank');
    await other.admin.add(frank);
    assert.equal(site.keyStanding(frank.keyId), 'unseen');
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
});
