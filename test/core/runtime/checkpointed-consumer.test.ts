/**
 * A projection that follows the ledger with startCheckpointedConsumer cannot miss or
 * double-count: it resumes from its checkpoint after a restart, and skips a copy of an event
 * it has handled, whether the copy comes at the same position or at another one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Envelope, NewEvent } from '../../../core/envelope/envelope.ts';
import type { CheckpointStore, EventStore, StoreSubscription } from '../../../core/store/event-store.ts';
import { isNewDelivery, RecentIds, startCheckpointedConsumer } from '../../../core/store/checkpointed-consumer.ts';
import { embeddedStack } from '../../support/embedded.ts';

let n = 0;
const ev = (): NewEvent => ({ id: `cc-${++n}`, type: 'test.item.added', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'a', correlationId: 'c', causationId: null, data: { n } });

/** A store that delivers a fixed sequence, as a store with re-sent commits might. */
function scriptedStore(deliveries: ReadonlyArray<Pick<Envelope, 'id' | 'position'>>): EventStore {
  return {
    subscribeAll: async (handler: (e: Envelope) => void | Promise<void>, opts?: { from?: number }): Promise<StoreSubscription> => {
      let pos = opts?.from ?? 0;
      for (const d of deliveries) {
        if (d.position <= (opts?.from ?? 0)) continue;
        await handler(d as Envelope);
        pos = d.position;
      }
      return { position: pos, close: async () => undefined, caughtUp: async () => undefined };
    },
  } as unknown as EventStore;
}

const memoryCheckpoints = (): CheckpointStore => {
  const m = new Map<string, number>();
  return { get: async (k) => m.get(k) ?? 0, put: async (k, v) => void m.set(k, v) };
};

describe('checkpointed consumer', { timeout: 60_000 }, () => {
  test('property: whatever copies a store delivers, each event id is handled once, in first-seen order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 80 }),
        async (ids) => {
          // Positions only grow; ids repeat (a copy re-sent later lands at a later position).
          const deliveries = ids.map((k, i) => ({ id: `e${k}`, position: i + 1 }));
          const got: string[] = [];
          const c = await startCheckpointedConsumer({ store: scriptedStore(deliveries), checkpoints: memoryCheckpoints(), name: 'p', handler: (e) => void got.push(e.id) });
          const firstSeen = [...new Set(deliveries.map((d) => d.id))];
          assert.deepEqual(got, firstSeen);
          assert.equal(c.handled + c.duplicatesSkipped, deliveries.length);
          await c.close();
        },
      ),
      { numRuns: 200 },
    );
  });

  test('the rule alone: not past the last position, or an id already handled, is not new', () => {
    const seen = new RecentIds(2);
    assert.equal(isNewDelivery({ id: 'a', position: 5 }, 4, seen), true);
    seen.add('a');
    assert.equal(isNewDelivery({ id: 'a', position: 9 }, 5, seen), false);
    assert.equal(isNewDelivery({ id: 'b', position: 5 }, 5, seen), false);
    seen.add('b');
    seen.add('c');
    // Bounded: the oldest id is forgotten.
    assert.equal(seen.has('a'), false);
    assert.equal(seen.has('c'), true);
  });

  test('on the SQLite ledger: a restart resumes from the checkpoint; events appended while down are handled once', async () => {
    const s = embeddedStack('cc');
    try {
      for (let i = 0; i < 150; i++) await s.store.append(`thing-${i % 7}`, [ev()], 'any');
      const got: string[] = [];
      let c = await startCheckpointedConsumer({ store: s.store, checkpoints: s.store, name: 'projection.test', handler: (e) => void got.push(e.id), checkpointEvery: 40 });
      await c.caughtUp();
      await c.close();
      for (let i = 0; i < 60; i++) await s.store.append('thing-9', [ev()], 'any');
      c = await startCheckpointedConsumer({ store: s.store, checkpoints: s.store, name: 'projection.test', handler: (e) => void got.push(e.id), checkpointEvery: 40 });
      await c.caughtUp();
      await c.close();
      const stored: string[] = [];
      for await (const e of s.store.readAll()) stored.push(e.id);
      assert.deepEqual(got, stored);
      assert.equal(await s.store.get('projection.test'), c.position);
    } finally {
      await s.close();
    }
  });
});
