// test-file-timeout: 180
/**
 * A row at a position past 2^53 - 1 (the largest a reader can hold) in the PostgreSQL table,
 * put there by someone other than CACO (the store is hostile, docs/verify-on-read.md). Read as
 * a number it lost precision: readAll returned 9007199254740992 over and over, a subscription
 * read the same page hundreds of times a second, the next append took 9007199254740992 and
 * every one after it failed on a duplicate key (at the BIGINT maximum, on an overflow). Now the
 * table refuses such rows, readers report one as unreadable and pass it, and writers refuse to
 * append after it, naming it (docs/postgres-store.md, "Positions").
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresEventStore } from '../../../core/store/postgres-store.ts';
import { VerifiedEventStore } from '../../../core/store/verified-store.ts';
import { MemoryQuarantineStore } from '../../../core/store/memory-quarantine.ts';
import { CorruptCommitError } from '../../../core/store/jetstream-commit.ts';
import type { UnreadableRecord } from '../../../core/store/event-store.ts';
import { postgresSkip, postgresUrl } from '../../support/postgres.ts';
import { verifyLedger } from '../../../core/ledger/verify.ts';
import { count, ev, forge, H, quiet, rejection, withStore } from './postgres-hostile-rows.ts';

// Before the first describe: node:test runs only what is declared before the module's first await.
const skip = await postgresSkip();

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 9007199254740991

describe('PostgresEventStore: positions past 2^53 - 1', { skip }, () => {
  test('a new schema refuses them (CHECK); an older schema gets the check NOT VALID on open', async () => {
    await withStore('pc', async (store, keyring, schema) => {
      await store.append('s', [ev(1)], 'any');
      await assert.rejects(forge(store, schema, { position: '9007199254740992', stream: 'x', revision: 0, prevHash: H('0'), hash: H('1') }), /check constraint/);
      await assert.rejects(forge(store, schema, { position: 0, stream: 'x', revision: 0, prevHash: H('0'), hash: H('1') }), /check constraint/);
      await forge(store, schema, { position: MAX_SAFE, stream: 'x', revision: 0, prevHash: H('0'), hash: H('1') });
      // A schema made before the check: drop it, put a row past it, reopen.
      await store.unsafeExec(`ALTER TABLE ${schema}.events DROP CONSTRAINT IF EXISTS events_position_safe`);
      await forge(store, schema, { position: '9007199254740993', stream: 'x', revision: 1, prevHash: H('0'), hash: H('1') });
      const again = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring, pollMs: 50 });
      try {
        const c = await again.unsafeQuery<{ convalidated: boolean }>(`SELECT convalidated FROM pg_constraint WHERE conrelid = '${schema}.events'::regclass AND conname = 'events_position_safe'`);
        assert.deepEqual(c, [{ convalidated: false }], 'added NOT VALID: the rows already there are not checked');
        await assert.rejects(forge(again, schema, { position: '9007199254740994', stream: 'x', revision: 2, prevHash: H('0'), hash: H('1') }), /check constraint/);
      } finally {
        await again.close();
      }
      // Opening again finds the constraint there and leaves it.
      const third = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring, pollMs: 50 });
      await third.close();
    });
  });

  test('a row at 9007199254740993: read once as unreadable and passed (no spin); appends refused naming it, nothing written', async () => {
    await withStore('pp', async (store, keyring, schema) => {
      assert.equal((await store.append('s-1', [ev(1)], 'any')).position, 1);
      await store.unsafeExec(`ALTER TABLE ${schema}.events DROP CONSTRAINT IF EXISTS events_position_safe`);
      await forge(store, schema, { position: '9007199254740993', stream: 'x-1', revision: 0, prevHash: H('0'), hash: H('1') });

      // readAll without a handler: a clear error at the row, not 9007199254740992 over and over.
      const seen: number[] = [];
      const err = await rejection((async () => {
        for await (const e of store.readAll({ limit: 6 })) seen.push(e.position);
      })());
      assert.deepEqual(seen, [1]);
      assert.ok(err instanceof CorruptCommitError, err.message);
      assert.match(err.message, /9007199254740993/);
      // With a handler: reported once, and the read ends.
      const unreadable: UnreadableRecord[] = [];
      const seen2: number[] = [];
      for await (const e of store.readAll({ onUnreadable: (u) => void unreadable.push(u) })) seen2.push(e.position);
      assert.deepEqual(seen2, [1]);
      assert.equal(unreadable.length, 1);
      assert.match(unreadable[0]!.reason, /position 9007199254740993/);
      assert.equal(unreadable[0]!.stream, 'x-1');
      // readStream reports it as unreadable too.
      const inStream: UnreadableRecord[] = [];
      for await (const e of store.readStream('x-1', 0, { onUnreadable: (u) => void inStream.push(u) })) assert.fail(`read ${e.id}`);
      assert.equal(inStream.length, 1);

      // Appends: refused, naming the position, before anything is written (was: one landed at 9007199254740992, then duplicate keys).
      for (let i = 2; i <= 3; i++) {
        const e = await rejection(store.append('s-1', [ev(i)], 'any'));
        assert.match(e.message, /9007199254740993/);
        assert.doesNotMatch(e.message, /duplicate key/);
      }
      assert.equal(await count(store, schema), 2);

      // A verified subscription: the row is quarantined once, then it waits (polls) instead of re-reading the same page.
      const quarantine = new MemoryQuarantineStore();
      const v = new VerifiedEventStore(store, { keys: keyring, quarantine, log: quiet });
      let pages = 0;
      const readPage = store.readPage.bind(store);
      (store as unknown as { readPage: typeof readPage }).readPage = async (f, l) => {
        pages++;
        return readPage(f, l);
      };
      let handled = 0;
      const sub = await v.subscribeAll(() => void handled++, { from: 0 });
      try {
        await new Promise((r) => setTimeout(r, 800));
        assert.equal(handled, 1);
        assert.ok(pages < 40, `${pages} page reads in 0.8 s with pollMs 50: the subscription spins`);
        assert.equal((await quarantine.quarantined()).length, 1);
        assert.match((await quarantine.quarantined())[0]!.reason, /9007199254740993/);
        await sub.caughtUp();
      } finally {
        await sub.close();
      }
    });
  });

  test('rows at the BIGINT maximum and at exactly 2^53 - 1: appends refused naming the position (no overflow)', async () => {
    await withStore('pm', async (store, _keyring, schema) => {
      await store.append('s-1', [ev(1)], 'any');
      await forge(store, schema, { position: MAX_SAFE, stream: 'x-1', revision: 0, prevHash: H('0'), hash: H('1') });
      const atMax = await rejection(store.append('s-1', [ev(2)], 'any'));
      assert.match(atMax.message, /9007199254740991/);
      assert.doesNotMatch(atMax.message, /out of range|duplicate key/);
      await store.unsafeExec(`ALTER TABLE ${schema}.events DROP CONSTRAINT IF EXISTS events_position_safe`);
      await forge(store, schema, { position: '9223372036854775807', stream: 'x-2', revision: 0, prevHash: H('0'), hash: H('1') });
      const atBigint = await rejection(store.append('s-1', [ev(3)], 'any'));
      assert.match(atBigint.message, /9223372036854775807/);
      assert.doesNotMatch(atBigint.message, /out of range/);
      assert.equal(await count(store, schema), 3);
      assert.equal(await store.headPosition(), MAX_SAFE, 'the head a reader can reach');
    });
  });
  test('a row below position 1 (the check dropped): the audit names it where it is, not only as the hole it left', async () => {
    await withStore('pn', async (store, keyring, schema) => {
      for (let i = 0; i < 3; i++) await store.append('s-1', [ev(i)], 'any');
      await store.unsafeExec(`ALTER TABLE ${schema}.events DROP CONSTRAINT IF EXISTS events_position_safe`);
      await store.unsafeExec(`UPDATE ${schema}.events SET position = -3 WHERE position = 2`);
      const report = await verifyLedger(store, keyring);
      const stray = report.broken.find((b) => b.position === -3);
      assert.ok(stray, `the row at -3 is named (${report.broken.map((b) => `${b.position}: ${b.reason}`).join('; ')})`);
      assert.match(stray.reason, /no reader reads a row below position 1/);
      assert.ok(report.broken.some((b) => b.position === 2 && /position 2 missing/.test(b.reason)), 'the hole is still reported');
    });
  });
});
