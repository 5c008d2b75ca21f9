// test-file-timeout: 300
/**
 * Several writer processes on one PostgreSQL ledger: positions stay total and gapless, every
 * stream chains, optimistic concurrency holds across processes, and a subscriber in another
 * process sees every event once, in order, woken by NOTIFY.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { PostgresEventStore } from '../../core/store/postgres-store.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { assertChains } from './store-contract.ts';
import { postgresSkip, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const WRITER = fileURLToPath(new URL('./fixtures/postgres-writer.fixture.ts', import.meta.url));
const BURST = fileURLToPath(new URL('./fixtures/postgres-burst.fixture.ts', import.meta.url));
const children = new Set<ReturnType<typeof spawn>>();

/** Run a fixture in its own Node process; resolves with its one JSON line. */
function runChild<T>(script: string, args: string[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      children.delete(child);
      if (code !== 0) reject(new Error(`${script} exited ${code}: ${err.slice(-2000)}`));
      else {
        try {
          resolve(JSON.parse(out.trim().split('\n').at(-1)!) as T);
        } catch (e) {
          reject(new Error(`${script} printed no result: ${out.slice(-500)} ${err.slice(-1000)} (${String(e)})`));
        }
      }
    });
  });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The parent knows the writers' keys: they are derived from the same test seed. */
function writersKeyring(sources: string[]): MemoryKeyring {
  const k = new MemoryKeyring('multi-writer');
  for (const s of sources) k.signingKey(s);
  return k;
}

