// test-file-timeout: 120
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Schema } from 'effect';
import { ask, gatewaySite, loadedKey, signWithKey } from './support.ts';
import fc from 'fast-check';
import { eventIdFor, typeFilter, typeMatches } from '../../../core/gateway/index.ts';
import { ADMIN_PARTY, ENTRY_FORMAT, signEntry } from '../../../core/identity/index.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';

const meterSchema = { type: 'object', required: ['meterId', 'kw'], properties: { meterId: { type: 'string' }, kw: { type: 'number', minimum: 0 } }, additionalProperties: false };
const announcement = (over: Record<string, unknown> = {}) => ({ name: 'acme', version: '1.0.0', publishes: ['ext.acme.meter.read', 'onsite.test.state.reported'], consumes: ['grid.forecast.published'], schemas: { 'ext.acme.meter.read': meterSchema }, ...over });
const fact = (id: string, data: unknown, type = 'ext.acme.meter.read') => ({ id, type, version: 1, data });

async function ledger(store: { readAll(): AsyncIterable<Envelope> }): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

test('typeMatches follows NATS wildcard rules over dot-separated types', () => {
  assert.ok(typeMatches('grid.>', 'grid.forecast.published'));
  assert.ok(typeMatches('compute.job.*', 'compute.job.planned'));
  assert.ok(!typeMatches('compute.job.*', 'compute.job'));
  assert.ok(!typeMatches('grid.>', 'grid'));
  assert.ok(typeMatches('ext.acme.meter.read', 'ext.acme.meter.read'));
});

test("a read's type filter answers as typeMatches over its patterns, every time a type comes again and past what it remembers", () => {
  // The filter splits its patterns once and remembers each type's answer (a read of 2,500 events
  // against 64 long patterns held the loop 0.26-0.44 s matched afresh); it must not answer otherwise.
  const token = fc.constantFrom('grid', 'compute', 'job', 'ext', 'acme', 'a', 'b', '');
  const type = fc.array(token, { minLength: 1, maxLength: 5 }).map((t) => t.join('.'));
  const pattern = fc.array(fc.oneof(token, fc.constantFrom('*', '>')), { minLength: 1, maxLength: 5 }).map((t) => t.join('.'));
  fc.assert(
    fc.property(fc.array(pattern, { minLength: 1, maxLength: 8 }), fc.array(type, { minLength: 1, maxLength: 40 }), (patterns, types) => {
      const wanted = typeFilter(patterns);
      for (const t of [...types, ...types]) assert.equal(wanted(t), patterns.some((p) => typeMatches(p, t)), `${JSON.stringify(patterns)} / ${t}`);
    }),
    { numRuns: 300, seed: 14 },
  );
  // Past the 1,024 types it remembers, each is matched afresh, the same way.
  const wanted = typeFilter(['ext.*.meter.read', 'grid.>']);
  for (let i = 0; i < 1_500; i++) {
    assert.equal(wanted(`ext.p${i}.meter.read`), true);
    assert.equal(wanted(`ext.p${i}.meter.other`), false);
  }
  assert.equal(wanted('grid.forecast.published'), true);
});

test('eventIdFor is a stable UUID per stream and agent id', () => {
  const a = eventIdFor('ext-acme', '42');
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(a, eventIdFor('ext-acme', '42'));
  assert.notEqual(a, eventIdFor('ext-other', '42'));
});

/** A compute.job.submit command envelope, as a third party sends one on caco.<site>.cmd.compute.submit. */
const commandEnvelope = (id: string, source: string) => ({
  id,
  type: 'compute.job.submit',
  version: 1,
  time: '2026-12-03T03:30:00Z',
  source,
  correlationId: id,
  causationId: null,
  data: { jobId: id, class: 'training', powerKw: 500, runtimeMin: 60, earliestStart: '2026-12-03T04:00:00Z', deadline: '2026-12-03T10:00:00Z', slaClass: 'silver', preemptible: false },
});

