// test-file-timeout: 300
/**
 * Several writer processes on one PostgreSQL ledger: positions stay total and gapless, every
 * stream chains, optimistic concurrency holds across processes, and a subscriber in another
 * process sees every event once, in order, woken by NOTIFY.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { PostgresEventStore } from '../../core/store/postgres-store.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { assertChains } from './store-contract.ts';
import { assertWritersLedger, collect, killChildren, runChild, WRITER, writersKeyring, type WriterResult } from './multi-writer.ts';
import { postgresSkip, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const BURST = fileURLToPath(new URL('./fixtures/postgres-burst.fixture.ts', import.meta.url));

const skip = await postgresSkip();
describe('PostgreSQL ledger with several writer processes', { ...(skip ? { skip } : {}) }, () => {
  const schemas: string[] = [];
  let admin: PostgresEventStore | undefined;
  before(async () => {
    admin = await PostgresEventStore.open({ connectionString: postgresUrl(), schema: uniqueSchema('mwadmin'), keyring: new MemoryKeyring() });
  });
  after(async () => {
    killChildren();
    for (const s of schemas) await admin?.unsafeExec(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    await admin?.destroy().catch(() => undefined);
    await admin?.close();
  });

  test('4 processes append at once to shared and own streams: positions 1..n without a gap or duplicate, every chain verifies, conflicts refused and retried', { timeout: 180_000 }, async () => {
    const schema = uniqueSchema('mw');
    schemas.push(schema);
    const rounds = 40;
    const results = await Promise.all([0, 1, 2, 3].map((w) => runChild<WriterResult>(WRITER, ['postgres', postgresUrl(), schema, String(w), String(rounds)])));
    const store = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring: writersKeyring([0, 1, 2, 3].map((w) => `writer-${w}`)) });
    try {
      const { events, conflicts } = await assertWritersLedger(store, results, 4, rounds);
      process.stderr.write(`multi-writer: ${events} events from 4 processes, ${conflicts} concurrency conflicts retried\n`);
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
