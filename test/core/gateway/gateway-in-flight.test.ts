// test-file-timeout: 120
/**
 * Requests in progress at the gateway are bounded per key, not only for everyone together: one
 * party whose requests are stuck (a slow lookup of its key, a slow store) holds at most its own
 * few, and signed junk under key ids the registry does not hold shares one small allowance,
 * admitted before the registry is read (as the site's command intake admits commands). So a
 * burst from one party, or from anyone, does not make another party's requests `unavailable`.
 * Counted, not timed: the registry store counts its reads and holds the ones it is told to.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { embeddedStack } from '../../support/embedded.ts';
import { loadedKey, signWithKey, TestBatteryState } from './support.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { MemoryKeyRegistryStore, SITE_KEY_CACHE, SiteIdentity, type KeyRegistryStore, type LoadedKey } from '../../../core/identity/index.ts';
import { SiteGateway, type GatewayOptions } from '../../../core/gateway/index.ts';

type Reply = { ok: boolean; error?: { code: string; field: string | null; reason: string; retryAfterMs?: number } };

/** A registry store that counts its reads of each key id, and holds those `held` picks until released (a slow lookup). */
class HoldingStore implements KeyRegistryStore {
  readonly reads = new Map<string, number>();
  private held: ((keyId: string) => boolean) | undefined;
  private waiting: Array<() => void> = [];
  constructor(readonly inner: MemoryKeyRegistryStore = new MemoryKeyRegistryStore()) {}
  hold(which: (keyId: string) => boolean): void {
    this.held = which;
  }
  release(): void {
    this.held = undefined;
    for (const go of this.waiting.splice(0)) go();
  }
  readsOf(which: (keyId: string) => boolean): number {
    let n = 0;
    for (const [k, c] of this.reads) if (which(k)) n += c;
    return n;
  }
  async get(keyId: string): Promise<unknown> {
    this.reads.set(keyId, (this.reads.get(keyId) ?? 0) + 1);
    const v = await this.inner.get(keyId);
    if (this.held?.(keyId)) await new Promise<void>((r) => this.waiting.push(r));
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

async function site(seed: string, opts: Partial<GatewayOptions> = {}) {
  const s = embeddedStack(seed);
  const registryStore = new HoldingStore();
  // The key cache on the simulated clock: what is remembered, and for how long, does not depend on speed.
  const identity = new SiteIdentity({ store: registryStore, keyring: s.keyring, clock: s.clock, keyCache: { ...SITE_KEY_CACHE, now: () => s.clock.now() } });
  const gateway = new SiteGateway({ site: 'gw', bus: s.bus, store: s.store, registry: cacoRegistry([TestBatteryState]), identity, clock: s.clock, log: s.log, partyBudget: 'off', ...opts });
  // One set of endpoints, as served: each counts the requests it has in progress.
  const endpoints = gateway.endpoints();
  const endpoint = (name: string) => endpoints.find((e) => e.name === name)!;
  const send = async (name: string, body: unknown): Promise<Reply> => JSON.parse(Buffer.from(await endpoint(name).handle(Buffer.from(JSON.stringify(body)))).toString()) as Reply;
  const party = async (name: string) => {
    const k = loadedKey(name);
    await identity.admin.add(k);
    return k;
  };
  const fact = (k: LoadedKey, id: string) => signWithKey({ id, type: 'ext.x.y.z', version: 1, data: {} }, k);
  return { s, registryStore, gateway, send, party, fact, close: () => s.close() };
}

/** Lets every request started so far run as far as it can without the held lookups. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** `n` requests sent at once; `settled` fills as they are answered. */
function burst(n: number, send: (i: number) => Promise<Reply>): { settled: Reply[]; all: Promise<Reply[]> } {
  const settled: Reply[] = [];
  const all = Promise.all(
    Array.from({ length: n }, (_, i) =>
      send(i).then((r) => {
        settled.push(r);
        return r;
      }),
    ),
  );
  return { settled, all };
}

describe('requests in progress at the gateway, per key', { timeout: 100_000 }, () => {
  test('one key holding its requests in progress (its lookup stuck) does not make another party\'s requests unavailable', async () => {
    const g = await site('gw-inflight-key');
    try {
      const acme = await g.party('acme');
      const other = await g.party('other');
      // acme has been here before (its key verified); other has not.
      assert.equal((await g.send('append', g.fact(acme, 'a0'))).error?.code, 'not-announced');
      // Past the key cache's second: each key is looked up again, and acme's lookup does not come back.
      g.s.clock.advanceTo(g.s.clock.now() + 2000);
      g.registryStore.hold((keyId) => keyId === acme.keyId);
      // More than the gateway's old bound for all callers (64).
      const flood = burst(70, (i) => g.send('append', g.fact(acme, `a${i}`)));
      await settle();
      // Before: the 64 in progress were every caller's, and this was refused unavailable.
      const served = await g.send('append', g.fact(other, 'o1'));
      assert.equal(served.error?.code, 'not-announced', JSON.stringify(served));
      assert.equal(flood.settled.length, 62, `${flood.settled.length} of 70 answered at once`);
      for (const r of flood.settled) {
        assert.equal(r.error?.code, 'unavailable', JSON.stringify(r));
        assert.match(r.error!.reason, new RegExp(`^the gateway is busy: key "${acme.keyId}" has 8 requests of this kind in progress; try again shortly$`));
      }
      // acme's reads are another endpoint's: not held up either.
      assert.equal((await g.send('read', { fromPosition: 0, limit: 1 })).ok, true);
      g.registryStore.release();
      const all = await flood.all;
      assert.equal(all.filter((r) => r.error?.code === 'not-announced').length, 8, 'the 8 in progress were answered');
      // And acme's requests are taken again.
      assert.equal((await g.send('append', g.fact(acme, 'a99'))).error?.code, 'not-announced');
    } finally {
      g.registryStore.release();
      await g.close();
    }
  });

  test('junk signed by another key under a registered key\'s public id shares the unverified senders\' places: it cannot take that key\'s own', async () => {
    const g = await site('gw-inflight-forged');
    try {
      const acme = await g.party('acme');
      const mallory = await g.party('mallory');
      // acme has been here before: its key verified, its entry read.
      assert.equal((await g.send('append', g.fact(acme, 'a0'))).error?.code, 'not-announced');
      g.s.clock.advanceTo(g.s.clock.now() + 2000);
      g.registryStore.hold((keyId) => keyId === acme.keyId);
      // Key ids are public (every announcement names one): mallory signs with its own key under acme's id.
      const forged = burst(20, (i) => g.send('append', g.fact({ ...mallory, party: 'acme', keyId: acme.keyId }, `f${i}`)));
      await settle();
      assert.equal(forged.settled.length, 12, `${forged.settled.length} of 20 answered at once`);
      for (const r of forged.settled) assert.match(r.error?.reason ?? '', /^the gateway is busy: 8 requests of this kind from unsigned senders and key ids not known to be registered are in progress/, JSON.stringify(r));
      // Before: the 8 forged requests in progress held acme's own places, and this was refused unavailable.
      const real = g.send('append', g.fact(acme, 'a1'));
      const early = await Promise.race([real, settle().then(() => 'waiting' as const)]);
      assert.equal(early, 'waiting', `acme's request waits for its key's lookup, not refused: ${JSON.stringify(early)}`);
      g.registryStore.release();
      assert.equal((await real).error?.code, 'not-announced');
      const all = await forged.all;
      assert.equal(all.filter((r) => r.error?.code === 'bad-signature').length, 8, 'the 8 in progress were refused on their signature');
    } finally {
      g.registryStore.release();
      await g.close();
    }
  });

  test('signed junk under new key ids: admitted before its key is looked up (registry reads bounded by the rate), its lookups in progress share one small allowance, and a registered party is served', async () => {
    const g = await site('gw-inflight-junk', { rateLimit: { perSecond: 1, burst: 20 } });
    try {
      const acme = await g.party('acme');
      assert.equal((await g.send('append', g.fact(acme, 'a0'))).error?.code, 'not-announced');
      const junk = (i: number): LoadedKey => ({ ...loadedKey('junk'), keyId: `junk-${i}` });
      const isJunk = (keyId: string) => keyId.startsWith('junk-');
      g.registryStore.hold(isJunk);
      const flood = burst(100, (i) => g.send('append', g.fact(junk(i), `j${i}`)));
      await settle();
      // Before: 64 junk lookups in progress, and this was refused unavailable.
      const served = await g.send('append', g.fact(acme, 'a1'));
      assert.equal(served.error?.code, 'not-announced', JSON.stringify(served));
      // 8 lookups in progress for all of them together; the rest refused at once.
      assert.equal(g.registryStore.readsOf(isJunk), 8, 'registry reads for the junk in progress');
      assert.equal(flood.settled.length, 92);
      for (const r of flood.settled) {
        assert.equal(r.error?.code, 'unavailable', JSON.stringify(r));
        assert.match(r.error!.reason, /^the gateway is busy: 8 requests of this kind from unsigned senders and key ids not known to be registered are in progress; try again shortly$/);
      }
      g.registryStore.release();
      const all = await flood.all;
      assert.equal(all.filter((r) => r.error?.code === 'unknown-key').length, 8);
      // The clock stands still: junk under new ids now reads the registry only as the shared bucket allows (20 at once).
      const reasons: string[] = [];
      for (let i = 100; i < 300; i++) {
        const r = await g.send(i % 2 === 0 ? 'append' : 'announce', g.fact(junk(i), `j${i}`));
        if (r.error?.code === 'rate-limited') {
          reasons.push(r.error.reason);
          assert.ok(r.error.retryAfterMs! > 0, JSON.stringify(r));
        }
        else assert.equal(r.error?.code, 'unknown-key', JSON.stringify(r));
      }
      // Before: one read a request, 300.
      assert.equal(g.registryStore.readsOf(isJunk), 20, 'registry reads for 300 junk requests');
      assert.equal(reasons.length, 188);
      assert.match(reasons[0]!, /^rate limit: unauthenticated senders and key ids (the site has not looked up yet|not in the key registry) may send 1 /);
      // A registered key is checked as before.
      assert.equal((await g.send('append', g.fact(acme, 'a2'))).error?.code, 'not-announced');
    } finally {
      g.registryStore.release();
      await g.close();
    }
  });

  test('signed reads under new key ids: the registry is read only as the readers\' rate allows; the rest are read as unsigned', async () => {
    const g = await site('gw-inflight-reads', { readRate: { perSecond: 1, burst: 10 } });
    try {
      const acme = await g.party('acme');
      const junk = (i: number): LoadedKey => ({ ...loadedKey('junk'), keyId: `junk-${i}` });
      const isJunk = (keyId: string) => keyId.startsWith('junk-');
      const codes = new Map<string, number>();
      for (let i = 0; i < 100; i++) {
        const r = await g.send('read', signWithKey({ fromPosition: 0, limit: 1 }, junk(i)));
        const code = r.ok ? 'ok' : r.error!.code;
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      // Before: every signed read looked its key up first, 100.
      assert.equal(g.registryStore.readsOf(isJunk), 10, 'registry reads for 100 reads under new key ids');
      // They are read as unsigned readers are: that bucket's 10, then refused.
      assert.deepEqual(Object.fromEntries(codes), { ok: 10, 'rate-limited': 90 });
      // A registered key has its own bucket.
      assert.equal((await g.send('read', signWithKey({ fromPosition: 0, limit: 1 }, acme))).ok, true);
    } finally {
      await g.close();
    }
  });
});
