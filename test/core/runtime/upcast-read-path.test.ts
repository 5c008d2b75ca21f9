import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Schema } from 'effect';
import { embeddedStack } from '../../support/embedded.ts';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { defineAgent } from '../../../core/runtime/agent.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';
import { verifyLedger } from '../../../core/ledger/verify.ts';
import { MessageRegistry, UpcasterRegistryError, Upcasters, defineEvent, defineUpcaster } from '../../../schemas/index.ts';

/**
 * Upcasting on the read path: an event stored at v1 reaches every agent at v2 — from the store
 * (lockstep cursor, live subscription, restore) and from the bus (the relay) — while the ledger,
 * the relay and `caco audit verify` keep the v1 bytes its hash and signature are of.
 */

const V1 = defineEvent('test.load.measured', 1, 'v1', Schema.Struct({ kw: Schema.Finite }));
const V2 = defineEvent('test.load.measured', 2, 'v2: the unit in the name', Schema.Struct({ powerKw: Schema.Finite }));
const registry = new MessageRegistry([V1, V2]);
const upcasters = Upcasters.check(registry, [defineUpcaster(V1, V2, (d) => ({ powerKw: d.kw }))]);

let n = 0;
const ev = (version: number, data: unknown): NewEvent => ({ id: `u-${++n}`, type: 'test.load.measured', version, time: '2023-07-03T00:00:00.000Z', source: 'meter', correlationId: 'c', causationId: null, data });

for (const delivery of ['lockstep', 'independent'] as const) {
  test(`${delivery}: v1 events reach store-fed and bus-fed agents at v2; the ledger and the relay keep v1`, async () => {
    const s = embeddedStack(`upcast-${delivery}`);
    const relayed: Array<{ version: number; data: unknown }> = [];
    await s.bus.subscribe('caco.t.evt.>', (m) => {
      const e = JSON.parse(Buffer.from(m.data).toString()) as { version: number; data: unknown };
      relayed.push({ version: e.version, data: e.data });
    });
    const evolved: Array<{ version: number; data: unknown }> = [];
    const decided: Array<{ version: number; data: unknown }> = [];
    const heard: Array<{ version: number; data: unknown }> = [];
    const fromStore = defineAgent<null>({
      name: 'store-fed',
      version: '1',
      categories: ['load'],
      subscriptions: ['test.load.measured'],
      initialState: () => null,
      evolve: (st, e) => (evolved.push({ version: e.version, data: e.data }), st),
      decide: (input) => {
        if (input.kind === 'event' && input.event.type === 'test.load.measured') decided.push({ version: input.event.version, data: input.event.data });
        return [];
      },
    });
    const fromBus = defineAgent<null>({
      name: 'bus-fed',
      version: '1',
      categories: [],
      subscriptions: ['test.load.measured'],
      initialState: () => null,
      evolve: (st) => st,
      decide: (input) => {
        if (input.kind === 'event') heard.push({ version: input.event.version, data: input.event.data });
        return [];
      },
    });
    // One v1 event before the runtime starts (restore), then one of each version while it runs.
    await s.store.append('load-1', [ev(1, { kw: 1 })], 'any');
    const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry, upcasters, delivery });
    rt.add(fromStore);
    rt.add(fromBus, { input: 'bus' });
    await rt.start();
    await s.store.append('load-1', [ev(1, { kw: 2 })], 'any');
    await s.store.append('load-2', [ev(2, { powerKw: 3 })], 'any');
    await rt.settle();
    await s.bus.flush();

    assert.deepEqual(evolved, [1, 2, 3].map((k) => ({ version: 2, data: { powerKw: k } })));
    // A new agent (no checkpoint) decides on the ledger from its start: the first event too.
    assert.deepEqual(decided, [1, 2, 3].map((k) => ({ version: 2, data: { powerKw: k } })));
    // From the bus: what the relay published after the agent subscribed (verified as relayed, then upgraded).
    assert.deepEqual(
      heard.sort((a, b) => (a.data as { powerKw: number }).powerKw - (b.data as { powerKw: number }).powerKw).filter((x) => (x.data as { powerKw: number }).powerKw > 1),
      [2, 3].map((k) => ({ version: 2, data: { powerKw: k } })),
    );
    assert.ok(heard.every((x) => x.version === 2 && 'powerKw' in (x.data as object)));
    // The relay publishes what the ledger holds (its subscribers check hash and signature).
    assert.deepEqual(relayed, [
      { version: 1, data: { kw: 1 } },
      { version: 1, data: { kw: 2 } },
      { version: 2, data: { powerKw: 3 } },
    ]);
    const stored: Array<{ version: number; data: unknown }> = [];
    for await (const e of s.store.readAll()) stored.push({ version: e.version, data: e.data });
    assert.deepEqual(stored, relayed);
    assert.equal((await verifyLedger(s.store, s.keyring)).ok, true);
    assert.equal(rt.readerHealth().quarantine.refused, 0);
    await rt.stop();
    await s.close();
  });
}

test('a runtime whose registry has a type at two versions and no upcaster between them does not start', async () => {
  const s = embeddedStack('upcast-missing');
  assert.throws(
    () => new Runtime({ ...s, site: 't', checkpoints: s.store, registry, delivery: 'lockstep' }),
    (err: unknown) => err instanceof UpcasterRegistryError && /"test\.load\.measured": no upcaster from v1 to v2/.test(err.message),
  );
  await s.close();
});

test('a failing upcaster stops the reader with an UpcastError naming type, versions and field, never bad data', async () => {
  const s = embeddedStack('upcast-bad');
  const bad = Upcasters.check(registry, [{ type: 'test.load.measured', fromVersion: 1, toVersion: 2, up: (d) => ({ powerkw: (d as { kw: number }).kw }) }]);
  await s.store.append('load-1', [ev(1, { kw: 1 })], 'any');
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry, upcasters: bad, delivery: 'lockstep', relay: false });
  const seen: unknown[] = [];
  rt.add(defineAgent<null>({ name: 'reader', version: '1', categories: ['load'], initialState: () => null, evolve: (st, e) => (seen.push(e.data), st), decide: () => [] }));
  await assert.rejects(rt.start(), /"test\.load\.measured" v1 → v2 returned data the v2 schema refuses: .*data\.powerKw: Missing key/);
  assert.deepEqual(seen, []);
  await rt.stop().catch(() => undefined);
  await s.close();
});
