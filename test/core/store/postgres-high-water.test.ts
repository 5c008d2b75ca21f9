// test-file-timeout: 120
/**
 * Rows removed from the top of the PostgreSQL table (deleted by hand, or a restore of an older
 * backup) gave their positions out again: the next position was MAX(position) + 1, so new events
 * landed at or below where readers already were, and a subscription past them never read them,
 * with no word (a helper's review found it; SQLite's AUTOINCREMENT never reuses a position). Now
 * the highest position given out is kept in its own table, written with every commit.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresEventStore } from '../../../core/store/postgres-store.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { postgresSkip, postgresUrl } from '../../support/postgres.ts';
import { ev, withStore } from './postgres-hostile-rows.ts';

// Before the first describe: node:test runs only what is declared before the module's first await.
const skip = await postgresSkip();

describe('PostgresEventStore: positions are never given out twice', { skip, timeout: 120_000 }, () => {
  test('after the top rows are deleted, the next append takes a position past them, and a subscription that had read them gets it', async () => {
    await withStore('hw', async (store, keyring, schema) => {
      for (let i = 1; i <= 5; i++) await store.append(`s-${i}`, [ev(i)], 'any');
      const got: Envelope[] = [];
      const sub = await store.subscribeAll((e) => void got.push(e));
      try {
        await sub.caughtUp();
        assert.equal(got.at(-1)!.position, 5);
        await store.unsafeExec(`DELETE FROM ${schema}.events WHERE position >= 4`);
        // Another writer process, which never saw positions 4 and 5.
        const other = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring, pollMs: 50 });
        try {
          const r = await other.append('s-9', [ev(9)], 'any');
          assert.equal(r.position, 6, 'not 4: positions 4 and 5 were given out before');
        } finally {
          await other.close();
        }
        const deadline = Date.now() + 10_000;
        while (!got.some((e) => e.stream === 's-9') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(got.some((e) => e.stream === 's-9'), `the subscription at position 5 gets the new event (got ${got.map((e) => e.position).join(', ')})`);
      } finally {
        await sub.close();
      }
    });
  });

  test('a high_water planted past 2^53 - 1 refuses appends naming it and how to set it back; nothing is written', async () => {
    await withStore('hx', async (store, _keyring, schema) => {
      await store.append('s-1', [ev(1)], 'any');
      await store.unsafeExec(`UPDATE ${schema}.high_water SET position = 9223372036854775807`);
      const err = await store.append('s-1', [ev(2)], 'any').then(() => undefined, (e: Error) => e);
      assert.ok(err, 'refused');
      assert.match(err.message, /9223372036854775807/);
      assert.match(err.message, new RegExp(`${schema}\\.high_water`));
      assert.doesNotMatch(err.message, /out of range/);
      await store.unsafeExec(`UPDATE ${schema}.high_water SET position = 1`);
      assert.equal((await store.append('s-1', [ev(3)], 'any')).position, 2);
    });
  });
});
