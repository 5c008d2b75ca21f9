// test-file-timeout: 300
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { lazySnapshotStore, MAX_SNAPSHOT_BYTES, MemorySnapshotStore, type SnapshotStore } from '../../core/runtime/snapshot.ts';
import { SqliteSnapshotStore } from '../../core/store/sqlite-snapshots.ts';
import { NatsSnapshotStore } from '../../core/store/nats-snapshots.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';
import { snapshotOf, snapshotStoreContract } from './snapshot-store-contract.ts';

// Asked before any test is registered: tests registered after an await may never run.
const skip = await natsSkip();

test('lazySnapshotStore opens its store only when a snapshot is first loaded or saved, once', async () => {
  let opened = 0;
  let closed = 0;
  const inner = new MemorySnapshotStore();
  const lazy = lazySnapshotStore(async () => {
    opened++;
    return Object.assign(inner, { close: async () => void closed++ });
  });
  await lazy.close();
  assert.equal(opened, 0, 'a stack whose agents never snapshot makes no table or bucket');
  assert.equal(await lazy.load('a'), undefined);
  await lazy.save(snapshotOf('a'));
  assert.deepEqual(await lazy.load('a'), snapshotOf('a'));
  assert.equal(opened, 1);
  await lazy.close();
  assert.equal(closed, 1);
});

snapshotStoreContract('MemorySnapshotStore', async () => {
  const store = new MemorySnapshotStore();
  return { store, reopen: async () => store, dispose: async () => undefined };
});

snapshotStoreContract('SqliteSnapshotStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-snap-'));
  const path = join(dir, 'ledger.db');
  let current = new SqliteSnapshotStore(path);
  return {
    get store() {
      return current;
    },
    async reopen() {
      await current.close();
      current = new SqliteSnapshotStore(path);
      return current;
    },
    async dispose() {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('SqliteSnapshotStore: a row someone made larger than MAX_SNAPSHOT_BYTES is refused by its size, without reading it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-snap-big-'));
  const store = new SqliteSnapshotStore(join(dir, 'ledger.db'));
  try {
    await store.save(snapshotOf('big'));
    // zeroblob: the size is all SQLite needs to say; nothing that large is ever in memory here.
    store.unsafeExec(`UPDATE snapshots SET record = CAST(zeroblob(${MAX_SNAPSHOT_BYTES + 1}) AS TEXT) WHERE agent = 'big'`);
    await assert.rejects(store.load('big'), /snapshot is 268435457 bytes, over the 268435456/);
    await store.save(snapshotOf('big'));
    assert.equal((await store.load('big'))!.position, 42, 'a good snapshot saved over it loads');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

if (skip) describe('SnapshotStore contract: NatsSnapshotStore', { skip }, () => undefined);
else {
  snapshotStoreContract('NatsSnapshotStore (JetStream KV bucket)', async () => {
    const nc = await connect({ servers: natsUrl() });
    const jsm = await jetstreamManager(nc);
    const bucket = `caco_${uniqueToken('snap')}_snapshots`;
    // Small parts, so that even the contract's ordinary snapshots are stored in several.
    let current = await NatsSnapshotStore.open(jsm, { bucket, partBytes: 64 * 1024 });
    return {
      get store(): SnapshotStore {
        return current;
      },
      async reopen() {
        current = await NatsSnapshotStore.open(jsm, { bucket, partBytes: 64 * 1024 });
        return current;
      },
      async dispose() {
        await current.destroy().catch(() => undefined);
        await nc.close();
      },
    };
  });

  test('NatsSnapshotStore: a head someone wrote is checked before any part is read: too large, too many parts, junk; parts past its size stop the read', { timeout: 60_000 }, async () => {
    const nc = await connect({ servers: natsUrl() });
    try {
      const jsm = await jetstreamManager(nc);
      const js = jsm.jetstream();
      const bucket = `caco_${uniqueToken('snaph')}_snapshots`;
      const s = await NatsSnapshotStore.open(jsm, { bucket, partBytes: 1024 });
      try {
        const head = (v: unknown) => js.publish(`$KV.${bucket}.h.big`, JSON.stringify(v));
        await head({ parts: 2, bytes: MAX_SNAPSHOT_BYTES + 1, sha256: 'x' });
        await assert.rejects(s.load('big'), /over the 268435456 a store may hold/);
        await head({ parts: 1_000_000, bytes: 4096, sha256: 'x' });
        await assert.rejects(s.load('big'), /names 1000000 parts for 4096 bytes/);
        await js.publish(`$KV.${bucket}.h.big`, 'not json');
        await assert.rejects(s.load('big'), /head is not JSON/);
        // A head naming 2 KiB over parts that hold far more: the read stops at the third part.
        await head({ parts: 2, bytes: 2048, sha256: 'x' });
        await js.publish(`$KV.${bucket}.c.big.0`, 'y'.repeat(4096));
        await assert.rejects(s.load('big'), /hold more than the 2048 bytes its head names/);
      } finally {
        await s.destroy();
      }
    } finally {
      await nc.close();
    }
  });

  test('NatsSnapshotStore: parts that do not add up to the head are reported, not loaded', { timeout: 60_000 }, async () => {
    const nc = await connect({ servers: natsUrl() });
    try {
      const jsm = await jetstreamManager(nc);
      const bucket = `caco_${uniqueToken('snapx')}_snapshots`;
      const s = await NatsSnapshotStore.open(jsm, { bucket, partBytes: 1024 });
      try {
        await s.save(snapshotOf('torn', { handled: Array.from({ length: 200 }, (_, i) => `in-${i}`) }));
        // Overwrite one part, as a save that stopped half way would leave it.
        await jsm.jetstream().publish(`$KV.${bucket}.c.torn.1`, 'x'.repeat(1024));
        await assert.rejects(s.load('torn'), /do not add up/);
      } finally {
        await s.destroy();
      }
    } finally {
      await nc.close();
    }
  });
}
