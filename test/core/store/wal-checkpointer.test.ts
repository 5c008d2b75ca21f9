import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore, BACKGROUND_CHECKPOINT_AFTER, type WalCheckpointMode } from '../../../core/store/sqlite-store.ts';
import { WalCheckpointer } from '../../../core/store/wal-checkpointer.ts';
import { openLedgerDatabase } from '../../../core/store/sqlite-store.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { InvalidArgumentError } from '../../../core/errors/errors.ts';
import { CacoMetrics } from '../../../core/observability/metrics.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';

const ev = (id: string): NewEvent => ({ id, type: 'compute.job.started', version: 1, time: '2023-07-01T00:00:00.000Z', source: 'compute', correlationId: 'c', causationId: null, data: { id } });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the database file alone (its log left behind, as after a power cut that lost the log's unsynced tail) holds the event. */
function mainFileHolds(dir: string, path: string, id: string): boolean {
  const copy = join(dir, `copy-${id}.db`);
  copyFileSync(path, copy);
  const db = new Database(copy, { readonly: true });
  try {
    // Before the first checkpoint even the schema is only in the log.
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'events'").get() === undefined) return false;
    return db.prepare('SELECT 1 FROM events WHERE id = ?').get(id) !== undefined;
  } catch (err) {
    // The copy was taken while the worker was writing pages into the file (a file copy is not
    // a snapshot): torn, it reads as corrupt. Not yet: the caller looks again.
    if ((err as { code?: string }).code === 'SQLITE_CORRUPT' || (err as { code?: string }).code === 'SQLITE_NOTADB') return false;
    throw err;
  } finally {
    db.close();
  }
}

async function withStore(mode: WalCheckpointMode, fn: (store: SqliteEventStore, dir: string, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'caco-wal-'));
  const path = join(dir, 'ledger.db');
  const store = new SqliteEventStore({ path, keyring: new MemoryKeyring('wal'), walCheckpoints: mode });
  try {
    await fn(store, dir, path);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SQLite WAL checkpoints in a worker thread', { timeout: 30_000 }, () => {
  test('after enough commits the worker copies the log into the database file, within about its interval', async () => {
    await withStore('background', async (store, dir, path) => {
      for (let i = 0; i < BACKGROUND_CHECKPOINT_AFTER + 10; i++) await store.append(`s-${i % 7}`, [ev(`e-${i}`)], 'any');
      await store.append('late', [ev('late')], 'any');
      // A few intervals (100 ms) of slack for a loaded machine.
      let held = false;
      for (let t = 0; t < 40 && !held; t++) {
        await sleep(100);
        held = mainFileHolds(dir, path, 'late');
      }
      assert.ok(held, 'the database file alone holds the last event: the log was checkpointed without another commit');
      const stats = await store.walCheckpointStats();
      assert.ok(stats && stats.framesCopied > 0 && stats.checkpoints > 0, `the worker copied frames: ${JSON.stringify(stats)}`);
      assert.equal(stats.failures, 0);
    });
  });

  test("'inline' leaves it to SQLite: the same appends stay in the log alone (below 1000 pages)", async () => {
    await withStore('inline', async (store, dir, path) => {
      for (let i = 0; i < BACKGROUND_CHECKPOINT_AFTER + 10; i++) await store.append(`s-${i % 7}`, [ev(`e-${i}`)], 'any');
      await store.append('late', [ev('late')], 'any');
      await sleep(300);
      assert.equal(mainFileHolds(dir, path, 'late'), false);
      assert.equal(await store.walCheckpointStats(), undefined);
    });
  });

  test('a store that made few commits starts no worker; warmUp starts it', async () => {
    await withStore('background', async (store) => {
      await store.append('s', [ev('one')], 'any');
      assert.equal(await store.walCheckpointStats(), undefined);
      await store.warmUp();
      const stats = await store.walCheckpointStats();
      assert.ok(stats, 'running after warmUp');
    });
  });

  test('while the worker runs the appending connection checkpoints only at the backstop; closing it restores the default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-wal-'));
    const path = join(dir, 'ledger.db');
    const db = openLedgerDatabase(path);
    try {
      const cp = WalCheckpointer.start(db, path, { everyMs: 50, backstopPages: 5000 });
      await cp.whenReady();
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 5000);
      assert.equal(cp.running, true);
      await cp.close();
      assert.equal(cp.running, false);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a worker that cannot run gives checkpoints back to the appending connection and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-wal-'));
    const path = join(dir, 'ledger.db');
    const db = openLedgerDatabase(path);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const metrics = new CacoMetrics({ now: () => 0, processMetrics: false });
    const uninstall = metrics.install();
    try {
      // The worker opens only an existing file: this one is not.
      const cp = WalCheckpointer.start(db, join(dir, 'missing.db'));
      await cp.whenReady();
      for (let t = 0; t < 50 && cp.running; t++) await sleep(20);
      assert.equal(cp.running, false);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
      await sleep(10);
      assert.ok(warnings.some((w) => /checkpoint thread/.test(w.message)), `warned: ${warnings.map((w) => w.message).join('; ')}`);
      assert.equal((await metrics.checkpointThreadLostTotal.get()).values[0]?.value, 1, 'counted for an alert');
      assert.equal(await cp.stats(), undefined);
      await cp.close();
    } finally {
      uninstall();
      process.off('warning', onWarning);
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a bad mode is refused naming the option', () => {
    assert.throws(() => new SqliteEventStore({ path: ':memory:', keyring: new MemoryKeyring('wal'), walCheckpoints: 'sometimes' as WalCheckpointMode }), (e: unknown) => e instanceof InvalidArgumentError && /walCheckpoints/.test(String(e)));
  });
});
