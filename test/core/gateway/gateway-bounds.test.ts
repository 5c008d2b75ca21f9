// test-file-timeout: 120
/**
 * What one registered outside party costs the site through the gateway is bounded: the
 * gateway keeps a fixed-size digest of a fact (not its data) for a bounded number of ids, learns
 * only what was added to a stream since it last looked (an announce re-read the whole stream,
 * 740–840 ms after 1,000 facts), compiles an announced schema once (each announce left a
 * compiled validator in ajv, forever), and refuses appends past a per-party ledger budget
 * (one key could add ~276 GB a day at the command rate).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { embeddedStack } from '../../support/embedded.ts';
import { loadedKey, signWithKey, TestBatteryState } from './support.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { SiteIdentity, type LoadedKey } from '../../../core/identity/index.ts';
import { SiteGateway, type GatewayOptions } from '../../../core/gateway/index.ts';
import { DEFAULT_PARTY_BUDGET, partyBudgetFromEnv } from '../../../core/gateway/ledger-budget.ts';
import { SchemaValidators } from '../../../core/gateway/schema-validators.ts';
import { ConfigError } from '../../../core/errors/errors.ts';
import { countingStore } from '../../support/counting-store.ts';

type Reply = { ok: boolean; duplicate?: boolean; position?: number; error?: { code: string; reason: string; retryAfterMs?: number } };


const schema = { type: 'object', properties: { blob: { type: 'string' }, n: { type: 'number' } } };
const TYPE = 'ext.acme.blob.put';

async function site(seed: string, opts: Partial<GatewayOptions> = {}) {
  const s = embeddedStack(seed);
  const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
  const counted = countingStore(s.store);
  const make = () => new SiteGateway({ site: 'gw', bus: s.bus, store: counted.store, registry: cacoRegistry([TestBatteryState]), identity, clock: s.clock, log: s.log, partyBudget: 'off', ...opts });
  let gateway = make();
  const key = loadedKey('acme');
  await identity.admin.add(key);
  const call = async (name: 'announce' | 'append', body: Record<string, unknown>, k: LoadedKey = key): Promise<Reply> => {
    // Each request a second later: the command rate is not what is tested here.
    s.clock.advanceTo(s.clock.now() + 1000);
    const ep = gateway.endpoints().find((e) => e.name === name)!;
    return JSON.parse(Buffer.from(await ep.handle(Buffer.from(JSON.stringify(signWithKey(body, k))))).toString()) as Reply;
  };
  const announce = (version = '1', k: LoadedKey = key) => call('announce', { name: 'acme', version, publishes: [TYPE], schemas: { [TYPE]: structuredClone(schema) }, source: 'acme' }, k);
  const append = (id: string, data: Record<string, unknown>, k: LoadedKey = key) => call('append', { id, type: TYPE, version: 1, data, source: 'acme' }, k);
  return {
    s,
    identity,
    key,
    counted,
    call,
    announce,
    append,
    /** A new gateway over the same ledger, as after a restart. */
    restart() {
      gateway = make();
    },
    close: () => s.close(),
  };
}

