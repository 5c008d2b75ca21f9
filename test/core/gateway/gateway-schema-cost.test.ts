// test-file-timeout: 120
/**
 * What an outside party's own JSON Schemas may cost the site: the gateway compiles and runs them
 * on the event loop everything shares. An announced schema is bounded in size; the party's
 * ledger budget, an announce rate and its schema time are checked before anything is compiled;
 * the time its schemas take (compiling, checking facts) is charged to it, and past its budget it
 * is refused; a schema whose checks keep running out of time is switched off; the validators
 * kept are bounded by the bytes of their schemas; and each endpoint works on a bounded number of
 * requests at once. Everything here is asserted on counts and refusals, not on speed.
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
import { SiteGateway, eventIdFor, type GatewayOptions } from '../../../core/gateway/index.ts';
import { SchemaValidators } from '../../../core/gateway/schema-validators.ts';
import type { CommandIdentity } from '../../../core/identity/site-identity.ts';

type Reply = { ok: boolean; error?: { code: string; field: string | null; reason: string; retryAfterMs?: number } };

/** Ajv compiles while `fn` runs (every instance: the gateway makes one per schema). */
async function counting<T>(fn: (compiles: () => number) => Promise<T>): Promise<T> {
  const compile = Ajv2020.prototype.compile;
  let compiles = 0;
  Ajv2020.prototype.compile = function (this: Ajv2020, ...args: Parameters<Ajv2020['compile']>) {
    compiles++;
    return compile.apply(this, args);
  } as Ajv2020['compile'];
  try {
    return await fn(() => compiles);
  } finally {
    Ajv2020.prototype.compile = compile;
  }
}

/** `n` properties: a schema of about 24 bytes and 2 keys a property. */
const wide = (n: number, tag = '') => {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) properties[`p${i}`] = { type: 'number' };
  if (tag) properties[tag] = { type: 'string' };
  return { type: 'object', properties };
};

async function site(seed: string, opts: Partial<GatewayOptions> = {}, identityOf?: (real: CommandIdentity) => CommandIdentity) {
  const s = embeddedStack(seed);
  const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
  const gateway = new SiteGateway({ site: 'gw', bus: s.bus, store: s.store, registry: cacoRegistry([TestBatteryState]), identity: identityOf ? identityOf(identity) : identity, clock: s.clock, log: s.log, partyBudget: 'off', ...opts });
  const keys = new Map<string, LoadedKey>();
  const keyOf = async (party: string) => {
    let k = keys.get(party);
    if (!k) {
      k = loadedKey(party);
      keys.set(party, k);
      await identity.admin.add(k);
    }
    return k;
  };
  const call = async (name: string, body: Record<string, unknown>, party = 'acme', advanceMs = 1000): Promise<Reply> => {
    // A second between requests: the command rate is not what is tested here.
    s.clock.advanceTo(s.clock.now() + advanceMs);
    const ep = gateway.endpoints().find((e) => e.name === name)!;
    return JSON.parse(Buffer.from(await ep.handle(Buffer.from(JSON.stringify(signWithKey({ ...body, source: party }, await keyOf(party)))))).toString()) as Reply;
  };
  const announce = (schemas: Record<string, unknown>, party = 'acme', advanceMs = 1000) => call('announce', { name: party, version: '1', publishes: Object.keys(schemas), schemas }, party, advanceMs);
  const append = (id: string, type: string, data: unknown, party = 'acme') => call('append', { id, type, version: 1, data }, party);
  return { s, gateway, keyOf, call, announce, append, close: () => s.close() };
}

const REDOS = { type: 'object', properties: { tag: { type: 'string', pattern: '^(a+)+$' } } };
const SLOW = { tag: `${'a'.repeat(40)}!` };