describe('the site gateway', { timeout: 90_000 }, () => {
  test('announce, signed append with dedupe, every refusal by code, catch-up read', async () => {
    const site = await gatewaySite('gw-flow');
    const { s } = site;
    try {
      const acme = loadedKey('acme');
      const impostor = loadedKey('acme'); // the same party name, another key
      const mallory = loadedKey('mallory');
      const siteAgent = loadedKey('meter', 'agent');
      for (const k of [acme, impostor, mallory, siteAgent]) await site.identity.admin.add(k);
      const A = 'caco.gw.gw.announce', P = 'caco.gw.gw.append', R = 'caco.gw.gw.read';

      // Appending before announcing.
      const early = await ask(s.bus, P, signWithKey(fact('f0', { meterId: 'm', kw: 1 }), acme));
      assert.equal(early.error?.code, 'not-announced', JSON.stringify(early));

      const ann = await ask(s.bus, A, signWithKey(announcement(), acme));
      assert.equal(ann.ok, true, JSON.stringify(ann));
      assert.equal(ann['stream'], 'ext-acme');
      const announced = (await ledger(s.store)).filter((e) => e.type === 'gateway.agent.announced');
      assert.equal(announced.length, 1);
      assert.equal(announced[0]!.stream, 'ext-acme');
      assert.equal(announced[0]!.source, 'gateway');
      assert.equal((announced[0]!.data as { keyId: string }).keyId, acme.keyId);

      // Announcement refusals.
      const refusals: Array<[string, unknown, string, string | null]> = [
        ['impostor: same name, another key', signWithKey(announcement(), impostor), 'source-mismatch', 'keyId'],
        ['name is not the source', signWithKey(announcement({ name: 'other' }), mallory), 'source-mismatch', 'name'],
        ['ext type without a schema', signWithKey(announcement({ name: 'mallory', publishes: ['ext.mallory.meter.read'], schemas: {} }), mallory), 'schema', 'schemas.ext.mallory.meter.read'],
        ['schema that does not compile', signWithKey(announcement({ name: 'mallory', publishes: ['ext.mallory.meter.read'], schemas: { 'ext.mallory.meter.read': { type: 'nonsense' } } }), mallory), 'schema', 'schemas.ext.mallory.meter.read'],
        ["another party's ext type", signWithKey(announcement({ name: 'mallory' }), mallory), 'not-declared', 'publishes[0]'],
        ['a site type that is not an outside fact', signWithKey(announcement({ name: 'mallory', publishes: ['compute.job.submitted'], schemas: {} }), mallory), 'not-declared', 'publishes[0]'],
        ['a site agent key', signWithKey(announcement({ name: 'meter' }), siteAgent), 'forbidden', 'keyId'],
        ['an append sent to announce', signWithKey(fact('x', {}), mallory), 'wrong-subject', null],
        ['a command envelope sent to announce', signWithKey(commandEnvelope('c0', 'mallory'), mallory), 'wrong-subject', 'type'],
        ['unsigned', { ...announcement(), source: 'acme' }, 'unsigned', 'sig'],
      ];
      for (const [name, body, code, field] of refusals) {
        const r = await ask(s.bus, A, body);
        assert.equal(r.ok, false, name);
        assert.equal(r.error?.code, code, `${name}: ${JSON.stringify(r)}`);
        assert.equal(r.error?.field, field, `${name}: ${JSON.stringify(r)}`);
      }

      // A good append, its re-send, and a different fact under the same id.
      const first = await ask(s.bus, P, signWithKey(fact('f1', { meterId: 'm1', kw: 12.5 }), acme));
      assert.equal(first.ok, true, JSON.stringify(first));
      assert.equal(first['duplicate'], false);
      assert.equal(first['stream'], 'ext-acme');
      const again = await ask(s.bus, P, signWithKey(fact('f1', { meterId: 'm1', kw: 12.5 }), acme));
      assert.deepEqual({ ...again, duplicate: false }, first, 'a re-send gives the same position');
      assert.equal(again['duplicate'], true);
      const conflict = await ask(s.bus, P, signWithKey(fact('f1', { meterId: 'm1', kw: 99 }), acme));
      assert.equal(conflict.error?.code, 'conflict');
      const site1 = await ask(s.bus, P, signWithKey(fact('f2', { assetId: 'b1', stateOfChargeKwh: 10 }, 'onsite.test.state.reported'), acme));
      assert.equal(site1.ok, true, JSON.stringify(site1));

      const appendRefusals: Array<[string, unknown, string, string | null]> = [
        ['schema violation (ext)', signWithKey(fact('f3', { meterId: 'm1', kw: -1 }), acme), 'schema', 'data.kw'],
        ['schema violation (site type)', signWithKey(fact('f4', { assetId: 'b1' }, 'onsite.test.state.reported'), acme), 'schema', 'data.stateOfChargeKwh'],
        ['undeclared type', signWithKey(fact('f5', {}, 'ext.acme.other'), acme), 'not-declared', 'type'],
        ['impostor appends', signWithKey(fact('f6', { meterId: 'm', kw: 1 }), impostor), 'source-mismatch', 'keyId'],
        ['not announced', signWithKey(fact('f7', { meterId: 'm', kw: 1 }), mallory), 'not-announced', 'source'],
        ['a command through the gateway', signWithKey({ ...fact('f8', {}, 'compute.job.submit') }, acme), 'wrong-subject', 'type'],
        ['an announcement sent to append', signWithKey(announcement(), acme), 'wrong-subject', null],
        // A real command envelope (time, correlationId, causationId): was `bad-request: not an append: time: Expected no excess property`.
        ['a command envelope sent to append', signWithKey(commandEnvelope('c1', 'acme'), acme), 'wrong-subject', 'type'],
        ['unknown key', { ...fact('f9', {}), source: 'acme', keyId: 'nobody-1', sig: 'AAAA' }, 'unknown-key', 'keyId'],
        ['tampered', { ...signWithKey(fact('f10', { meterId: 'm', kw: 1 }), acme), data: { meterId: 'm', kw: 2 } }, 'bad-signature', 'keyId'],
        ['malformed JSON', '{"id": ', 'bad-request', null],
        ['missing id', signWithKey({ type: 'ext.acme.meter.read', version: 1, data: {} }, acme), 'bad-request', 'id'],
      ];
      for (const [name, body, code, field] of appendRefusals) {
        const r = await ask(s.bus, P, body);
        assert.equal(r.ok, false, name);
        assert.equal(r.error?.code, code, `${name}: ${JSON.stringify(r)}`);
        assert.equal(r.error?.field, field, `${name}: ${JSON.stringify(r)}`);
      }

      // The stored fact: the agent's source, its id as correlationId, caused by its announcement.
      const stored = (await ledger(s.store)).filter((e) => e.stream === 'ext-acme');
      assert.deepEqual(stored.map((e) => e.type), ['gateway.agent.announced', 'ext.acme.meter.read', 'onsite.test.state.reported']);
      assert.equal(stored[1]!.source, 'acme');
      assert.equal(stored[1]!.correlationId, 'f1');
      assert.equal(stored[1]!.causationId, stored[0]!.id);
      assert.equal(stored[1]!.position, first['position']);

      // Catch-up: everything from 0, then filtered by type, then from a position.
      const all = await ask(s.bus, R, { fromPosition: 0 });
      assert.equal(all.ok, true);
      assert.deepEqual((all['events'] as Envelope[]).map((e) => e.id), stored.map((e) => e.id));
      const only = await ask(s.bus, R, { fromPosition: 0, types: ['ext.>'] });
      assert.deepEqual((only['events'] as Envelope[]).map((e) => e.type), ['ext.acme.meter.read']);
      const after = await ask(s.bus, R, { fromPosition: first['position'], limit: 1 });
      assert.deepEqual((after['events'] as Envelope[]).map((e) => e.type), ['onsite.test.state.reported']);
      assert.equal(after['nextPosition'], site1['position']);
      const badRead = await ask(s.bus, R, { fromPosition: -1, limit: 501 });
      assert.equal(badRead.error?.code, 'bad-request');
    } finally {
      await site.close();
    }
  });

  test('key rotation: once the announced key is revoked, the agent announces with its new key; the old key can no longer append', async () => {
    const site = await gatewaySite('gw-rotate');
    try {
      const old = loadedKey('acme');
      const fresh = loadedKey('acme');
      for (const k of [old, fresh]) await site.identity.admin.add(k);
      assert.equal((await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey(announcement(), old))).ok, true);
      assert.equal((await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey(announcement(), fresh))).error?.code, 'source-mismatch', 'not while the old key is active');
      await site.identity.admin.revoke(old.keyId);
      const again = await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey(announcement(), fresh));
      assert.equal(again.ok, true, JSON.stringify(again));
      assert.equal((await ask(site.s.bus, 'caco.gw.gw.append', signWithKey(fact('r1', { meterId: 'm', kw: 1 }), fresh))).ok, true);
      assert.equal((await ask(site.s.bus, 'caco.gw.gw.append', signWithKey(fact('r2', { meterId: 'm', kw: 1 }), old))).error?.code, 'revoked-key');
    } finally {
      await site.close();
    }
  });

  test('a signed announcement is recorded once: sent again it is answered as stored; an older one replayed after another is refused and changes nothing', async () => {
    const site = await gatewaySite('gw-replay');
    try {
      const k = loadedKey('acme');
      await site.identity.admin.add(k);
      const A = 'caco.gw.gw.announce';
      const first = signWithKey(announcement(), k);
      const second = signWithKey(announcement({ version: '2.0.0', publishes: ['ext.acme.meter.read', 'ext.acme.valve.read'], schemas: { 'ext.acme.meter.read': meterSchema, 'ext.acme.valve.read': { type: 'object' } } }), k);
      const a1 = await ask(site.s.bus, A, first);
      assert.equal(a1.ok, true, JSON.stringify(a1));
      const again = await ask(site.s.bus, A, first);
      assert.deepEqual([again.ok, again['duplicate'], again['position']], [true, true, a1['position']], JSON.stringify(again));
      assert.equal((await ask(site.s.bus, A, second)).ok, true);
      // The first announcement's signed bytes, sent by anyone who saw them: before, recorded
      // again (a new announcedAt made a new event id) and the older declaration was back.
      const replay = await ask(site.s.bus, A, first);
      assert.equal(replay.error?.code, 'conflict', JSON.stringify(replay));
      assert.equal(replay.error?.field, 'sig');
      assert.match(replay.error!.reason, /recorded before .*replaced since .*sign a new request/);
      // Nor as the same signature written another way (a helper's review: unpadded, base64url
      // and spaced copies each counted as a new announcement, and the first was back).
      const sig = first.sig;
      for (const other of [sig.replace(/=+$/, ''), sig.replace(/\+/g, '-').replace(/\//g, '_'), `${sig.slice(0, 10)} ${sig.slice(10)}`, `${sig.slice(0, 85)}${String.fromCharCode(sig.charCodeAt(85) ^ 1)}==`]) {
        if (other === sig) continue;
        const r = await ask(site.s.bus, A, { ...first, sig: other });
        assert.equal(r.error?.code, 'bad-signature', `${other}: ${JSON.stringify(r)}`);
      }
      assert.equal((await ledger(site.s.store)).filter((e) => e.type === 'gateway.agent.announced').length, 2);
      const valve = await ask(site.s.bus, 'caco.gw.gw.append', signWithKey(fact('v1', { open: true }, 'ext.acme.valve.read'), k));
      assert.equal(valve.ok, true, `the second declaration stands: ${JSON.stringify(valve)}`);
    } finally {
      await site.close();
    }
  });

  test('an announcement of site outside-fact types alone needs no schemas or consumes; a numeric version is taken as text', async () => {
    const site = await gatewaySite('gw-lenient');
    try {
      const k = loadedKey('solar');
      await site.identity.admin.add(k);
      const r = await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey({ name: 'solar', version: 2, publishes: ['onsite.test.state.reported'] }, k));
      assert.equal(r.ok, true, JSON.stringify(r));
      const stored = (await ledger(site.s.store)).find((e) => e.type === 'gateway.agent.announced')!;
      assert.deepEqual({ ...(stored.data as object), announcedAt: 'x' }, { name: 'solar', version: '2', description: null, keyId: k.keyId, stream: 'ext-solar', publishes: ['onsite.test.state.reported'], consumes: [], schemas: {}, announcedAt: 'x' });
    } finally {
      await site.close();
    }
  });

  test('queries answer from the read model given; bad query input is refused by field', async () => {
    const site = await gatewaySite('gw-query', {
      queries: { plan: { description: 'a job plan', request: Schema.Struct({ jobId: Schema.String }), answer: (r) => ({ jobId: (r as { jobId: string }).jobId, plan: null }) } },
    });
    try {
      const r = await ask(site.s.bus, 'caco.gw.q.plan', { jobId: 'j1' });
      assert.deepEqual(r, { ok: true, jobId: 'j1', plan: null });
      const bad = await ask(site.s.bus, 'caco.gw.q.plan', {});
      assert.equal(bad.error?.code, 'bad-request');
      assert.equal(bad.error?.field, 'jobId');
    } finally {
      await site.close();
    }
  });

  test('an announced pattern that backtracks without end cannot stall the site: the append is refused as a schema problem, quickly, and the gateway answers on', async () => {
    const site = await gatewaySite('gw-redos');
    try {
      const k = loadedKey('slowpoke');
      await site.identity.admin.add(k);
      // `^(a+)+$` against "aaa…a!" backtracks exponentially: 32 a's take seconds to minutes of
      // the event loop, which the whole site (its agents, relay and gateway) shares.
      const schema = { type: 'object', required: ['tag'], properties: { tag: { type: 'string', pattern: '^(a+)+$' } } };
      const ann = await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey({ name: 'slowpoke', version: '1', publishes: ['ext.slowpoke.tag.read'], schemas: { 'ext.slowpoke.tag.read': schema } }, k));
      assert.equal(ann.ok, true, JSON.stringify(ann));
      const good = await ask(site.s.bus, 'caco.gw.gw.append', signWithKey({ id: 'g1', type: 'ext.slowpoke.tag.read', version: 1, data: { tag: 'aaaa' } }, k));
      assert.equal(good.ok, true, JSON.stringify(good));
      const t0 = performance.now();
      const slow = await ask(site.s.bus, 'caco.gw.gw.append', signWithKey({ id: 's1', type: 'ext.slowpoke.tag.read', version: 1, data: { tag: `${'a'.repeat(32)}!` } }, k));
      const ms = performance.now() - t0;
      assert.ok(ms < 2_000, `the refusal took ${Math.round(ms)} ms: validation held the event loop`);
      assert.equal(slow.error?.code, 'schema', JSON.stringify(slow));
      assert.equal(slow.error?.field, 'data');
      assert.match(slow.error!.reason, /took longer than \d+ ms/);
      const after = await ask(site.s.bus, 'caco.gw.gw.append', signWithKey({ id: 'g2', type: 'ext.slowpoke.tag.read', version: 1, data: { tag: 'aa' } }, k));
      assert.equal(after.ok, true, JSON.stringify(after));
      assert.equal((await ledger(site.s.store)).filter((e) => e.type === 'ext.slowpoke.tag.read').length, 2, 'the refused fact is not on the ledger');
    } finally {
      await site.close();
    }
  });

  test("an outside agent's ext.* types carry its own name: another party's are refused at announce, and at append even when an older declaration lists them", async () => {
    const site = await gatewaySite('gw-ext-names');
    try {
      const mallory = loadedKey('mallory');
      await site.identity.admin.add(mallory);
      const A = 'caco.gw.gw.announce', P = 'caco.gw.gw.append';
      const schema = { type: 'object' };
      // ext.acme.… would be relayed on caco.<site>.evt.ext.acme.…, taken by acme's followers as acme's.
      for (const type of ['ext.acme.x.put', 'ext.mallory-2.x.put', 'ext.mallory']) {
        const r = await ask(site.s.bus, A, signWithKey({ name: 'mallory', version: '1', publishes: ['onsite.test.state.reported', type], schemas: { [type]: schema } }, mallory));
        assert.equal(r.error?.code, 'not-declared', `${type}: ${JSON.stringify(r)}`);
        assert.equal(r.error?.field, 'publishes[1]');
        assert.equal(r.error?.reason, `publishes[1] "${type}" is not "mallory"'s own type: an outside agent's ext.* types must start with "ext.mallory." (its own name)`);
      }
      const own = await ask(site.s.bus, A, signWithKey({ name: 'mallory', version: '1', publishes: ['ext.mallory.x.put'], schemas: { 'ext.mallory.x.put': schema } }, mallory));
      assert.equal(own.ok, true, JSON.stringify(own));
      const put = await ask(site.s.bus, P, signWithKey({ id: 'm1', type: 'ext.mallory.x.put', version: 1, data: {} }, mallory));
      assert.equal(put.ok, true, JSON.stringify(put));

      // As a gateway before this rule would have recorded it: a declaration listing acme's type.
      const data = { name: 'mallory', version: '2', description: null, keyId: mallory.keyId, stream: 'ext-mallory', publishes: ['ext.mallory.x.put', 'ext.acme.x.put'], consumes: [], schemas: { 'ext.mallory.x.put': schema, 'ext.acme.x.put': schema }, announcedAt: '2023-07-03T00:00:00.000Z' };
      const id = eventIdFor('ext-mallory', 'announce:old');
      await site.s.store.append('ext-mallory', [{ id, type: 'gateway.agent.announced', version: 1, time: data.announcedAt, source: 'gateway', correlationId: id, causationId: null, data }], 'any');
      const foreign = await ask(site.s.bus, P, signWithKey({ id: 'm2', type: 'ext.acme.x.put', version: 1, data: {} }, mallory));
      assert.equal(foreign.error?.code, 'not-declared', JSON.stringify(foreign));
      assert.equal(foreign.error?.field, 'type');
      assert.match(foreign.error!.reason, /^type "ext\.acme\.x\.put" is not "mallory"'s own type: .* must start with "ext\.mallory\."/);
      assert.equal((await ask(site.s.bus, P, signWithKey({ id: 'm3', type: 'ext.mallory.x.put', version: 1, data: {} }, mallory))).ok, true);
      assert.equal((await ledger(site.s.store)).filter((e) => e.type === 'ext.acme.x.put').length, 0, 'nothing of acme\'s type is stored');
    } finally {
      await site.close();
    }
  });

  test("an outside agent may not take a site signer's name (effects, site-anchor, …): the audit would take its facts for the site's", async () => {
    const site = await gatewaySite('gw-site-signers');
    try {
      for (const name of ['effects', 'site-anchor', 'workload', 'gateway', 'admin', 'compute']) {
        const k = loadedKey(name);
        // The registry refuses such a key now (KeyAdmin.add); this is one the admin signed before
        // it did, or that another tool wrote: the gateway refuses the name on its own.
        await assert.rejects(site.identity.admin.add(k), /is one of the site's own signers/);
        const entry = signEntry({ format: ENTRY_FORMAT, keyId: k.keyId, party: name, role: 'third-party', publicKey: k.publicKey, status: 'active', createdAt: new Date(site.s.clock.now()).toISOString(), revokedAt: null }, (b) => site.s.keyring.sign(ADMIN_PARTY, b));
        await site.identity.registry.store.put(k.keyId, entry);
        site.identity.registry.written(entry);
        const r = await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey({ name, version: '1', publishes: ['onsite.test.state.reported'] }, k));
        assert.equal(r.error?.code, 'forbidden', `${name}: ${JSON.stringify(r)}`);
        assert.equal(r.error?.field, 'name');
        assert.equal(r.error?.reason, `"${name}" is one of the site's own parties; an outside agent takes a name of its own`);
      }
      assert.equal((await ledger(site.s.store)).filter((e) => e.type === 'gateway.agent.announced').length, 0, 'nothing announced');
    } finally {
      await site.close();
    }
  });

  test("a party whose name cannot begin a type is told so when it announces an ext.* type", async () => {
    const site = await gatewaySite('gw-ext-bad-name');
    try {
      const k = loadedKey('9lives');
      await site.identity.admin.add(k);
      const r = await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey({ name: '9lives', version: '1', publishes: ['ext.lives.x.put'], schemas: { 'ext.lives.x.put': { type: 'object' } } }, k));
      assert.equal(r.error?.code, 'not-declared', JSON.stringify(r));
      assert.match(r.error!.reason, /"9lives" cannot begin a type's word .*: publish onsite\.\* types or register another name$/);
    } finally {
      await site.close();
    }
  });

  test('an asynchronous announced schema ($async) is refused; one already on the ledger refuses facts instead of passing them and leaving a rejection unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown) => void unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    const site = await gatewaySite('gw-async');
    try {
      const k = loadedKey('later');
      await site.identity.admin.add(k);
      const schema = { $async: true, type: 'object', required: ['n'], properties: { n: { type: 'number' } } };
      const schemas = { 'ext.later.n.read': schema };
      const ann = await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey({ name: 'later', version: '1', publishes: ['ext.later.n.read'], schemas }, k));
      assert.equal(ann.error?.code, 'schema', JSON.stringify(ann));
      assert.equal(ann.error?.field, 'schemas.ext.later.n.read');
      // As an earlier gateway would have recorded it.
      const data = { name: 'later', version: '1', description: null, keyId: k.keyId, stream: 'ext-later', publishes: ['ext.later.n.read'], consumes: [], schemas, announcedAt: '2023-07-03T00:00:00.000Z' };
      const id = eventIdFor('ext-later', 'announce:old');
      await site.s.store.append('ext-later', [{ id, type: 'gateway.agent.announced', version: 1, time: data.announcedAt, source: 'gateway', correlationId: id, causationId: null, data }], 'any');
      const bad = await ask(site.s.bus, 'caco.gw.gw.append', signWithKey({ id: 'a1', type: 'ext.later.n.read', version: 1, data: { n: 'not a number' } }, k));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(bad.error?.code, 'schema', JSON.stringify(bad));
      assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection (it would end the site)');
      assert.equal((await ledger(site.s.store)).filter((e) => e.type === 'ext.later.n.read').length, 0, 'the fact is not stored');
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await site.close();
    }
  });

  test('reads are bucketed by verified key, all unsigned readers together: a claimed source neither escapes the limit nor spends another reader\'s', async () => {
    const site = await gatewaySite('gw-read-rate', { readRate: { perSecond: 1, burst: 2 } });
    try {
      const acme = loadedKey('acme');
      await site.identity.admin.add(acme);
      const codes: string[] = [];
      // A new name each time: before, each name had its own bucket and every read passed.
      for (let i = 0; i < 4; i++) {
        const r = await ask(site.s.bus, 'caco.gw.gw.read', { fromPosition: 0, limit: 1, source: `reader-${i}` });
        codes.push(r.ok ? 'ok' : r.error!.code);
      }
      assert.deepEqual(codes, ['ok', 'ok', 'rate-limited', 'rate-limited']);
      // Reads are requests: the refusal counts them as such (it said "commands").
      const over = await ask(site.s.bus, 'caco.gw.gw.read', { fromPosition: 0, limit: 1 });
      assert.match(over.error!.reason, /^rate limit: unsigned readers may send 1 requests a second \(burst 2\); retry in \d+ ms$/);
      // Claiming acme's name spends the unsigned bucket, not acme's: acme's signed reads still pass.
      const claimed = await ask(site.s.bus, 'caco.gw.gw.read', { fromPosition: 0, limit: 1, source: 'acme' });
      assert.equal(claimed.error?.code, 'rate-limited');
      for (let i = 0; i < 2; i++) {
        const r = await ask(site.s.bus, 'caco.gw.gw.read', signWithKey({ fromPosition: 0, limit: 1 }, acme));
        assert.equal(r.ok, true, JSON.stringify(r));
      }
      const third = await ask(site.s.bus, 'caco.gw.gw.read', signWithKey({ fromPosition: 0, limit: 1 }, acme));
      assert.equal(third.error?.code, 'rate-limited');
      assert.match(third.error!.reason, /key "/);
    } finally {
      await site.close();
    }
  });

  test("a signed read or query may carry a command's binding, checked as a command's: another site's or an expired one is refused", async () => {
    // A helper's review: a signed read could not name its site or expiry (refused bad-request as
    // unknown fields), so a captured one was good at any site sharing the key, for ever.
    const site = await gatewaySite('gw-read-bound', { site: 'london', queries: { plan: { description: 'a job plan', request: Schema.Struct({ jobId: Schema.String }), answer: (r) => ({ jobId: (r as { jobId: string }).jobId, plan: null }) } } });
    try {
      const acme = loadedKey('acme');
      await site.identity.admin.add(acme);
      const now = site.s.clock.now();
      const later = new Date(now + 60_000).toISOString();
      const read = (extra: Record<string, unknown>) => ask(site.s.bus, 'caco.london.gw.read', signWithKey({ fromPosition: 0, limit: 1, ...extra }, acme));
      const bound = await read({ site: 'london', expiresAt: later });
      assert.equal(bound.ok, true, JSON.stringify(bound));
      const elsewhere = await read({ site: 'paris', expiresAt: later });
      assert.deepEqual([elsewhere.error?.code, elsewhere.error?.field], ['wrong-site', 'site']);
      const expired = await read({ site: 'london', expiresAt: new Date(now - 1).toISOString() });
      assert.deepEqual([expired.error?.code, expired.error?.field], ['expired', 'expiresAt']);
      // Not required of reads: one signed without it still reads.
      assert.equal((await read({})).ok, true);
      // The forms of an append's: a time without Z was read in the host's time zone (a helper's review).
      for (const expiresAt of [later.replace('Z', ''), later.replace('Z', '+00:00')]) {
        const loose = await read({ site: 'london', expiresAt });
        assert.deepEqual([loose.error?.code, loose.error?.field], ['bad-request', 'expiresAt'], expiresAt);
      }
      const far = await read({ site: 'london', expiresAt: new Date(now + 48 * 3_600_000).toISOString() });
      assert.deepEqual([far.error?.code, far.error?.field], ['unbound', 'expiresAt']);
      // A query the same way.
      const q = await ask(site.s.bus, 'caco.london.q.plan', signWithKey({ jobId: 'j1', site: 'paris' }, acme));
      assert.equal(q.error?.code, 'wrong-site', JSON.stringify(q));
      const ok = await ask(site.s.bus, 'caco.london.q.plan', signWithKey({ jobId: 'j1', site: 'london', expiresAt: later }, acme));
      assert.equal(ok.ok, true, JSON.stringify(ok));
    } finally {
      await site.close();
    }
  });

  test('signed requests are rate-limited per key', async () => {
    const site = await gatewaySite('gw-rate', { rate: { perSecond: 1, burst: 2 } });
    try {
      const acme = loadedKey('acme');
      await site.identity.admin.add(acme);
      const codes: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey(announcement(), acme));
        codes.push(r.ok ? 'ok' : r.error!.code);
      }
      assert.deepEqual(codes, ['ok', 'ok', 'rate-limited', 'rate-limited']);
      const over = await ask(site.s.bus, 'caco.gw.gw.announce', signWithKey(announcement(), acme));
      assert.match(over.error!.reason, /^rate limit: key "[^"]+" may send 1 requests a second \(burst 2\)/);
    } finally {
      await site.close();
    }
  });
});
