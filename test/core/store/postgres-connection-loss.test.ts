// test-file-timeout: 120
/**
 * Found by a helper's review of the PostgreSQL store:
 *  - a writer whose session ended while it waited for the schema's lock took the whole process
 *    down: pg-pool takes its error listener off a client it hands out, and pg.Client emits
 *    'error' when its socket ends (Unhandled 'error' event). The append must reject instead,
 *    and the next one reconnect;
 *  - opening a store on a ledger already made ran ALTER TABLE, whose exclusive lock queued
 *    behind any long reader (a backup): every reader and writer of the ledger waited with it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { PostgresEventStore } from '../../../core/store/postgres-store.ts';
import { postgresSkip, postgresUrl } from '../../support/postgres.ts';
import { ev, rejection, withStore } from './postgres-hostile-rows.ts';

const skip = await postgresSkip();

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: postgresUrl() });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const until = async (what: string, ok: () => Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('PostgresEventStore and its connections', { skip, timeout: 110_000 }, () => {
  test('a writer whose session is ended while it waits for the lock: the append rejects, the process goes on, the next append is stored', async () => {
    await withStore('cl', async (store, _k, schema) => {
      await store.append('s-1', [ev(1)], 'any');
      const holder = await client();
      const admin = await client();
      try {
        const key = createHash('sha256').update(`caco-ledger:${schema}`).digest().readBigInt64BE(0).toString();
        await holder.query(`SELECT pg_advisory_lock(${key})`);
        const pending = rejection(store.append('s-1', [ev(2)], 0));
        let pid = 0;
        await until('the writer to wait for the lock', async () => {
          const r = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%pg_advisory_xact_lock%' AND query LIKE $1`, [`%${schema}.events%`]);
          pid = r.rows[0]?.pid ?? 0;
          return pid !== 0;
        });
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        const err = await pending;
        assert.match(err.message, /terminat|connection/i, err.message);
        await holder.query(`SELECT pg_advisory_unlock(${key})`);
        const next = await store.append('s-1', [ev(3)], 0);
        assert.equal(next.events[0]!.revision, 1, 'the next append reconnects and is stored');
      } finally {
        await holder.end().catch(() => undefined);
        await admin.end().catch(() => undefined);
      }
    });
  });

  test('opening a store on a ledger already made takes no table lock: a long reader does not stall it or the running store', async () => {
    await withStore('cd', async (store, _keyring, schema) => {
      await store.append('s-1', [ev(1)], 'any');
      const reader = await client();
      let second: PostgresEventStore | undefined;
      try {
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await reader.query(`SELECT count(*) FROM ${schema}.events`);
        // Were the open to queue behind the reader, it would wait for ever: end the reader after 8 s.
        const release = setTimeout(() => void reader.query('ROLLBACK').catch(() => undefined), 8000);
        const t0 = Date.now();
        second = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring: new MemoryKeyring('second'), pollMs: 50 });
        const head = await store.headPosition();
        await store.append('s-1', [ev(2)], 0);
        const took = Date.now() - t0;
        clearTimeout(release);
        assert.equal(head, 1);
        assert.ok(took < 3000, `open, head and append took ${took} ms behind an open reader`);
      } finally {
        await reader.query('ROLLBACK').catch(() => undefined);
        await reader.end().catch(() => undefined);
        await second?.close();
      }
    });
  });
});
