// test-file-timeout: 120
/**
 * Found by a reviewer: the SQLite store read every text cell whole. One row whose data was
 * updated by hand to 600 MB made `caco audit verify` and `caco audit replay` die with "string or
 * blob too big" (no position named), and a live verified subscription failed its whole page,
 * delivering not even the good events before the row, retrying until it gave up; a 300 MB cell
 * took the audit to ~2 GB. Cells over their bound (MAX_READ_DATA_BYTES for data,
 * MAX_READ_CELL_BYTES for the rest) are now left in the file and the row reported unreadable at
 * its position, naming the column and its size; reading goes on past it; a page is bounded in
 * its text as a whole; and the writer refuses to seal on such a head. (As the PostgreSQL store:
 * postgres-oversize-row.test.ts.) The cells here are 20 MB and 1 MB, built in SQL.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { VerifiedEventStore } from '../../../core/store/verified-store.ts';
import { MemoryQuarantineStore } from '../../../core/store/memory-quarantine.ts';
import { CorruptCommitError } from '../../../core/store/jetstream-commit.ts';
import { MAX_READ_CELL_BYTES, MAX_READ_DATA_BYTES } from '../../../core/store/sql-rows.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { silentLogger } from '../../../core/log/logger.ts';
import type { UnreadableRecord } from '../../../core/store/event-store.ts';
import type { Envelope, NewEvent } from '../../../core/envelope/envelope.ts';

let n = 0;
const ev = (): NewEvent => ({ id: `ov-${++n}`, type: 'test.thing.happened', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'agent', correlationId: 'c', causationId: null, data: { n } });

/** 20,000,002 bytes of JSON (a string of 20 MB), over MAX_READ_DATA_BYTES. */
const BIG_DATA_SQL = `'"' || replace(hex(zeroblob(10000000)), '00', 'aa') || '"'`;
const BIG_DATA_BYTES = 20_000_002;

