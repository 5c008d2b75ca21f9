// test-file-timeout: 30
/**
 * An anchor checkpoint vouches only for events that survive a power cut. The SQLite ledger
 * acknowledges a commit in its write-ahead log, which SQLite syncs only at a checkpoint of its
 * own; the anchor synced its checkpoint at once, so after a power cut it vouched for events the
 * ledger no longer held, and the audit called that deletion, then re-sealing (a helper's
 * review, with strace: 438 writes to the log and no sync before the anchor's). The writer now
 * asks the store to make its commits durable before it signs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { SimulatedClock } from '../../../core/clock/simulated-clock.ts';
import { AnchorWriter, anchorFileFor, FileAnchorLog } from '../../../core/anchor/index.ts';
import type { AnchorCheckpoint } from '../../../core/anchor/index.ts';

const T0 = Date.parse('2023-07-03T00:00:00Z');

test('each checkpoint is appended only after the store made the events it covers durable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-anchor-durable-'));
  const keyring = new MemoryKeyring();
  const path = join(dir, 'ledger.db');
  const store = new SqliteEventStore({ path, keyring });
  const steps: string[] = [];
  const durable = store.durable.bind(store);
  store.durable = async () => {
    await durable();
    steps.push(`durable at ${await store.headPosition()}`);
  };
  const file = new FileAnchorLog(anchorFileFor(path));
  const log = Object.assign(Object.create(file) as FileAnchorLog, {
    append: async (cp: AnchorCheckpoint) => {
      steps.push(`append #${cp.seq} at ${cp.position}`);
      await file.append(cp);
    },
  });
  try {
    const writer = await AnchorWriter.open({ store, log, keyring, site: 't', clock: new SimulatedClock(T0) });
    for (let i = 1; i <= 3; i++) {
      await store.append('s', [{ id: randomUUID(), type: 'compute.job.noted', version: 1, time: new Date(T0).toISOString(), source: 'grid', correlationId: 'c', causationId: null, data: { i } }], 'any');
      await writer.checkpoint();
    }
    assert.deepEqual(steps, ['durable at 1', 'append #1 at 1', 'durable at 2', 'append #2 at 2', 'durable at 3', 'append #3 at 3']);
    // Nothing new: no checkpoint, and no sync for it.
    await writer.checkpoint();
    assert.equal(steps.length, 6);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('durable() on an in-memory ledger and on a file ledger returns', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-durable-'));
  const keyring = new MemoryKeyring();
  const mem = new SqliteEventStore({ path: ':memory:', keyring });
  const onDisk = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring });
  try {
    await mem.durable();
    await onDisk.durable();
  } finally {
    await mem.close();
    await onDisk.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('durable() syncs the log beside the real file when ledger.db is a symlink to another folder', async () => {
  // The review of durable(): SQLite keeps its log beside the real file; the sync looked beside
  // the link, found no log there, and synced only the database file.
  const dir = mkdtempSync(join(tmpdir(), 'caco-durable-link-'));
  const real = join(dir, 'disk2');
  const site = join(dir, 'site');
  mkdirSync(real);
  mkdirSync(site);
  writeFileSync(join(real, 'ledger.db'), '');
  symlinkSync(join(real, 'ledger.db'), join(site, 'ledger.db'));
  const store = new SqliteEventStore({ path: join(site, 'ledger.db'), keyring: new MemoryKeyring() });
  try {
    await store.append('s', [{ id: randomUUID(), type: 'compute.job.noted', version: 1, time: new Date(T0).toISOString(), source: 'grid', correlationId: 'c', causationId: null, data: {} }], 'any');
    const files = store.durableFiles();
    assert.deepEqual(files, [join(realpathSync(real), 'ledger.db-wal'), join(realpathSync(real), 'ledger.db')]);
    assert.ok(existsSync(files[0]!), 'the log is where it is synced');
    await store.durable();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
