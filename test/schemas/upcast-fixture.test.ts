import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import { MemoryKeyring, publicKeyFromRaw } from '../../core/ledger/keyring.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { storedEnvelope, verifiedView } from '../../core/store/verified-store.ts';
import { silentLogger } from '../../core/log/logger.ts';
import { MemoryBus } from '../../core/bus/memory-bus.ts';
import { SimulatedClock } from '../../core/clock/simulated-clock.ts';
import { SeededRandom, Uuid7Ids } from '../../core/ids/ids.ts';
import { Runtime } from '../../core/runtime/runtime.ts';
import { defineAgent } from '../../core/runtime/agent.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { replayLedger } from '../../cli/replay.ts';
import { evolveGridOperator, INITIAL_GRID_OPERATOR_STATE } from '../../agents/grid-operator/index.ts';
import { cacoRegistry } from '../../schemas/index.ts';

/**
 * A ledger written by the release before `market.purchase.searched` v2 (test/fixtures/ledger-v1,
 * its README says how), read by this one: it verifies as written, its v1 events reach agents
 * and projections at v2, and the projections hold what that release computed.
 */

const FIXTURE = join(import.meta.dirname, '../fixtures/ledger-v1');
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as { audit: { ok: boolean; events: number; streams: number; headHash: string }; replay: Record<string, unknown> };
const SEARCHED = 'market.purchase.searched';

let dir: string;
let keyring: MemoryKeyring;
let store: SqliteEventStore;
/** The fixture's market.purchase.searched events as stored (v1). */
let storedSearches: Envelope[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'caco-upcast-fixture-'));
  writeFileSync(join(dir, 'ledger.db'), gunzipSync(readFileSync(join(FIXTURE, 'ledger.db.gz'))));
  // Public keys only: nothing here can sign, so nothing can be re-sealed.
  keyring = new MemoryKeyring();
  for (const [name, b64] of Object.entries((JSON.parse(readFileSync(join(FIXTURE, 'keys.json'), 'utf8')) as { keys: Record<string, string> }).keys)) keyring.addPublic(name, publicKeyFromRaw(Buffer.from(b64, 'base64')));
  store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring, pollMs: 20 });
  storedSearches = [];
  for await (const e of store.readAll()) if (e.type === SEARCHED) storedSearches.push(e);
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the old ledger verifies exactly as written: hash chain and signatures of the stored v1 bytes', async () => {
  assert.equal(storedSearches.length, 38);
  assert.ok(storedSearches.every((e) => e.version === 1 && 'peak' in (e.data as object)));
  const audit = await verifyLedger(store, keyring);
  assert.equal(audit.ok, true, JSON.stringify(audit.firstBroken));
  assert.deepEqual({ ok: audit.ok, events: audit.events, streams: audit.streams, headHash: audit.headHash }, expected.audit);
});

test('a verified read hands on the v1 events at v2, their peak in the field of its unit; the stored event is kept beside', async () => {
  const registry = cacoRegistry();
  const view = verifiedView(store, keyring, silentLogger());
  const read: Envelope[] = [];
  for await (const e of view.readAll()) if (e.type === SEARCHED) read.push(e);
  assert.equal(read.length, storedSearches.length);
  assert.equal((await view.quarantined()).length, 0);
  for (const [i, e] of read.entries()) {
    const was = storedSearches[i]!;
    const v1 = was.data as { kind: string; peak: number };
    assert.equal(e.version, 2);
    assert.ok(registry.decode(SEARCHED, 2, e.data).ok);
    const d = e.data as { kind: string; peakCarbonGPerKwh: number | null; peakPriceGbpPerMwh: number | null };
    assert.equal(d.kind === 'carbon-peak' ? d.peakCarbonGPerKwh : d.peakPriceGbpPerMwh, v1.peak);
    assert.equal(d.kind === 'carbon-peak' ? d.peakPriceGbpPerMwh : d.peakCarbonGPerKwh, null);
    assert.ok(!('peak' in d));
    // Its ledger fields are the stored event's, and the stored event is there to publish or check.
    assert.deepEqual([e.id, e.hash, e.sig, e.prevHash, e.position], [was.id, was.hash, was.sig, was.prevHash, was.position]);
    assert.deepEqual(storedEnvelope(e), was);
  }
});

test('every projection holds what the release that wrote the ledger computed', async () => {
  const { ms: _ms, ...summary } = await replayLedger(verifiedView(store, keyring, silentLogger()));
  // The projections read every event of the old ledger (none skipped as a version or shape they
  // cannot read); the rest is what the old release computed, recorded before that count existed.
  const { projections, ...audit } = summary.audit;
  assert.deepEqual(projections, { complete: true, failed: 0, failedFirst: [], skipped: 0, skippedByType: {}, skippedFirst: [] });
  assert.deepEqual(JSON.parse(JSON.stringify({ ...summary, audit })), expected.replay);
});

test("agents restore from the old ledger through the runtime: evolve sees only v2, and the grid operator's state holds the v1 peaks", async () => {
  const clock = new SimulatedClock(Date.parse('2023-07-04T13:00:00Z'));
  const bus = new MemoryBus();
  const seen: Array<{ version: number; data: unknown }> = [];
  const spy = defineAgent<null>({
    name: 'upcast-spy',
    version: '1',
    categories: ['purchase'],
    initialState: () => null,
    evolve: (s, e) => {
      if (e.type === SEARCHED) seen.push({ version: e.version, data: e.data });
      return s;
    },
    decide: () => [],
  });
  const grid = defineAgent({
    name: 'grid-operator-replay',
    version: '1',
    categories: ['purchase'],
    initialState: () => INITIAL_GRID_OPERATOR_STATE,
    evolve: evolveGridOperator,
    decide: () => [],
  });
  const rt = new Runtime({ site: 'london', store, checkpoints: store, bus, clock, ids: new Uuid7Ids(clock, new SeededRandom('fixture')), registry: cacoRegistry(), keyring, log: silentLogger(), delivery: 'lockstep', relay: false });
  rt.add(spy);
  const host = rt.add(grid);
  await rt.start();
  try {
    assert.equal(seen.length, 38);
    assert.ok(seen.every((x) => x.version === 2));
    const purchases = [...host.state.purchases.values()];
    const peaks = new Map(storedSearches.map((e) => [(e.data as { purchaseId: string }).purchaseId, (e.data as { peak: number }).peak]));
    assert.equal(purchases.length, peaks.size);
    for (const p of purchases) assert.equal(p.peak, peaks.get(p.purchaseId), p.purchaseId);
  } finally {
    await rt.stop();
    await bus.close();
  }
});