describe('what an outside party\'s schemas may cost the site', { timeout: 100_000 }, () => {
  test('an announced schema is bounded in bytes, keywords and depth, alone and together: refused naming the limit, nothing compiled', async () => {
    const g = await site('gw-cost-size');
    try {
      await counting(async (compiles) => {
        // 2,400 properties (61 KB): compiled in 115–450 ms before.
        const huge = await g.announce({ 'ext.acme.x.huge': wide(2400) });
        assert.equal(huge.error?.code, 'schema', JSON.stringify(huge));
        assert.equal(huge.error?.field, 'schemas.ext.acme.x.huge');
        assert.match(huge.error!.reason, /is too large: it is \d+ bytes .*a schema may be at most 8192/);
        // Under 8 KB, but 602 keys.
        const keys: Record<string, unknown> = {};
        for (let i = 0; i < 600; i++) keys[`${i}`] = {};
        const many = await g.announce({ 'ext.acme.x.keys': { properties: keys, required: ['0'] } });
        assert.match(many.error?.reason ?? '', /602 keywords and property names; a schema may have at most 512/, JSON.stringify(many));
        let deep: Record<string, unknown> = { type: 'number' };
        for (let i = 0; i < 10; i++) deep = { type: 'object', properties: { a: deep } };
        const nested = await g.announce({ 'ext.acme.x.deep': deep });
        assert.match(nested.error?.reason ?? '', /nests 21 levels of objects and arrays; a schema may nest at most 20/, JSON.stringify(nested));
        // Each within the limits, too much together (3 × ~6.5 KB).
        const together = await g.announce({ 'ext.acme.x.a': wide(250, 'a'), 'ext.acme.x.b': wide(250, 'b'), 'ext.acme.x.c': wide(250, 'c') });
        assert.equal(together.error?.code, 'schema', JSON.stringify(together));
        assert.equal(together.error?.field, 'schemas');
        assert.match(together.error!.reason, /at most 16384 bytes and 1024 keywords and property names together/);
        assert.equal(compiles(), 0, 'nothing refused for its size was compiled');
      });
      // Within the limits: taken.
      assert.equal((await g.announce({ 'ext.acme.x.a': wide(100) })).ok, true);
    } finally {
      await g.close();
    }
  });

  test('a schema on the ledger from before the limits is not compiled for a fact: the fact is refused, asking for a new announcement', async () => {
    const g = await site('gw-cost-old');
    try {
      const k = await g.keyOf('acme');
      const schemas = { 'ext.acme.x.old': wide(2400) };
      const data = { name: 'acme', version: '1', description: null, keyId: k.keyId, stream: 'ext-acme', publishes: ['ext.acme.x.old'], consumes: [], schemas, announcedAt: '2023-07-03T00:00:00.000Z' };
      const id = eventIdFor('ext-acme', 'announce:old');
      await g.s.store.append('ext-acme', [{ id, type: 'gateway.agent.announced', version: 1, time: data.announcedAt, source: 'gateway', correlationId: id, causationId: null, data }], 'any');
      await counting(async (compiles) => {
        const r = await g.append('f1', 'ext.acme.x.old', { p0: 1 });
        assert.equal(r.error?.code, 'schema', JSON.stringify(r));
        assert.match(r.error!.reason, /is too large .*announce it again within the limits/);
        assert.equal(compiles(), 0);
      });
    } finally {
      await g.close();
    }
  });

  test('announce: the ledger budget and the announce rate are checked before anything is compiled', async () => {
    const g = await site('gw-cost-order', { partyBudget: { events: 1, bytes: 1024 * 1024 } });
    try {
      await counting(async (compiles) => {
        assert.equal((await g.announce({ 'ext.acme.x.a': wide(10, 'r0') })).ok, true);
        assert.equal(compiles(), 1);
        // The budget (one event) is spent: a new schema is refused, not compiled first.
        const over = await g.announce({ 'ext.acme.x.a': wide(10, 'r1') });
        assert.equal(over.error?.code, 'rate-limited', JSON.stringify(over));
        assert.match(over.error!.reason, /ledger budget/);
        assert.equal(compiles(), 1, 'a party past its ledger budget had its schema compiled');
      });
    } finally {
      await g.close();
    }
    const r = await site('gw-cost-rate');
    try {
      await counting(async (compiles) => {
        // Each a new schema (no cache), one a second: 5 at once, then 3 a minute.
        for (let i = 0; i < 5; i++) assert.equal((await r.announce({ 'ext.acme.x.a': wide(10, `r${i}`) })).ok, true, `announcement ${i}`);
        const sixth = await r.announce({ 'ext.acme.x.a': wide(10, 'r5') });
        assert.equal(sixth.error?.code, 'rate-limited', JSON.stringify(sixth));
        assert.match(sixth.error!.reason, /^announce rate: "acme" may announce 3 times a minute \(burst 5\) \(an announcement of the same types and schemas as the current one is not counted\); retry in \d+ ms$/);
        assert.ok(sixth.error!.retryAfterMs! > 0);
        assert.equal(compiles(), 5);
        // Another party has its own.
        assert.equal((await r.announce({ 'ext.other.x.a': wide(10, 'o') }, 'other')).ok, true);
        // 20 s later there is room for one more.
        assert.equal((await r.announce({ 'ext.acme.x.a': wide(10, 'r5') }, 'acme', 20_000)).ok, true);
      });
    } finally {
      await r.close();
    }
  });

  test('an announcement identical to the party\'s current one (same types and schemas) takes nothing from the announce rate: an agent restarting in a loop is not locked out', async () => {
    const g = await site('gw-cost-same');
    try {
      await counting(async (compiles) => {
        const schemas = { 'ext.acme.x.a': wide(10, 'a'), 'ext.acme.x.b': wide(5, 'b') };
        // An agent that announces on every start, 10 starts in 10 s (its version may change: the types and schemas do not).
        for (let i = 0; i < 10; i++) {
          const r = await g.call('announce', { name: 'acme', version: `1.0.${i}`, publishes: ['ext.acme.x.b', 'ext.acme.x.a'], schemas: structuredClone(schemas) });
          // Before: the 6th was refused 'announce rate', and every start after it for 20 s each.
          assert.equal(r.ok, true, `start ${i}: ${JSON.stringify(r)}`);
        }
        assert.equal(compiles(), 2, 'the same schemas were compiled once');
        // Announced and appended to as before.
        assert.equal((await g.append('f1', 'ext.acme.x.a', { a: 'x' })).ok, true);
        // A change (a new schema, or a type more or less) is counted: the first took one of the 5.
        for (let i = 0; i < 4; i++) assert.equal((await g.announce({ 'ext.acme.x.a': wide(10, `c${i}`) })).ok, true, `change ${i}`);
        const over = await g.announce({ 'ext.acme.x.a': wide(10, 'c4') });
        assert.match(over.error?.reason ?? '', /^announce rate: /, JSON.stringify(over));
        // Identical to the current one again: taken, though the rate is spent.
        assert.equal((await g.announce({ 'ext.acme.x.a': wide(10, 'c3') })).ok, true);
      });
    } finally {
      await g.close();
    }
  });

  test("a check that runs out of time is charged to the party's schema time: past it the party is refused rate-limited until it has paid it back; other parties are not", async () => {
    // 150 ms: one check that runs out of time (200 ms, charged at least that) puts the party in debt.
    const g = await site('gw-cost-cpu', { schemaCpuBudget: { ms: 150, windowMs: 60_000 } });
    try {
      assert.equal((await g.announce({ 'ext.acme.tag.read': REDOS })).ok, true);
      assert.equal((await g.announce({ 'ext.other.tag.read': REDOS }, 'other')).ok, true);
      // A window later both have their whole budget, whatever compiling took.
      g.s.clock.advanceTo(g.s.clock.now() + 60_000);
      const slow = await g.append('s1', 'ext.acme.tag.read', SLOW);
      assert.equal(slow.error?.code, 'schema', JSON.stringify(slow));
      assert.match(slow.error!.reason, /took longer than 200 ms/);
      // Before: every such append took the whole 200 ms again, and cost the party nothing.
      const next = await g.append('s2', 'ext.acme.tag.read', SLOW);
      assert.equal(next.error?.code, 'rate-limited', JSON.stringify(next));
      assert.match(next.error!.reason, /^schema time: compiling and checking against "acme"'s announced schemas has taken \d+ ms more than its budget of 150 ms per 60 s/);
      const retry = next.error!.retryAfterMs!;
      assert.ok(retry > 0);
      // Even a fact that would pass, and an announcement (it would compile).
      assert.equal((await g.append('g1', 'ext.acme.tag.read', { tag: 'aa' })).error?.code, 'rate-limited');
      assert.equal((await g.announce({ 'ext.acme.tag.read': { type: 'object' } })).error?.code, 'rate-limited');
      // Another party's facts are checked as before.
      assert.equal((await g.append('o1', 'ext.other.tag.read', { tag: 'aa' }, 'other')).ok, true);
      // Once paid back, the party's facts are checked again.
      g.s.clock.advanceTo(g.s.clock.now() + retry);
      const later = await g.append('g2', 'ext.acme.tag.read', { tag: 'aa' });
      assert.equal(later.ok, true, JSON.stringify(later));
    } finally {
      await g.close();
    }
  });

  test("a check is charged its time less the watchdog's own: a party announcing {} is not refused for schema time at the command rate; one whose checks take longer pays the rest", async () => {
    // A helper's review: the vm watchdog around each check costs 0.07-0.6 ms whatever the schema,
    // and charged in full it refused a party checking against {} after ~1,700 facts a minute.
    // Schema time on a clock of its own: `step` ms between its readings, so a check takes `step`.
    let cpu = 0;
    let step = 0.5;
    const g = await site('gw-cost-overhead', { schemaCpuBudget: { ms: 10, windowMs: 60_000 }, schemaClock: () => (cpu += step) });
    try {
      assert.equal((await g.announce({ 'ext.acme.any.read': {} })).ok, true);
      g.s.clock.advanceTo(g.s.clock.now() + 60_000);
      const codes: string[] = [];
      for (let i = 0; i < 60; i++) {
        const r = await g.append(`f${i}`, 'ext.acme.any.read', { n: i });
        codes.push(r.ok ? 'ok' : `${r.error!.code}: ${r.error!.reason.slice(0, 40)}`);
      }
      // Before: 0.5 ms charged a check (0.33 net of the refill a second brings): refused from about the 30th.
      assert.deepEqual(codes, Array(60).fill('ok'));
      // 5 ms a check: 4.25 charged, the 10 ms budget spent within a few facts.
      step = 5;
      const later: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await g.append(`s${i}`, 'ext.acme.any.read', { n: i });
        later.push(r.ok ? 'ok' : r.error!.code);
      }
      assert.deepEqual(later.slice(0, 2), ['ok', 'ok']);
      assert.ok(later.includes('rate-limited'), JSON.stringify(later));
    } finally {
      await g.close();
    }
  });

  test('a re-send of a stored fact is answered before any schema check: while the party is in schema-time debt, and when it differs (conflict)', async () => {
    const g = await site('gw-cost-resend', { schemaCpuBudget: { ms: 150, windowMs: 60_000 } });
    try {
      assert.equal((await g.announce({ 'ext.acme.tag.read': REDOS })).ok, true);
      g.s.clock.advanceTo(g.s.clock.now() + 60_000);
      const first = await g.append('g1', 'ext.acme.tag.read', { tag: 'aa' });
      assert.equal(first.ok, true, JSON.stringify(first));
      // One check that runs out of time: the party is in debt, new facts are refused rate-limited.
      assert.equal((await g.append('s1', 'ext.acme.tag.read', SLOW)).error?.code, 'schema');
      assert.equal((await g.append('g2', 'ext.acme.tag.read', { tag: 'aa' })).error?.code, 'rate-limited');
      // Before, the re-send was checked against the schema first, and so refused rate-limited too.
      const again = (await g.append('g1', 'ext.acme.tag.read', { tag: 'aa' })) as Reply & { duplicate?: boolean };
      assert.deepEqual([again.ok, again.duplicate], [true, true], JSON.stringify(again));
      const other = await g.append('g1', 'ext.acme.tag.read', { tag: 'ab' });
      assert.equal(other.error?.code, 'conflict', JSON.stringify(other));
    } finally {
      await g.close();
    }
  });

  test('a schema that refers to itself is answered schema on field data, its time is charged, and after 3 such checks it is switched off', async () => {
    const g = await site('gw-cost-self-ref', { schemaCpuBudget: { ms: 600_000, windowMs: 60_000 } });
    try {
      const ann = await g.announce({ 'ext.acme.loop.read': { $ref: '#' } });
      assert.equal(ann.ok, true, JSON.stringify(ann));
      // What the party is charged for each check (the meter is the gateway's own).
      const meter = (g.gateway as unknown as { schemaCpu: { charge(party: string, ms: number, at: number): void } }).schemaCpu;
      const charged: number[] = [];
      const charge = meter.charge.bind(meter);
      meter.charge = (party, ms, at) => {
        charged.push(ms);
        charge(party, ms, at);
      };
      const reasons: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await g.append(`l${i}`, 'ext.acme.loop.read', { a: i });
        assert.equal(r.error?.code, 'schema', JSON.stringify(r));
        assert.equal(r.error?.field, 'data');
        reasons.push(r.error!.reason);
      }
      // Before, the check threw past the charge: nothing was charged and each was answered "unavailable".
      assert.ok(charged.length >= 3, `each check is charged (${charged.length} charges)`);
      const before = charged.length;
      assert.match(reasons[0]!, /could not finish: it recursed without end .*After 2 more such checks the schema is switched off/);
      const off = await g.append('l9', 'ext.acme.loop.read', { a: 9 });
      assert.match(off.error?.reason ?? '', /is switched off: checking 3 facts against it .*could not finish/, JSON.stringify(off));
      assert.equal(charged.length, before, 'a switched-off schema is not run');
    } finally {
      await g.close();
    }
  });

  test('a schema whose checks run out of time 3 times is switched off: its facts are refused without a check until the party announces again', async () => {
    // Time enough that the budget is not what refuses here.
    const g = await site('gw-cost-off', { schemaCpuBudget: { ms: 600_000, windowMs: 60_000 } });
    try {
      assert.equal((await g.announce({ 'ext.acme.tag.read': REDOS })).ok, true);
      const reasons: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await g.append(`s${i}`, 'ext.acme.tag.read', SLOW);
        assert.equal(r.error?.code, 'schema', JSON.stringify(r));
        reasons.push(r.error!.reason);
      }
      // Even a fact that would pass: before, each fact was checked (and a slow one took 200 ms) however often.
      const off = await g.append('g1', 'ext.acme.tag.read', { tag: 'aa' });
      assert.equal(off.error?.code, 'schema', JSON.stringify(off));
      assert.equal(off.error?.field, 'data');
      assert.match(off.error!.reason, /the announced schema of ext\.acme\.tag\.read is switched off: checking 3 facts against it took longer than 200 ms each .*until "acme" announces again/);
      assert.match(reasons[0]!, /took longer than 200 ms .*After 2 more such checks the schema is switched off until "acme" announces again/);
      assert.match(reasons[2]!, /The schema is now switched off until "acme" announces again/);
      // Announced again unchanged (free of the announce rate, so no way around the switch): still off.
      assert.equal((await g.announce({ 'ext.acme.tag.read': structuredClone(REDOS) })).ok, true);
      const still = await g.append('g1', 'ext.acme.tag.read', { tag: 'aa' });
      assert.match(still.error?.reason ?? '', /is switched off/, JSON.stringify(still));
      // Announced again (a fixed pattern): checked again.
      assert.equal((await g.announce({ 'ext.acme.tag.read': { type: 'object', properties: { tag: { type: 'string', pattern: '^a+$' } } } })).ok, true);
      assert.equal((await g.append('g1', 'ext.acme.tag.read', { tag: 'aa' })).ok, true);
      assert.equal((await g.append('b1', 'ext.acme.tag.read', { tag: 'ab' })).error?.code, 'schema');
    } finally {
      await g.close();
    }
  });

  test('the validators kept are bounded by the bytes of their schemas, and one kept does not keep the others alive', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // ~2.4 KB each; at most 12 KB of schema kept.
    const v = new SchemaValidators({ count: 100, bytes: 12_000 });
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 30; i++) {
      const c = v.compile(wide(100, `r${i}`));
      assert.ok(c.ok);
      refs.push(new WeakRef(c.validate));
    }
    // A WeakRef's target lives at least to the end of the job that made it.
    await new Promise((r) => setImmediate(r));
    gc();
    gc();
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    // Before: all 30 (up to 1,000 kept, and each kept one held its ajv instance with every validator it had made).
    assert.ok(alive <= 5, `${alive} of 30 validators still in memory`);
    assert.ok(v.size.bytes <= 12_000 && v.size.count <= 5, JSON.stringify(v.size));
    // The most recently used are those kept: the last one compiled is answered from memory.
    const last = refs[29]!.deref();
    assert.ok(last && v.compile(wide(100, 'r29')).ok && (v.compile(wide(100, 'r29')) as { validate: object }).validate === last);
  });

  test('a party whose validators were evicted is not pushed into schema-time refusals by compiling them again; past the site\'s time for that, it pays', async () => {
    // Schema time on a clock of its own: each compile takes 100 ms of it, a check none.
    let cpu = 0;
    let msPerCompile = 100;
    const compile = Ajv2020.prototype.compile;
    Ajv2020.prototype.compile = function (this: Ajv2020, ...args: Parameters<Ajv2020['compile']>) {
      cpu += msPerCompile;
      return compile.apply(this, args);
    } as Ajv2020['compile'];
    // One validator kept: the party's two types evict each other, each fact compiles its schema again.
    const g = await site('gw-cost-refill', { keptValidators: { count: 1, bytes: 1024 * 1024 }, schemaClock: () => cpu });
    try {
      assert.equal((await g.announce({ 'ext.acme.x.a': wide(3, 'a'), 'ext.acme.x.b': wide(3, 'b') })).ok, true);
      g.s.clock.advanceTo(g.s.clock.now() + 60_000);
      // 30 compiles again (3,000 ms) in 30 s: three times what the party's second a minute allows.
      const codes: string[] = [];
      for (let i = 0; i < 15; i++) {
        for (const t of ['a', 'b']) {
          const r = await g.append(`${t}${i}`, `ext.acme.x.${t}`, { [t]: 'x' });
          codes.push(r.ok ? 'ok' : `${r.error!.code}: ${r.error!.reason.slice(0, 40)}`);
        }
      }
      // Before: from the 16th on, refused 'schema time' (every recompile charged to the party).
      assert.deepEqual(codes, Array(30).fill('ok'));
      assert.equal(cpu, 3200, 'each fact compiled its schema again');
      // The site's time for compiling evicted schemas again (5 s a minute) is not endless: past it the party pays, and is refused once its own second is spent.
      msPerCompile = 1000;
      const later: string[] = [];
      for (let i = 15; i < 25; i++) {
        const r = await g.append(`a${i}`, 'ext.acme.x.a', { a: 'x' });
        later.push(r.ok ? 'ok' : r.error!.code);
        const r2 = await g.append(`b${i}`, 'ext.acme.x.b', { b: 'x' });
        later.push(r2.ok ? 'ok' : r2.error!.code);
      }
      assert.ok(later.includes('rate-limited'), JSON.stringify(later));
      assert.equal(later[0], 'ok');
    } finally {
      Ajv2020.prototype.compile = compile;
      await g.close();
    }
  });

  test('each endpoint works on a bounded number of requests at once: past it a request is refused unavailable at once; other endpoints are not held up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const g = await site('gw-cost-inflight', { maxInFlight: 4 }, (real) => ({
      sign: (c) => real.sign(c),
      // Every key lookup waits, as one in flight on a slow registry does.
      authenticate: async (raw) => {
        await gate;
        return real.authenticate(raw);
      },
    }));
    try {
      const k = await g.keyOf('acme');
      const append = g.gateway.endpoints().find((e) => e.name === 'append')!;
      const read = g.gateway.endpoints().find((e) => e.name === 'read')!;
      const settled: Reply[] = [];
      const pending = Array.from({ length: 7 }, (_, i) =>
        append.handle(Buffer.from(JSON.stringify(signWithKey({ id: `f${i}`, type: 'ext.acme.x.y', version: 1, data: {}, source: 'acme' }, k)))).then((b) => {
          const r = JSON.parse(Buffer.from(b).toString()) as Reply;
          settled.push(r);
          return r;
        }),
      );
      // An unsigned read needs no lookup: answered while the appends wait.
      const r = JSON.parse(Buffer.from(await read.handle(Buffer.from(JSON.stringify({ fromPosition: 0, limit: 1 })))).toString()) as Reply;
      assert.equal(r.ok, true, JSON.stringify(r));
      await new Promise((res) => setImmediate(res));
      // Before: all 7 waited on their lookups, each holding its parsed body.
      assert.equal(settled.length, 3, `${settled.length} of 7 answered while 4 were in flight`);
      for (const s of settled) {
        assert.equal(s.error?.code, 'unavailable', JSON.stringify(s));
        assert.match(s.error!.reason, /^the gateway is busy: 4 requests of this kind are in progress; try again shortly$/);
      }
      release();
      const all = await Promise.all(pending);
      assert.equal(all.filter((x) => x.error?.code === 'unavailable').length, 3);
      assert.equal(all.filter((x) => x.error?.code === 'not-announced').length, 4, 'the 4 in flight were answered');
      // And the endpoint takes requests again.
      const again = JSON.parse(Buffer.from(await append.handle(Buffer.from(JSON.stringify(signWithKey({ id: 'f9', type: 'ext.acme.x.y', version: 1, data: {}, source: 'acme' }, k))))).toString()) as Reply;
      assert.equal(again.error?.code, 'not-announced');
    } finally {
      release();
      await g.close();
    }
  });
});
