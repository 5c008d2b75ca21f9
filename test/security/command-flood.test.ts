import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime, type CommandReply } from '../../core/runtime/runtime.ts';
import { subjects } from '../../core/runtime/subjects.ts';
import { MemoryKeyRegistryStore, newKeyFile, SiteIdentity, signWithKey, type KeyRegistryStore, type LoadedKey } from '../../core/identity/index.ts';
import { privateKeyFromSeed } from '../../core/ledger/keyring.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { createComputeAgent } from '../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../agents/compute/jobs/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { commandEnvelope, validJob } from './support.ts';

/**
 * A flood of junk commands on the bus (a valid envelope, any key id, any signature) against
 * the site's command intake: what it costs is counted, in reads of the key registry's store
 * (on NATS each is a JetStream round trip), not timed. The site's clock is simulated and
 * does not move during a flood, so the buckets do not refill.
 */

class CountingStore implements KeyRegistryStore {
  reads = 0;
  constructor(readonly inner: MemoryKeyRegistryStore = new MemoryKeyRegistryStore()) {}
  async get(keyId: string): Promise<unknown> {
    this.reads++;
    return this.inner.get(keyId);
  }
  put(keyId: string, entry: unknown): Promise<void> {
    return this.inner.put(keyId, entry);
  }
  list(): Promise<Array<{ keyId: string; value: unknown }>> {
    return this.inner.list();
  }
  async close(): Promise<void> {}
}

function party(name: string): LoadedKey {
  const k = newKeyFile({ party: name, role: 'third-party' });
  return { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
}

const RATE = { perSecond: 50, burst: 100 };
const N = 2000;

async function floodSite(seed: string) {
  const s = embeddedStack(seed);
  const store = new CountingStore();
  // The cache's own clock stands still too: no answer expires during the test.
  const identity = new SiteIdentity({ store, keyring: s.keyring, clock: s.clock, keyCache: { knownTtlMs: 1000, unknownTtlMs: 5000, now: () => 0 } });
  // Another process with the admin key (`caco keys add`): what it registers, the site has not seen.
  const keysCli = new SiteIdentity({ store: store.inner, keyring: s.keyring, clock: s.clock });
  const site = `flood${seed.replace(/[^a-z0-9]/g, '')}`;
  const rt = new Runtime({ ...s, site, checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', identity, rateLimit: RATE });
  rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
  await rt.start();
  await rt.settle();
  const subject = subjects.command(site, 'compute', 'submit');
  const send = async (body: unknown) => JSON.parse(Buffer.from((await s.bus.request(subject, Buffer.from(JSON.stringify(body)), { timeoutMs: 10_000 })).data).toString('utf8')) as CommandReply;
  /** Publish without a reply subject, as a flood does, and wait until the site has taken every one. */
  const flood = async (bodies: Iterable<unknown>) => {
    for (const b of bodies) await s.bus.publish(subject, Buffer.from(JSON.stringify(b)));
    await s.bus.flush();
  };
  return {
    s,
    rt,
    store,
    keysCli,
    send,
    flood,
    async close() {
      await rt.stop();
      await s.close();
    },
  };
}

const junk = (i: number, keyId: string) => ({ ...commandEnvelope(validJob(`j${i}`), { id: `junk-${i}`, source: 'x' }), keyId, sig: 'AAAA' });
const reason = (r: CommandReply) => (r.ok ? 'ok' : `${r.error.code}: ${r.error.reason}`);

describe('a flood of junk commands costs registry reads at the shared rate, not one each', { timeout: 120_000 }, () => {
  test(`${N} commands under ${N} different key ids read the registry at most ${RATE.burst} times; a key seen before gets through at once, one never looked up once the shared bucket refills`, async () => {
    const site = await floodSite('new-ids');
    try {
      const alice = party('alice');
      const bob = party('bob');
      await site.keysCli.admin.add(alice);
      await site.keysCli.admin.add(bob);
      assert.equal(reason(await site.send(signWithKey(commandEnvelope(validJob('a0'), { source: 'alice' }), alice))), 'ok');
      const before = site.store.reads;
      await site.flood(Array.from({ length: N }, (_, i) => junk(i, `k${i}`)));
      const reads = site.store.reads - before;
      assert.ok(reads <= RATE.burst, `${reads} reads of the registry for ${N} junk commands`);
      assert.equal(reason(await site.send(signWithKey(commandEnvelope(validJob('a1'), { source: 'alice' }), alice))), 'ok', 'alice, looked up before, is not held back');
      // Bob's key id was never looked up: its first lookup takes from the bucket the junk emptied.
      const held = await site.send(signWithKey(commandEnvelope(validJob('b0'), { source: 'bob' }), bob));
      assert.match(reason(held), /^rate-limited: rate limit: unauthenticated senders and key ids the site has not looked up yet/);
      site.s.clock.advanceTo(site.s.clock.now() + 1000);
      assert.equal(reason(await site.send(signWithKey(commandEnvelope(validJob('b1'), { source: 'bob' }), bob))), 'ok');
    } finally {
      await site.close();
    }
  });

  test(`${N} commands under one unknown key id read the registry once`, async () => {
    const site = await floodSite('one-id');
    try {
      const before = site.store.reads;
      await site.flood(Array.from({ length: N }, (_, i) => junk(i, 'nobody-1')));
      assert.equal(site.store.reads - before, 1);
      const r = await site.send(junk(N, 'nobody-1'));
      assert.match(reason(r), /^rate-limited: rate limit: commands under key id "nobody-1" that fail authentication may come 50 a second \(burst 100\)/);
    } finally {
      await site.close();
    }
  });

  test(`${N} commands forged under a registered key read the registry once, and its holder still gets through`, async () => {
    const site = await floodSite('forged');
    try {
      const carol = party('carol');
      await site.keysCli.admin.add(carol);
      const before = site.store.reads;
      const forged = (i: number) => ({ ...signWithKey(commandEnvelope(validJob(`f${i}`), { id: `forged-${i}`, source: 'carol' }), carol), sig: Buffer.alloc(64).toString('base64') });
      await site.flood(Array.from({ length: N }, (_, i) => forged(i)));
      assert.equal(site.store.reads - before, 1);
      assert.equal(reason(await site.send(signWithKey(commandEnvelope(validJob('c0'), { source: 'carol' }), carol))), 'ok', 'forging under her key id does not hold carol back');
    } finally {
      await site.close();
    }
  });
});