const skip = await postgresSkip();
describe('PostgreSQL ledger with several writer processes', { ...(skip ? { skip } : {}) }, () => {
  const schemas: string[] = [];
  let admin: PostgresEventStore | undefined;
  before(async () => {
    admin = await PostgresEventStore.open({ connectionString: postgresUrl(), schema: uniqueSchema('mwadmin'), keyring: new MemoryKeyring() });
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const s of schemas) await admin?.unsafeExec(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    await admin?.destroy().catch(() => undefined);
    await admin?.close();
  });

  test('4 processes append at once to shared and own streams: positions 1..n without a gap or duplicate, every chain verifies, conflicts refused and retried', { timeout: 180_000 }, async () => {
    const schema = uniqueSchema('mw');
    schemas.push(schema);
    const rounds = 40;
    const results = await Promise.all([0, 1, 2, 3].map((w) => runChild<{ ids: string[]; conflicts: number }>(WRITER, [postgresUrl(), schema, String(w), String(rounds)])));
    const keyring = writersKeyring([0, 1, 2, 3].map((w) => `writer-${w}`));
    const store = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring });
    try {
      const all = await collect(store.readAll());
      const written = results.flatMap((r) => r.ids);
      // Each round: 2 events to shared-any, 1 to own, 1 to shared-exact.
      assert.equal(written.length, 4 * rounds * 4);
      assert.equal(all.length, written.length, 'every event the writers were told is stored is stored, and nothing else');
      assert.deepEqual(all.map((e) => e.position), all.map((_, i) => i + 1), 'positions are 1..n: total, no gap, no duplicate');
      assert.deepEqual(new Set(all.map((e) => e.id)), new Set(written));
      assert.equal(new Set(all.map((e) => e.id)).size, all.length);
      assertChains(all, keyring);
      assert.equal((await collect(store.readStream('shared-exact'))).length, 4 * rounds, 'every expected-revision append landed exactly once, after its retries');
      for (let w = 0; w < 4; w++) assert.equal((await collect(store.readStream(`own-${w}`))).length, rounds);
      // Each process's batches stay contiguous: a batch of 2 is never split by another writer.
      for (const e of all.filter((x) => x.stream === 'shared-any' && x.revision % 2 === 1)) {
        const prev = all[e.position - 2]!;
        assert.equal(prev.stream, 'shared-any');
        assert.equal(prev.revision, e.revision - 1);
      }
      const audit = await verifyLedger(store, keyring);
      assert.ok(audit.ok, JSON.stringify(audit.firstBroken));
      assert.equal(audit.events, all.length);
      const conflicts = results.reduce((n, r) => n + r.conflicts, 0);
      process.stderr.write(`multi-writer: ${all.length} events from 4 processes, ${conflicts} concurrency conflicts retried\n`);
    } finally {
      await store.close();
    }
  });

  test('a subscriber catches up and stays live while another process appends: every event once, in order, woken by NOTIFY (polling off)', { timeout: 120_000 }, async () => {
    const schema = uniqueSchema('mwsub');
    schemas.push(schema);
    const keyring = writersKeyring(['burst']);
    // A poll of 10 minutes: live events can only arrive because NOTIFY woke the subscription.
    const store = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring, pollMs: 600_000 });
    try {
      const before = await runChild<{ ids: string[] }>(BURST, [postgresUrl(), schema, '30']);
      const got: Envelope[] = [];
      let caughtUpAt = -1;
      const sub = await store.subscribeAll(async (e) => {
        got.push(e);
        if (got.length % 25 === 0) await new Promise((r) => setTimeout(r, 2));
      });
      await sub.caughtUp();
      caughtUpAt = got.length;
      assert.equal(caughtUpAt, 90, 'caught up on what was there');
      const live = runChild<{ ids: string[] }>(BURST, [postgresUrl(), schema, '200']);
      const during = await live;
      const total = before.ids.length + during.ids.length;
      const deadline = Date.now() + 30_000;
      while (got.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await sub.caughtUp();
      await new Promise((r) => setTimeout(r, 100));
      await sub.close();
      const all = await collect(store.readAll());
      assert.equal(all.length, total);
      assert.deepEqual(got.map((e) => e.id), all.map((e) => e.id), 'delivered exactly the log, in order: no gap, no duplicate');
      assert.deepEqual(got.slice(90).map((e) => e.id), during.ids, 'the live part is what the other process wrote, in its order');
      assertChains(all, keyring);
    } finally {
      await store.close();
    }
  });

  test('when the listening connection is killed, the store listens again and a subscriber still gets what another process appends (polling off)', { timeout: 120_000 }, async () => {
    const schema = uniqueSchema('mwrelisten');
    schemas.push(schema);
    const keyring = writersKeyring(['burst']);
    const store = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring, pollMs: 600_000 });
    try {
      const got: Envelope[] = [];
      const sub = await store.subscribeAll((e) => void got.push(e));
      await sub.caughtUp();
      // The server ends the listener's session, as a failover or an idle-session kill would.
      const killed = await admin!.unsafeQuery<{ n: number }>(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query = $1`, [`LISTEN "caco_ledger_${schema}"`]);
      assert.equal(killed[0]!.n, 1, 'the listening session was found and ended');
      await new Promise((r) => setTimeout(r, 200));
      const during = await runChild<{ ids: string[] }>(BURST, [postgresUrl(), schema, '20']);
      const deadline = Date.now() + 20_000;
      while (got.length < during.ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await sub.close();
      assert.deepEqual(got.map((e) => e.id), during.ids, 'every event, once, in order, after the listener came back');
    } finally {
      await store.close();
    }
  });

  test('a burst of 1,300 appends made in one turn is cut into several group commits: all land, positions 1..n, one refused append refuses only itself', { timeout: 60_000 }, async () => {
    const schema = uniqueSchema('mwburst');
    schemas.push(schema);
    const keyring = writersKeyring(['burst']);
    const store = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring });
    try {
      const ev = (k: number) => ({ id: `burst-${schema}-${k}`, type: 'test.thing.happened', version: 1, time: '2024-01-01T00:00:00.000Z', source: 'burst', correlationId: 'b', causationId: null, data: { k } });
      const results = await Promise.allSettled(Array.from({ length: 1300 }, (_, k) => store.append(`b-${k % 7}`, [ev(k)], k === 700 ? 999 : 'any')));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1299);
      assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
      const all = await collect(store.readAll());
      assert.deepEqual(all.map((e) => e.position), all.map((_, i) => i + 1));
      assert.equal(all.length, 1299);
      assertChains(all, keyring);
    } finally {
      await store.close();
    }
  });

  test('when the server ends the writer\'s session, the next append gets a new connection; the ledger stays gapless and chained', { timeout: 60_000 }, async () => {
    const schema = uniqueSchema('mwkill');
    schemas.push(schema);
    const keyring = writersKeyring(['burst']);
    const store = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring });
    try {
      const ev = (k: number) => ({ id: `kill-${schema}-${k}`, type: 'test.thing.happened', version: 1, time: '2024-01-01T00:00:00.000Z', source: 'burst', correlationId: 'b', causationId: null, data: { k } });
      await store.append('k-1', [ev(0), ev(1)], 'no-stream');
      const killed = await admin!.unsafeQuery<{ n: number }>(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query LIKE $1`, [`%INSERT INTO ${schema}.events%`]);
      assert.equal(killed[0]!.n, 1, "the writer's session was found and ended");
      await new Promise((r) => setTimeout(r, 200));
      // The pool drops the dead connection; an append that raced it may fail, a retry may not.
      let r;
      try {
        r = await store.append('k-1', [ev(2)], 1);
      } catch {
        r = await store.append('k-1', [ev(2)], 1);
      }
      assert.equal(r.nextExpected, 2);
      const all = await collect(store.readAll());
      assert.deepEqual(all.map((e) => e.position), [1, 2, 3]);
      assertChains(all, keyring);
    } finally {
      await store.close();
    }
  });
});