async function withStore(fn: (path: string, keyring: MemoryKeyring) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'caco-sqlite-oversize-'));
  try {
    await fn(join(dir, 'ledger.db'), new MemoryKeyring('sqlite-oversize'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Five events, one per stream (each verifies on its own), at positions 1 to 5; their ids. */
async function fiveEvents(store: SqliteEventStore): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= 5; i++) ids.push((await store.append(`order-${i}`, [ev()], 'any')).events[0]!.id);
  return ids;
}

async function readAllReporting(store: SqliteEventStore, categories?: string[]): Promise<{ read: number[]; seen: UnreadableRecord[] }> {
  const read: number[] = [];
  const seen: UnreadableRecord[] = [];
  for await (const e of store.readAll({ onUnreadable: (u) => void seen.push(u), ...(categories ? { categories } : {}) })) read.push(e.position);
  return { read, seen };
}

describe('SqliteEventStore: a row with a cell larger than a reader takes', { timeout: 110_000 }, () => {
  test('data over its bound: reported at its position with its size, every other event read (readAll, readStream, readPage, verify-on-read)', async () => {
    await withStore(async (path, keyring) => {
      const store = new SqliteEventStore({ path, keyring, pollMs: 20 });
      try {
        await fiveEvents(store);
        await store.append('order-3', [ev()], 'any'); // position 6, after the big row in its stream
        store.unsafeExec(`UPDATE events SET data = ${BIG_DATA_SQL} WHERE position = 3`);
        const size = new RegExp(`row data is ${BIG_DATA_BYTES} bytes, more than the ${MAX_READ_DATA_BYTES} a reader takes`);

        const { read, seen } = await readAllReporting(store);
        assert.deepEqual(read, [1, 2, 4, 5, 6]);
        assert.deepEqual(seen.map((u) => u.position), [3]);
        assert.match(seen[0]!.reason, size);
        assert.equal(seen[0]!.stream, 'order-3');

        // Without onUnreadable: the read fails at the row, naming it (not "string or blob too big").
        const plain: number[] = [];
        await assert.rejects(
          (async () => {
            for await (const e of store.readAll()) plain.push(e.position);
          })(),
          (err: unknown) => err instanceof CorruptCommitError && /message 3 /.test(err.message) && size.test(err.message),
        );
        assert.deepEqual(plain, [1, 2], 'the events before it were read');

        const inStream: number[] = [];
        const streamRead: number[] = [];
        for await (const e of store.readStream('order-3', 0, { onUnreadable: (u) => void inStream.push(u.position) })) streamRead.push(e.position);
        assert.deepEqual(inStream, [3]);
        assert.deepEqual(streamRead, [6]);

        // A live subscription's page is read plain (its reads are the hot path): the row comes
        // whole, and verify-on-read refuses it below by its hash.
        assert.deepEqual(store.readPage(0, 1000).map((x) => x.position), [1, 2, 3, 4, 5, 6]);

        // Verify-on-read: quarantined, the rest delivered, by a read and by a live subscription.
        const quarantine = new MemoryQuarantineStore();
        const v = new VerifiedEventStore(store, { keys: keyring, quarantine, log: silentLogger() });
        const verified: number[] = [];
        for await (const e of v.readAll()) verified.push(e.position);
        // Position 6 chains on the unreadable row: verify-on-read refuses it too (its chain is broken there).
        assert.deepEqual(verified.filter((p) => p !== 6), [1, 2, 4, 5]);
        const q = await quarantine.quarantined();
        assert.equal(q[0]!.position, 3);
        assert.match(q[0]!.reason, size);

        const delivered: number[] = [];
        const sub = await v.subscribeAll((e: Envelope) => void delivered.push(e.position), { from: 0 });
        try {
          await sub.caughtUp();
          assert.deepEqual(delivered.filter((p) => p !== 6), [1, 2, 4, 5]);
          assert.ok(sub.position >= 6, `the subscription moved past the row (at ${sub.position})`);
        } finally {
          await sub.close();
        }
      } finally {
        await store.close();
      }
    });
  });

  test('another text column over its bound (type, stream at ~1 MB) is reported the same way, naming the column, even by a read of some categories', async () => {
    await withStore(async (path, keyring) => {
      const store = new SqliteEventStore({ path, keyring });
      try {
        await fiveEvents(store);
        const mb = `replace(hex(zeroblob(500000)), '00', 'aa')`;
        store.unsafeExec(`UPDATE events SET type = type || ${mb} WHERE position = 2`);
        store.unsafeExec(`UPDATE events SET stream = stream || ${mb} WHERE position = 4`);
        const { read, seen } = await readAllReporting(store);
        assert.deepEqual(read, [1, 3, 5]);
        assert.deepEqual(seen.map((u) => u.position), [2, 4]);
        assert.match(seen[0]!.reason, new RegExp(`row type is ${'test.thing.happened'.length + 1_000_000} bytes, more than the ${MAX_READ_CELL_BYTES} a reader takes`));
        assert.match(seen[1]!.reason, new RegExp(`row stream is ${'order-4'.length + 1_000_000} bytes, more than the ${MAX_READ_CELL_BYTES} a reader takes`));

        // Without onUnreadable the read fails at the first, naming it (not handing on an event of that type).
        const plain: number[] = [];
        await assert.rejects(
          (async () => {
            for await (const e of store.readAll()) plain.push(e.position);
          })(),
          (err: unknown) => err instanceof CorruptCommitError && /message 2 .*row type is/.test(err.message),
        );
        assert.deepEqual(plain, [1]);

        // A row whose stream is not read has no category to pass it over by: it is reported.
        const some = await readAllReporting(store, ['order']);
        assert.deepEqual(some.read, [1, 3, 5]);
        assert.deepEqual(some.seen.map((u) => u.position), [2, 4]);

        const quarantine = new MemoryQuarantineStore();
        const v = new VerifiedEventStore(store, { keys: keyring, quarantine, log: silentLogger() });
        const verified: number[] = [];
        for await (const e of v.readAll()) verified.push(e.position);
        assert.deepEqual(verified, [1, 3, 5]);
        assert.deepEqual((await quarantine.quarantined()).map((r) => r.position), [2, 4]);
      } finally {
        await store.close();
      }
    });
  });

  test('an INTEGER column holding text over its bound (revision, version, covers) is reported the same way', async () => {
    // A helper's review: SQLite keeps text that is not a number in an INTEGER column as text,
    // and those columns were read whole: a 600 MB version failed every read, naming nothing.
    await withStore(async (path) => {
      const store = new SqliteEventStore({ path, keyring: new MemoryKeyring('int-cols') });
      try {
        await fiveEvents(store);
        const mb = `replace(hex(zeroblob(500000)), '00', 'aa')`;
        store.unsafeExec(`UPDATE events SET version = ${mb} WHERE position = 2`);
        store.unsafeExec(`UPDATE events SET covers = ${mb} WHERE position = 3`);
        store.unsafeExec(`UPDATE events SET revision = ${mb} WHERE position = 4`);
        const { read, seen } = await readAllReporting(store);
        assert.deepEqual(read, [1, 5]);
        assert.deepEqual(seen.map((u) => u.position), [2, 3, 4]);
        for (const [u, column] of [[seen[0]!, 'version'], [seen[1]!, 'covers'], [seen[2]!, 'revision']] as const) assert.match(u.reason, new RegExp(`row ${column} is 1000000 bytes, more than the ${MAX_READ_CELL_BYTES}`));
        assert.deepEqual(
          store.readPage(0, 10).map((e) => e.position),
          [1, 2, 3, 4, 5],
        );
      } finally {
        await store.close();
      }
    });
  });

  test('an append to a stream whose head row is over its bound is refused, naming it, and writes nothing; so is one that names its id', async () => {
    await withStore(async (path, keyring) => {
      const first = new SqliteEventStore({ path, keyring });
      const ids = await fiveEvents(first);
      first.unsafeExec(`UPDATE events SET data = ${BIG_DATA_SQL} WHERE position = 3`);
      await first.close();
      // A writer that has not sealed the stream since it opened reads its head and judges it.
      const store = new SqliteEventStore({ path, keyring });
      try {
        const size = new RegExp(`row data is ${BIG_DATA_BYTES} bytes, more than the ${MAX_READ_DATA_BYTES} a reader takes`);
        await assert.rejects(store.append('order-3', [ev()], 'any'), (err: unknown) => err instanceof CorruptCommitError && /stream "order-3"/.test(err.message) && /position 3/.test(err.message) && size.test(err.message));
        // A retry naming the row's id is not answered with it, nor stored beside it.
        await assert.rejects(store.append('order-9', [{ ...ev(), id: ids[2]! }], 'any'), (err: unknown) => err instanceof CorruptCommitError && err.message.includes(`"${ids[2]}"`) && size.test(err.message));
        assert.equal(await store.headPosition(), 5, 'nothing was written');
        // Other streams are appended to as ever.
        assert.equal((await store.append('order-1', [ev()], 'any')).position, 6);
      } finally {
        await store.close();
      }
    });
  });

  test('rows of 15 MB (each under the data bound) are all read, a page bounded by its text (readAll, readStream) or whole (a subscription)', async () => {
    await withStore(async (path, keyring) => {
      // pollMs of a minute: a subscription that took a page cut by its text for the head would wait it.
      const store = new SqliteEventStore({ path, keyring, pollMs: 60_000 });
      try {
        for (let i = 1; i <= 8; i++) await store.append(`order-${i}`, [ev()], 'any');
        store.unsafeExec(`UPDATE events SET data = '"' || replace(hex(zeroblob(7500000)), '00', 'aa') || '"' WHERE position BETWEEN 2 AND 7`);
        const read: number[] = [];
        for await (const e of store.readAll()) read.push(e.position);
        assert.deepEqual(read, [1, 2, 3, 4, 5, 6, 7, 8]);
        const inStream: number[] = [];
        for (let i = 1; i <= 8; i++) for await (const e of store.readStream(`order-${i}`)) inStream.push(e.position);
        assert.deepEqual(inStream, [1, 2, 3, 4, 5, 6, 7, 8]);

        const delivered: number[] = [];
        const sub = await store.subscribeAll((e) => void delivered.push(e.position), { from: 0 });
        try {
          const timeout = new Promise<string>((r) => setTimeout(() => r('waited'), 10_000).unref());
          assert.equal(await Promise.race([sub.caughtUp().then(() => 'caught up'), timeout]), 'caught up');
          assert.deepEqual(delivered, [1, 2, 3, 4, 5, 6, 7, 8]);
        } finally {
          await sub.close();
        }
      } finally {
        await store.close();
      }
    });
  });
});
