import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { ConcurrencyError, InvalidArgumentError } from '../../core/errors/errors.ts';
import type { NewEvent } from '../../core/envelope/envelope.ts';

const ev = (id: string, source = 'compute'): NewEvent => ({ id, type: 'compute.job.started', version: 1, time: '2023-07-01T00:00:00.000Z', source, correlationId: 'c', causationId: null, data: { id } });

/** Signs like MemoryKeyring, but refuses one agent, so an append can fail while sealing. */
class RefusingKeyring extends MemoryKeyring {
  override sign(source: string, bytes: Uint8Array): string {
    if (source === 'refused') throw new Error('no key for refused');
    return super.sign(source, bytes);
  }
}

async function withStore(fn: (store: SqliteEventStore, keyring: MemoryKeyring) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'caco-group-'));
  const keyring = new RefusingKeyring('group-commit');
  const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring, pollMs: 10 });
  try {
    await fn(store, keyring);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SQLite group commit: appends in one turn share a transaction, each stays all or nothing', () => {
  test('refused appends in a group write nothing; the others land, in call order, and verify', async () => {
    await withStore(async (store, keyring) => {
      await store.append('job-1', [ev('seed')], 'no-stream');
      // All issued in one turn, so they are committed together.
      const results = await Promise.allSettled([
        store.append('job-2', [ev('a1'), ev('a2')], 'no-stream'),
        store.append('job-1', [ev('b1')], 5), // wrong expected revision
        store.append('job-3', [ev('c1'), ev('c2'), ev('c3', 'refused')], 'any'), // sealing fails on the third
        store.append('job-4', [ev('d1'), ev('seed')], 'any'), // second id stored by another append
        store.append('job-1', [ev('e1')], 0),
        store.append('job-1', [ev('f1')], 1), // sees e1 from earlier in the same group
        store.append('job-2', [ev('a1'), ev('a2')], 'no-stream'), // retry of the first: idempotent
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      assert.ok((results[1] as PromiseRejectedResult).reason instanceof ConcurrencyError);
      assert.match(String((results[2] as PromiseRejectedResult).reason), /no key for refused/);
      assert.ok((results[3] as PromiseRejectedResult).reason instanceof InvalidArgumentError);
      const first = (results[0] as PromiseFulfilledResult<Awaited<ReturnType<SqliteEventStore['append']>>>).value;
      const retry = (results[6] as PromiseFulfilledResult<Awaited<ReturnType<SqliteEventStore['append']>>>).value;
      assert.deepEqual(retry.events.map((e) => e.position), first.events.map((e) => e.position));

      const all: string[] = [];
      for await (const e of store.readAll()) all.push(`${e.stream}@${e.revision}:${e.id}`);
      assert.deepEqual(all, ['job-1@0:seed', 'job-2@0:a1', 'job-2@1:a2', 'job-1@1:e1', 'job-1@2:f1']);
      const report = await verifyLedger(store, keyring);
      assert.equal(report.ok, true);
      assert.equal(report.events, 5);
    });
  });

  test('a group whose heads are signed together (no source refused): the same refusals, one signature for the commits that land, and the ledger verifies', async () => {
    await withStore(async (store, keyring) => {
      await store.append('job-1', [ev('seed')], 'no-stream');
      const results = await Promise.allSettled([
        store.append('job-2', [ev('a1'), ev('a2')], 'no-stream'),
        store.append('job-1', [ev('b1')], 5), // wrong expected revision
        store.append('job-4', [ev('d1'), ev('seed')], 'any'), // second id stored by another append
        store.append('job-1', [ev('e1')], 0),
        store.append('job-1', [ev('f1')], 1), // chains on e1, signed in the same batch
        store.append('job-2', [ev('a1'), ev('a2')], 'no-stream'), // retry of the first: idempotent
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      assert.ok((results[1] as PromiseRejectedResult).reason instanceof ConcurrencyError);
      assert.ok((results[2] as PromiseRejectedResult).reason instanceof InvalidArgumentError);
      const all: Array<{ id: string; sig: string }> = [];
      for await (const e of store.readAll()) all.push({ id: `${e.stream}@${e.revision}:${e.id}`, sig: e.sig });
      assert.deepEqual(all.map((e) => e.id), ['job-1@0:seed', 'job-2@0:a1', 'job-2@1:a2', 'job-1@1:e1', 'job-1@2:f1']);
      // a2, e1 and f1 head their commits and share one batch signature; a1 is vouched for by a2.
      const heads = all.slice(1).filter((e) => e.sig !== '');
      assert.equal(heads.length, 3);
      assert.ok(heads.every((e) => e.sig.startsWith('mb1:')));
      assert.equal(new Set(heads.map((e) => e.sig.slice(e.sig.lastIndexOf(':') + 1))).size, 1);
      const report = await verifyLedger(store, keyring);
      assert.equal(report.ok, true, JSON.stringify(report.broken));
    });
  });

  test('a subscriber sees a group only after it committed, and every event once', async () => {
    await withStore(async (store) => {
      const seen: number[] = [];
      const sub = await store.subscribeAll((e) => void seen.push(e.position));
      const appends = Array.from({ length: 50 }, (_, i) => store.append(`job-${i % 7}`, [ev(`g${i}`)], 'any'));
      // Nothing is visible before the group's promises settle.
      assert.equal(await store.headPosition(), 0);
      await Promise.all(appends);
      await sub.caughtUp();
      assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i + 1));
      await sub.close();
    });
  });

  test('an append made just before close is committed; one made after close is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-group-'));
    const path = join(dir, 'ledger.db');
    try {
      const store = new SqliteEventStore({ path, keyring: new MemoryKeyring('g') });
      const pending = store.append('job-1', [ev('just-before')], 'any');
      await store.close();
      assert.equal((await pending).position, 1);
      await assert.rejects(store.append('job-1', [ev('after')], 'any'));
      const reopened = new SqliteEventStore({ path, keyring: new MemoryKeyring('g') });
      assert.equal(await reopened.headPosition(), 1);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
