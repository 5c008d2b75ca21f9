// test-file-timeout: 120
/**
 * Found by a helper's review: readers fetched a row's data whatever its size. A row of 600 MB
 * (built on the server with repeat(), a few KB on disk) cannot become a JavaScript string: the
 * driver threw in its socket handler and every reader's process ended (relay, agents, audit),
 * again on every restart. Data over MAX_READ_DATA_BYTES is now left in the table and the row
 * reported unreadable, naming its size; reading goes on past it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_READ_CELL_BYTES, MAX_READ_DATA_BYTES } from '../../../core/store/sql-rows.ts';
import type { UnreadableRecord } from '../../../core/store/event-store.ts';
import { postgresSkip } from '../../support/postgres.ts';
import { ev, withStore } from './postgres-hostile-rows.ts';

const skip = await postgresSkip();

describe('PostgresEventStore: a row whose data is larger than a reader takes', { skip, timeout: 110_000 }, () => {
  test('is reported unreadable with its size, not fetched; the events after it are read, by readAll and readStream', async () => {
    await withStore('ov', async (store, _keyring, schema) => {
      await store.append('s-1', [ev(1)], 'any');
      const over = MAX_READ_DATA_BYTES + 1024;
      await store.unsafeExec(
        `INSERT INTO ${schema}.events (position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig, covers)
         SELECT 2, 'evil', 's-2', 0, 'test.thing.happened', 1, '2024-01-01T00:00:00.000Z', 'agent', 'c', NULL, '"' || repeat('x', $1::int - 2) || '"', $2, $2, 'x', NULL`,
        over, '0'.repeat(64),
      );
      await store.unsafeExec(`UPDATE ${schema}.high_water SET position = 2`);
      await store.append('s-3', [ev(3)], 'any');
      const seen: UnreadableRecord[] = [];
      const read: number[] = [];
      for await (const e of store.readAll({ onUnreadable: (u) => void seen.push(u) })) read.push(e.position);
      assert.deepEqual(read, [1, 3]);
      assert.deepEqual(seen.map((u) => u.position), [2]);
      assert.match(seen[0]!.reason, new RegExp(`row data is ${over} bytes, more than the ${MAX_READ_DATA_BYTES} a reader takes`));
      const inStream: UnreadableRecord[] = [];
      for await (const e of store.readStream('s-2', 0, { onUnreadable: (u) => void inStream.push(u) })) assert.fail(`read ${e.id}`);
      assert.deepEqual(inStream.map((u) => u.position), [2]);
    });
  });
  test('any other column over its bound is reported the same way, naming the column (a review of the first fix: a 600 MB sig crashed every reader)', async () => {
    await withStore('ovs', async (store, _keyring, schema) => {
      await store.append('s-1', [ev(1)], 'any');
      await store.unsafeExec(
        `INSERT INTO ${schema}.events (position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig, covers)
         SELECT 2, 'evil', 's-2', 0, 'test.thing.happened', 1, '2024-01-01T00:00:00.000Z', 'agent', 'c', NULL, '{}', $1, $1, repeat('A', $2::int), NULL`,
        '0'.repeat(64), MAX_READ_CELL_BYTES + 1,
      );
      await store.unsafeExec(`UPDATE ${schema}.high_water SET position = 2`);
      const seen: UnreadableRecord[] = [];
      const read: number[] = [];
      for await (const e of store.readAll({ onUnreadable: (u) => void seen.push(u) })) read.push(e.position);
      assert.deepEqual(read, [1]);
      assert.match(seen[0]!.reason, new RegExp(`row sig is ${MAX_READ_CELL_BYTES + 1} bytes, more than the ${MAX_READ_CELL_BYTES} a reader takes`));
    });
  });

  test('a page is bounded by all its text, not its data alone: rows of ten wide columns come in several pages, and all are read', async () => {
    // Before: the page's byte sum counted data only, so 1,000 rows with ten 64 KiB columns each
    // (12 MB on disk) made one 650 MB page; seven readers at once ended the process (a helper's review).
    await withStore('ovw', async (store, _keyring, schema) => {
      const wide = (tag: string) => `'${tag}' || g || repeat('x', 60000)`;
      await store.unsafeExec(
        `INSERT INTO ${schema}.events (position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig, covers)
         SELECT g, ${wide('i')}, ${wide('s')}, 0, ${wide('t')}, 1, ${wide('m')}, ${wide('a')}, ${wide('c')}, ${wide('k')}, '{}', ${wide('p')}, ${wide('h')}, ${wide('z')}, NULL FROM generate_series(1, 300) g`,
      );
      await store.unsafeExec(`UPDATE ${schema}.high_water SET position = 300`);
      const page = await store.readPage(0, 1000);
      // 64 MiB of text a page, at ~600 kB a row.
      assert.ok(page.length > 1 && page.length <= 115, `${page.length} rows in one page`);
      const positions: number[] = [];
      for await (const e of store.readAll({ onUnreadable: (u) => void positions.push(u.position) })) positions.push(e.position);
      assert.deepEqual(positions, Array.from({ length: 300 }, (_, i) => i + 1), 'every row, page after page (verify-on-read judges them above the store)');
    });
  });

  test('a stream read is bounded in bytes per page too, and reads on past a page cut by its bytes', async () => {
    await withStore('ovp', async (store, _keyring, schema) => {
      // Seven rows of 12 MiB in one stream: a page stops after 64 MiB, so they come in two pages.
      await store.unsafeExec(
        `INSERT INTO ${schema}.events (position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig, covers)
         SELECT g, 'big-' || g, 's-big', g - 1, 'test.thing.happened', 1, '2024-01-01T00:00:00.000Z', 'agent', 'c', NULL, '"' || repeat('x', 12 * 1024 * 1024) || '"', $1, $1, 'x', NULL FROM generate_series(1, 7) g`,
        '0'.repeat(64),
      );
      await store.unsafeExec(`UPDATE ${schema}.high_water SET position = 7`);
      const revisions: number[] = [];
      for await (const e of store.readStream('s-big', 0, { onUnreadable: () => undefined })) revisions.push(e.revision);
      assert.deepEqual(revisions, [0, 1, 2, 3, 4, 5, 6]);
      const positions: number[] = [];
      for await (const e of store.readAll({ onUnreadable: () => undefined })) positions.push(e.position);
      assert.deepEqual(positions, [1, 2, 3, 4, 5, 6, 7]);
    });
  });
});