function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('what one outside party costs the gateway is bounded', { timeout: 100_000 }, () => {
  test("a schema given for one of the site's own types is not recorded: it passed no size limit and was stored whole", async () => {
    // A helper's review: 1,200 properties (62 KB) under onsite.battery.state.reported were
    // taken and stored on the ledger, where the same under an ext.* type is refused. Taken, not
    // refused: the Go example sends the site's own schemas for the site types it publishes.
    const g = await site('gw-bounds-site-schema');
    try {
      const big = { type: 'object', properties: Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`p${i}`, { type: 'string', description: 'x' }])) };
      const r = await g.call('announce', { name: 'acme', version: '1', publishes: [TestBatteryState.type, TYPE], schemas: { [TestBatteryState.type]: big, [TYPE]: schema }, source: 'acme' });
      assert.equal(r.ok, true, JSON.stringify(r));
      let recorded: { schemas: Record<string, unknown> } | undefined;
      let bytes = 0;
      for await (const e of g.s.store.readAll()) {
        if (e.type !== 'gateway.agent.announced') continue;
        recorded = e.data as { schemas: Record<string, unknown> };
        bytes = JSON.stringify(e.data).length;
      }
      assert.deepEqual(Object.keys(recorded!.schemas), [TYPE], 'only the agent\'s own type\'s schema is on the ledger');
      assert.ok(bytes < 4096, `the announcement is ${bytes} bytes`);
    } finally {
      await g.close();
    }
  });

  test("a fact's data is not kept: 200 facts of 60 KB leave a few bytes each in memory", async () => {
    const g = await site('gw-bounds-mem');
    try {
      assert.equal((await g.announce()).ok, true);
      const blob = 'x'.repeat(60_000);
      // Warm up (code paths, caches), then measure.
      for (let i = 0; i < 10; i++) assert.equal((await g.append(`w${i}`, { blob: blob + i })).ok, true);
      const before = heapAfterGc();
      for (let i = 0; i < 200; i++) assert.equal((await g.append(`f${i}`, { blob: blob + i })).ok, true);
      const grown = heapAfterGc() - before;
      // The data is 12 MB; kept whole it was all retained.
      assert.ok(grown < 3_000_000, `200 facts of 60 KB retained ${grown} bytes`);
      // And a re-send is still told apart from a different fact under the same id.
      assert.equal((await g.append('f7', { blob: blob + 7 })).duplicate, true);
      assert.equal((await g.append('f7', { blob: blob + 8 })).error?.code, 'conflict');
    } finally {
      await g.close();
    }
  });

  test('fact ids are remembered up to a bound; an older one is answered from the ledger, a different fact under it is still a conflict', async () => {
    const g = await site('gw-bounds-ids', { rememberedFacts: 3 });
    try {
      assert.equal((await g.announce()).ok, true);
      const first = await g.append('a', { n: 1 });
      for (const id of ['b', 'c', 'd', 'e']) assert.equal((await g.append(id, { n: 2 })).ok, true);
      // 'e' is remembered: answered without the store.
      const appends = g.counted.appends();
      assert.equal((await g.append('e', { n: 2 })).duplicate, true);
      assert.equal(g.counted.appends(), appends);
      // 'a' is not (only the last 3 are): the store's answer decides, and nothing is stored twice.
      const again = await g.append('a', { n: 1 });
      assert.equal(g.counted.appends(), appends + 1, 'a re-send of an id no longer remembered reaches the store');
      assert.deepEqual([again.ok, again.duplicate, again.position], [true, true, first.position]);
      const other = await g.append('a', { n: 99 });
      assert.equal(other.error?.code, 'conflict', JSON.stringify(other));
      let facts = 0;
      for await (const e of g.s.store.readStream('ext-acme')) if (e.type === TYPE) facts++;
      assert.equal(facts, 5);
    } finally {
      await g.close();
    }
  });

  test('an announce, and an append by another key of the party, read only what the stream gained since', async () => {
    const g = await site('gw-bounds-incremental');
    try {
      assert.equal((await g.announce()).ok, true);
      for (let i = 0; i < 50; i++) assert.equal((await g.append(`f${i}`, { n: i })).ok, true);
      let read = g.counted.streamEvents();
      assert.equal((await g.announce('2')).ok, true);
      assert.ok(g.counted.streamEvents() - read <= 1, `an announce read ${g.counted.streamEvents() - read} events of a stream of 52`);
      // Another key of the same party: refused, each time without reading the stream again.
      const other = loadedKey('acme');
      await g.identity.admin.add(other);
      read = g.counted.streamEvents();
      for (let i = 0; i < 5; i++) assert.equal((await g.append(`x${i}`, { n: i }, other)).error?.code, 'source-mismatch');
      assert.ok(g.counted.streamEvents() - read <= 1, `5 appends by another key read ${g.counted.streamEvents() - read} events`);
      // A restart learns the stream once, then carries on.
      g.restart();
      read = g.counted.streamEvents();
      assert.equal((await g.append('f0', { n: 0 })).duplicate, true);
      assert.equal(g.counted.streamEvents() - read, 52);
      assert.equal((await g.announce('3')).ok, true);
      assert.ok(g.counted.streamEvents() - read <= 53);
    } finally {
      await g.close();
    }
  });

  test('an announced schema is compiled once, however often it is announced again', async () => {
    // Announced as often as the announce rate (3 a minute) would not allow: not what is tested here.
    const g = await site('gw-bounds-ajv', { announceRate: { perSecond: 10, burst: 100 } });
    const compile = Ajv2020.prototype.compile;
    let compiles = 0;
    Ajv2020.prototype.compile = function (this: Ajv2020, ...args: Parameters<Ajv2020['compile']>) {
      compiles++;
      return compile.apply(this, args);
    } as Ajv2020['compile'];
    try {
      for (let i = 0; i < 100; i++) {
        assert.equal((await g.announce(String(i))).ok, true);
        assert.equal((await g.append(`f${i}`, { n: i })).ok, true);
      }
      assert.equal(compiles, 1, `100 announcements of one schema, each followed by an append, compiled ${compiles} validators`);
    } finally {
      Ajv2020.prototype.compile = compile;
      await g.close();
    }
  });

  test('distinct schemas: each compiled once, and a validator still works after many others were compiled', () => {
    const v = new SchemaValidators();
    const first = v.compile({ $id: 'https://acme.example/s0', type: 'object', required: ['k0'] });
    assert.ok(first.ok);
    for (let i = 1; i < 200; i++) assert.ok(v.compile({ type: 'object', required: [`k${i}`] }).ok);
    assert.equal(first.validate({ k0: 1 }), true);
    assert.equal(first.validate({}), false);
    // The same schema under another $id (or none) is the same validator.
    const again = v.compile({ type: 'object', required: ['k0'], $id: 'https://other.example/x' });
    assert.ok(again.ok && again.validate === first.validate);
    const bad = v.compile({ type: 'no-such-type' });
    assert.equal(bad.ok, false);
  });

  test('a per-party ledger budget: past it an append or announce is refused naming the limit, a re-send is still answered, a restart counts it from the ledger', async () => {
    const g = await site('gw-bounds-budget', { partyBudget: { events: 5, bytes: 1024 * 1024 } });
    try {
      assert.equal((await g.announce()).ok, true);
      for (let i = 0; i < 4; i++) assert.equal((await g.append(`f${i}`, { n: i })).ok, true);
      const appends = g.counted.appends();
      const over = await g.append('f4', { n: 4 });
      assert.equal(over.error?.code, 'rate-limited', JSON.stringify(over));
      assert.match(over.error!.reason, /ledger budget: "acme" has added 5 events .* a party may add 5 events or 1048576 bytes in 24 h \(CACO_GATEWAY_PARTY_BUDGET\)/);
      assert.ok(over.error!.retryAfterMs! > 0 && over.error!.retryAfterMs! <= 25 * 3600_000);
      assert.equal((await g.announce('2')).error?.code, 'rate-limited');
      assert.equal(g.counted.appends(), appends, 'nothing was appended past the budget');
      // A re-send adds nothing: still answered.
      assert.equal((await g.append('f1', { n: 1 })).duplicate, true);
      // A restart learns what the party added from its stream.
      g.restart();
      assert.equal((await g.append('f4', { n: 4 })).error?.code, 'rate-limited');
      // A day later the window has moved on.
      g.s.clock.advanceTo(g.s.clock.now() + 25 * 3600_000);
      assert.equal((await g.append('f4', { n: 4 })).ok, true);
    } finally {
      await g.close();
    }
  });

  test('a ledger budget over a window shorter than an hour names it in seconds (it read "0 h")', async () => {
    const g = await site('gw-bounds-budget-short', { partyBudget: { events: 2, bytes: 1024 * 1024, windowMs: 600_000 } });
    try {
      assert.equal((await g.announce()).ok, true);
      assert.equal((await g.append('f0', { n: 0 })).ok, true);
      const over = await g.append('f1', { n: 1 });
      assert.match(over.error?.reason ?? '', /in the last 600 s; a party may add 2 events or 1048576 bytes in 600 s \(CACO_GATEWAY_PARTY_BUDGET\)/, JSON.stringify(over));
    } finally {
      await g.close();
    }
  });

  test('the budget counts bytes too', async () => {
    const g = await site('gw-bounds-bytes', { partyBudget: { events: 1000, bytes: 200 * 1024 } });
    try {
      assert.equal((await g.announce()).ok, true);
      const blob = 'y'.repeat(60_000);
      for (let i = 0; i < 3; i++) assert.equal((await g.append(`f${i}`, { blob })).ok, true);
      const over = await g.append('f3', { blob });
      assert.equal(over.error?.code, 'rate-limited');
      assert.match(over.error!.reason, /a party may add 1000 events or 204800 bytes in 24 h/);
      // A small fact still fits.
      assert.equal((await g.append('f4', { n: 1 })).ok, true);
    } finally {
      await g.close();
    }
  });

  test('CACO_GATEWAY_PARTY_BUDGET: default, off, events and bytes with a unit; a bad value names the variable', () => {
    assert.deepEqual(partyBudgetFromEnv({}), DEFAULT_PARTY_BUDGET);
    assert.deepEqual(DEFAULT_PARTY_BUDGET, { events: 50_000, bytes: 64 * 1024 * 1024 });
    assert.equal(partyBudgetFromEnv({ CACO_GATEWAY_PARTY_BUDGET: 'off' }), undefined);
    assert.deepEqual(partyBudgetFromEnv({ CACO_GATEWAY_PARTY_BUDGET: '10:1MiB' }), { events: 10, bytes: 1024 * 1024 });
    assert.deepEqual(partyBudgetFromEnv({ CACO_GATEWAY_PARTY_BUDGET: ' 2000 : 5000000 ' }), { events: 2000, bytes: 5_000_000 });
    for (const bad of ['10', '0:1MiB', '10:12', '10:1XB', 'lots', '1e3:1MiB', '10:99999999999999999GiB']) {
      assert.throws(() => partyBudgetFromEnv({ CACO_GATEWAY_PARTY_BUDGET: bad }), (e: unknown) => e instanceof ConfigError && /CACO_GATEWAY_PARTY_BUDGET/.test(e.message), bad);
    }
  });
});
