/**
 * The SnapshotStore contract: every place agents keep snapshots must pass exactly these tests.
 * A store keeps what it was given; judging a snapshot is the agent host's job (it is tested in
 * test/core/runtime/snapshots.test.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { sealSnapshot, type AgentSnapshot, type SnapshotStore } from '../../core/runtime/snapshot.ts';

export interface SnapshotStoreHandle {
  readonly store: SnapshotStore;
  /** Close and open again on the same data. */
  reopen(): Promise<SnapshotStore>;
  dispose(): Promise<void>;
}

const keyring = new MemoryKeyring('snapshot-contract');

export function snapshotOf(agent: string, over: Partial<Omit<AgentSnapshot, 'digest' | 'sig' | 'agent'>> = {}): AgentSnapshot {
  return sealSnapshot(
    {
      agent,
      stateVersion: 1,
      position: 42,
      covered: { position: 41, id: 'e-41', hash: 'a'.repeat(64) },
      events: 30,
      state: JSON.stringify({ total: 7, names: ['x', 'ü', '"q"'] }),
      handled: ['in-1', 'in-2'],
      heads: [{ stream: 'acct-1', revision: 29, hash: 'a'.repeat(64) }],
      ...over,
    },
    keyring,
  );
}

export function snapshotStoreContract(name: string, open: () => Promise<SnapshotStoreHandle>): void {
  describe(`SnapshotStore contract: ${name}`, () => {
    const withStore = (title: string, fn: (h: SnapshotStoreHandle) => Promise<void>) =>
      test(title, { timeout: 60_000 }, async () => {
        const h = await open();
        try {
          await fn(h);
        } finally {
          await h.dispose();
        }
      });

    withStore('absent is undefined; saved is loaded back field for field', async ({ store }) => {
      assert.equal(await store.load('tally'), undefined);
      const s = snapshotOf('tally');
      await store.save(s);
      assert.deepEqual(await store.load('tally'), s);
      assert.equal(await store.load('tall'), undefined, 'only the exact agent name');
    });

    withStore('a new snapshot replaces the old; agents keep their own; names with any characters', async ({ store }) => {
      await store.save(snapshotOf('a'));
      await store.save(snapshotOf('agent:compute/1 x.y'));
      const newer = snapshotOf('a', { position: 99, covered: null, handled: [], heads: [] });
      await store.save(newer);
      assert.deepEqual(await store.load('a'), newer);
      assert.equal((await store.load('agent:compute/1 x.y'))!.position, 42);
    });

    withStore('a snapshot of several megabytes round-trips, and a smaller one after it replaces it whole', async ({ store }) => {
      const big = snapshotOf('big', { state: JSON.stringify({ blob: randomBytes(1_500_000).toString('base64') }), handled: Array.from({ length: 20_000 }, (_, i) => `input-${i}`) });
      await store.save(big);
      assert.deepEqual(await store.load('big'), big);
      const small = snapshotOf('big', { position: 7 });
      await store.save(small);
      assert.deepEqual(await store.load('big'), small);
    });

    withStore('snapshots survive a reopen', async (h) => {
      const s = snapshotOf('durable');
      await h.store.save(s);
      const again = await h.reopen();
      assert.deepEqual(await again.load('durable'), s);
    });
  });
}
