import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Arbitrary, Effect, Schema } from 'effect';
import {
  ALL_MESSAGES,
  ALL_UPCASTERS,
  MessageRegistry,
  PurchaseSearched,
  PurchaseSearchedV2,
  UpcastError,
  UpcasterRegistryError,
  Upcasters,
  cacoRegistry,
  cacoUpcasters,
  defineEvent,
  defineUpcaster,
  type Upcaster,
} from '../../schemas/index.ts';

/** A made-up type at three versions: v1 `{ kw }`, v2 `{ powerKw }`, v3 `{ powerKw, site }`. */
const V1 = defineEvent('test.load.measured', 1, 'v1', Schema.Struct({ kw: Schema.Finite }));
const V2 = defineEvent('test.load.measured', 2, 'v2', Schema.Struct({ powerKw: Schema.Finite }));
const V3 = defineEvent('test.load.measured', 3, 'v3', Schema.Struct({ powerKw: Schema.Finite, site: Schema.String }));
const up12 = defineUpcaster(V1, V2, (d) => ({ powerKw: d.kw }));
const up23 = defineUpcaster(V2, V3, (d) => ({ ...d, site: 'london' }));

const problemsOf = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof UpcasterRegistryError, `expected an UpcasterRegistryError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected the check to throw');
};

test('a chain of two: v1 is read at v3 through v2, v2 at v3, v3 as it is', () => {
  const u = Upcasters.check(new MessageRegistry([V1, V2, V3]), [up23, up12]);
  assert.deepEqual(u.upcast('test.load.measured', 1, { kw: 5 }), { version: 3, data: { powerKw: 5, site: 'london' } });
  assert.deepEqual(u.upcast('test.load.measured', 2, { powerKw: 7 }), { version: 3, data: { powerKw: 7, site: 'london' } });
  const latest = { powerKw: 1, site: 'x' };
  assert.equal(u.upcast('test.load.measured', 3, latest).data, latest);
  // An envelope: a copy with version and data upgraded, hash and sig those of the stored event.
  const stored = { type: 'test.load.measured', version: 1, data: { kw: 2 }, hash: 'h', sig: 's' };
  const read = u.upcastEnvelope(stored);
  assert.deepEqual(read, { type: 'test.load.measured', version: 3, data: { powerKw: 2, site: 'london' }, hash: 'h', sig: 's' });
  assert.deepEqual(stored.data, { kw: 2 }, 'the stored event is not changed');
  const current = { ...stored, version: 3, data: latest };
  assert.equal(u.upcastEnvelope(current), current, 'an event at the latest version is handed on as it is');
  // Types without upcasters pass through.
  const other = { type: 'test.other.seen', version: 1, data: {} };
  assert.equal(u.upcastEnvelope(other), other);
});

test('start-up check: a missing upcaster is an error naming the type and both versions', () => {
  const msg = problemsOf(() => Upcasters.check(new MessageRegistry([V1, V2, V3]), [up12]));
  assert.match(msg, /"test\.load\.measured": no upcaster from v2 to v3/);
  const none = problemsOf(() => Upcasters.check(new MessageRegistry([V1, V2]), []));
  assert.match(none, /"test\.load\.measured": no upcaster from v1 to v2/);
});

test('start-up check: an upcaster to or from a version that is not registered, a gap, a step twice', () => {
  assert.match(problemsOf(() => Upcasters.check(new MessageRegistry([V1, V3]), [up12, up23])), /v2 of "test\.load\.measured" is not registered/);
  assert.match(problemsOf(() => Upcasters.check(new MessageRegistry([V1, V3]), [])), /"test\.load\.measured": v2 is not registered, between v1 and v3/);
  assert.match(problemsOf(() => Upcasters.check(new MessageRegistry([V1]), [up12])), /"test\.load\.measured" v1 → v2: v2 of "test\.load\.measured" is not registered/);
  assert.match(problemsOf(() => Upcasters.check(new MessageRegistry([V1, V2]), [up12, up12])), /two upcasters for the same step/);
  const skip: Upcaster = { type: 'test.load.measured', fromVersion: 1, toVersion: 3, up: (d) => d };
  assert.match(problemsOf(() => Upcasters.check(new MessageRegistry([V1, V2, V3]), [skip, up23])), /v1 → v3: an upcaster goes from a version to the next one/);
  // defineUpcaster refuses the same mistakes when it is written.
  assert.throws(() => defineUpcaster(V1, V3, () => ({ powerKw: 1, site: 's' })), /goes from a version to the next/);
  assert.throws(() => defineUpcaster(V1, PurchaseSearchedV2, () => ({}) as never), /one version of a type to the next/);
});

test('a bad upcaster is an UpcastError naming the type, the versions and the field, never bad data', () => {
  const registry = new MessageRegistry([V1, V2, V3]);
  // Misnames a field: the v2 schema refuses the excess one and misses the right one.
  const misnamed = Upcasters.check(registry, [{ ...up12, up: (d) => ({ powerkw: (d as { kw: number }).kw }) }, up23]);
  assert.throws(
    () => misnamed.upcast('test.load.measured', 1, { kw: 5 }),
    (err: unknown) => {
      assert.ok(err instanceof UpcastError);
      assert.equal(err.type, 'test.load.measured');
      assert.equal(err.fromVersion, 1);
      assert.equal(err.toVersion, 2);
      assert.ok(err.problems.some((p) => p.path === 'data.powerKw'), JSON.stringify(err.problems));
      assert.match(err.message, /"test\.load\.measured" v1 → v2 returned data the v2 schema refuses: .*data\.powerKw/);
      return true;
    },
  );
  // A bad value in the second step of the chain: the error is that step's.
  const badSecond = Upcasters.check(registry, [up12, { ...up23, up: (d) => ({ ...(d as object), site: 42 }) }]);
  assert.throws(() => badSecond.upcast('test.load.measured', 1, { kw: 5 }), (err: unknown) => err instanceof UpcastError && err.fromVersion === 2 && err.toVersion === 3 && /data\.site/.test(err.message));
  // An upcaster that throws.
  const throws = Upcasters.check(registry, [{ ...up12, up: () => { throw new Error('boom'); } }, up23]);
  assert.throws(() => throws.upcastEnvelope({ type: 'test.load.measured', version: 1, data: { kw: 1 } }), /"test\.load\.measured" v1 → v2 threw: boom/);
});

test("CACO's upcasters fit CACO's registry: every event type at several versions has one for each step", () => {
  const registry = cacoRegistry();
  const u = cacoUpcasters(registry);
  const multi = [...new Set(ALL_MESSAGES.filter((d) => d.kind === 'event' && d.version > 1).map((d) => d.type))].sort();
  assert.deepEqual([...new Set(ALL_UPCASTERS.map((x) => x.type))].sort(), multi);
  for (const type of multi) assert.equal(u.isOld(type, 1), true, type);
  assert.equal(u.isOld('market.purchase.searched', 2), false);
  assert.equal(registry.latestVersion('market.purchase.searched'), 2);
});

test('property: every CACO upcaster turns any valid data of its version into valid data of the latest one', () => {
  const registry = cacoRegistry();
  const u = cacoUpcasters(registry);
  for (const x of ALL_UPCASTERS) {
    const from = registry.get(x.type, x.fromVersion)!;
    const arb = Arbitrary.schema(from.data);
    const samples = Effect.runSync(Arbitrary.sampleEffect(arb, { count: 60, seed: `upcast:${x.type}@${x.fromVersion}`, maxDiscards: 5000 })).map((s) => JSON.parse(JSON.stringify(s)) as unknown);
    // market.purchase.searched v1 allowed any kind; only the two kinds there are have a unit to move to.
    const valid = x.type === 'market.purchase.searched' ? samples.map((s) => ({ ...(s as object), kind: (s as { peak: number }).peak >= 0 ? 'price-peak' : 'carbon-peak' })) : samples;
    for (const s of valid) {
      const out = u.upcast(x.type, x.fromVersion, s);
      assert.equal(out.version, registry.latestVersion(x.type));
      assert.ok(registry.decode(x.type, out.version, out.data).ok, `${x.type} v${x.fromVersion}: ${JSON.stringify(s)}`);
    }
  }
});

test('property: market.purchase.searched v1 → v2 moves the peak to the field of its unit and keeps every other field', () => {
  const u = cacoUpcasters();
  const iso = fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') }).map((ms) => new Date(ms).toISOString());
  const id = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
  fc.assert(
    fc.property(
      fc.record({ purchaseId: id, stressId: id, kind: fc.constantFrom('carbon-peak', 'price-peak'), windowStart: iso, windowEnd: iso, peak: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), wantKw: fc.integer({ min: 1, max: 1e6 }), transactionId: id, messageId: id, bppUri: fc.constant('http://bpp.example/beckn') }),
      (v1) => {
        fc.pre(PurchaseSearched.data && Schema.is(PurchaseSearched.data)(v1));
        const { version, data } = u.upcast('market.purchase.searched', 1, v1);
        const { peak, ...rest } = v1;
        const d = data as Record<string, unknown>;
        assert.equal(version, 2);
        assert.deepEqual(d, { ...rest, peakCarbonGPerKwh: v1.kind === 'carbon-peak' ? peak : null, peakPriceGbpPerMwh: v1.kind === 'price-peak' ? peak : null });
      },
    ),
    { numRuns: 200 },
  );
  // A kind with no unit is refused, not guessed.
  const odd = { purchaseId: 'p', stressId: 's', kind: 'frequency-dip', windowStart: '2023-07-03T18:00:00.000Z', windowEnd: '2023-07-03T19:00:00.000Z', peak: 1, wantKw: 10, transactionId: 't', messageId: 'm', bppUri: 'http://bpp' };
  assert.throws(() => u.upcast('market.purchase.searched', 1, odd), (err: unknown) => err instanceof UpcastError && /data\.kind/.test(err.message));
});
