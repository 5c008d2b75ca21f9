// test-file-timeout: 60
/**
 * A row put into the SQLite file at a position past 2^53 - 1 (the store is hostile): SQLite's
 * AUTOINCREMENT went on from it, so every later append got a position no reader can hold and
 * was unreadable to all of them while the site answered it as stored; the head stayed past
 * every reader's reach, and a subscription waiting to catch up re-read the same page without
 * end, starving the event loop (a restarted site hung at start-up, printing nothing). Now the
 * append is refused naming why, the head is reported where the rows are, and the reader waits.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { VerifiedEventStore } from '../../../core/store/verified-store.ts';
import { MemoryQuarantineStore } from '../../../core/store/memory-quarantine.ts';
import { UnverifiedHeadError } from '../../../core/store/jetstream-commit.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { silentLogger } from '../../../core/log/index.ts';
import { verifyLedger } from '../../../core/ledger/verify.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';

const ev = (n: number): NewEvent => ({ id: randomUUID(), type: 'test.thing.happened', version: 1, time: '2024-01-01T00:00:00.000Z', source: 'agent', correlationId: 'c', causationId: null, data: { n } });
const MAX = Number.MAX_SAFE_INTEGER;

function forge(store: SqliteEventStore, position: bigint, stream: string): void {
  store.unsafeExec(
    `INSERT INTO events (position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig) VALUES (?, ?, ?, 0, 'test.thing.happened', 1, '2024-01-01T00:00:00.000Z', 'agent', 'c', NULL, '{"n":666}', ?, ?, 'x')`,
    position, `forged-${randomUUID()}`, stream, '0'.repeat(64), 'a'.repeat(64),
  );
}

async function withStore(fn: (store: SqliteEventStore, keyring: MemoryKeyring) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'caco-sqlite-positions-'));
  const keyring = new MemoryKeyring('sqlite-positions');
  const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring, pollMs: 50 });
  try {
    await fn(store, keyring);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const count = async (store: SqliteEventStore) => {
  let n = 0;
  for await (const _ of store.readAll({ onUnreadable: () => undefined })) n++;
  return n;
};

describe('SqliteEventStore: a row past 2^53 - 1', { timeout: 50_000 }, () => {
  test('appends after it are refused naming the limit, nothing is written, and the head is reported at 2^53 - 1', async () => {
    await withStore(async (store) => {
      await store.append('s-1', [ev(1)], 'any');
      forge(store, 9007199254740993n, 'x-1');
      assert.equal(await store.headPosition(), MAX);
      for (let i = 2; i <= 3; i++) {
        await assert.rejects(store.append('s-1', [ev(i)], 'any'), (e: Error) => e instanceof UnverifiedHeadError && /past 9007199254740991 \(2\^53 - 1, the largest a reader can hold\)/.test(e.message), `append ${i}`);
      }
      assert.equal(await count(store), 1, 'only the real event reads back; nothing was added');
    });
  });

  test('a row just below it: an append that still fits gets 2^53 - 1, the next is refused', async () => {
    await withStore(async (store) => {
      forge(store, BigInt(MAX - 1), 'x-1');
      const fits = await store.append('s-1', [ev(1)], 'any');
      assert.equal(fits.position, MAX);
      await assert.rejects(store.append('s-1', [ev(2)], 'any'), UnverifiedHeadError);
    });
  });

  test('a raw subscription reports the row once, not again at every poll; after the documented mend (docs/operations.md) appends go on and the readers checkpoints are back at the last real event', async () => {
    await withStore(async (store) => {
      await store.append('s-1', [ev(1)], 'any');
      forge(store, 9007199254740993n, 'x-1');
      let reported = 0;
      const got: number[] = [];
      const sub = await store.subscribeAll((e) => void got.push(e.position), { from: 0, onUnreadable: () => void reported++ });
      try {
        await sub.caughtUp();
        await new Promise((r) => setTimeout(r, 400));
        assert.equal(reported, 1, 'reported once in 0.4 s of 50 ms polls');
        assert.deepEqual(got, [1]);
        await store.put('reader', MAX);
        // The mend, one statement at a time (docs/operations.md, "A ledger row past position 2^53 - 1").
        store.unsafeExec('DELETE FROM events WHERE position > 9007199254740991');
        store.unsafeExec("UPDATE sqlite_sequence SET seq = (SELECT MAX(position) FROM events) WHERE name = 'events'");
        store.unsafeExec('UPDATE checkpoints SET position = (SELECT MAX(position) FROM events) WHERE position > (SELECT MAX(position) FROM events)');
        assert.equal((await store.append('s-1', [ev(2)], 'any')).position, 2);
        assert.equal(await store.get('reader'), 1, 'the checkpoint moved back to the last real event');
      } finally {
        await sub.close();
      }
    });
  });

  test('a verified subscription quarantines the row once, catches up, and leaves the event loop free (no re-reading the same page)', async () => {
    await withStore(async (store, keyring) => {
      await store.append('s-1', [ev(1)], 'any');
      forge(store, 9007199254740993n, 'x-1');
      const quarantine = new MemoryQuarantineStore();
      const v = new VerifiedEventStore(store, { keys: keyring, quarantine, log: silentLogger() });
      let pages = 0;
      const readPage = store.readPage.bind(store);
      (store as unknown as { readPage: typeof readPage }).readPage = (f, l) => {
        pages++;
        return readPage(f, l);
      };
      let handled = 0;
      const sub = await v.subscribeAll(() => void handled++, { from: 0 });
      try {
        // Both must settle: caughtUp, and a timer, which a spinning loop would starve.
        const timer = new Promise<string>((r) => setTimeout(() => r('timer'), 200));
        const caught = sub.caughtUp().then(() => 'caught up');
        assert.deepEqual(await Promise.all([caught, timer]), ['caught up', 'timer']);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(handled, 1);
        assert.ok(pages < 40, `${pages} page reads in 0.7 s with pollMs 50: the subscription spins`);
        const q = await quarantine.quarantined();
        assert.equal(q.length, 1);
        // Exactly the stored position: as a number SQLite would give 9007199254740992.
        assert.match(q[0]!.reason, /position 9007199254740993 is not a ledger position/);
      } finally {
        await sub.close();
      }
    });
  });
});

describe('SqliteEventStore: a row moved below position 1', { timeout: 20_000 }, () => {
  test('the audit names it where it is, as well as the hole it left; reads still pass it by', async () => {
    await withStore(async (store, keyring) => {
      for (let i = 0; i < 3; i++) await store.append('s-1', [ev(i)], 'any');
      store.unsafeExec('UPDATE events SET position = -3 WHERE position = 2');
      const report = await verifyLedger(store, keyring);
      assert.equal(report.ok, false);
      const stray = report.broken.find((b) => b.position === -3);
      assert.ok(stray, `the row at -3 is named (${report.broken.map((b) => `${b.position}: ${b.reason}`).join('; ')})`);
      assert.match(stray.reason, /position -3 is not a ledger position.*no reader reads a row below position 1/);
      assert.equal(stray.stream, 's-1');
      assert.ok(report.broken.some((b) => b.position === 2 && /position 2 missing/.test(b.reason)), 'the hole is still reported');
      assert.equal(await count(store), 2, 'a read passes it by, as before');
    });
  });
});

