// test-file-timeout: 120
/**
 * A retried append is answered with what is stored under its ids. Event ids can be predicted
 * (an agent's derive from its input), so a row put under one first was answered, unchecked, as
 * the append on PostgreSQL (as it had been on SQLite: sqlite-preclaimed-id.test.ts), and its
 * caller folded the forged content. Stored rows count as the append only if they verify. A row
 * under one of the ids that cannot be read at all failed the whole group with a bare
 * SyntaxError; now only the append that names it is refused, naming the position.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CorruptCommitError } from '../../../core/store/jetstream-commit.ts';
import { postgresSkip } from '../../support/postgres.ts';
import { count, ev, forge, H, rejection, withStore } from './postgres-hostile-rows.ts';

// Before the first describe: node:test runs only what is declared before the module's first await.
const skip = await postgresSkip();

describe('PostgresEventStore: a row under an id this append will use', { skip, timeout: 120_000 }, () => {
  test('is not answered as the append unless it verifies; a true retry still is', async () => {
    await withStore('pc', async (store, _keyring, schema) => {
      const e1 = ev(1);
      const first = await store.append('order-1', [e1], 'any');
      const again = await store.append('order-1', [e1], 'any');
      assert.equal(again.events[0]!.hash, first.events[0]!.hash, 'a true retry answers what is stored');
      assert.equal(again.position, first.position);

      const predicted = randomUUID();
      await forge(store, schema, { position: 2, id: predicted, stream: 'order-1', revision: 1, prevHash: first.events[0]!.hash, hash: H('f'), sig: 'AAAA', data: '{"kw":999999}' });
      const err = await rejection(store.append('order-1', [{ ...ev(5), id: predicted }], 'any'));
      assert.ok(err instanceof CorruptCommitError, `${err.name}: ${err.message}`);
      assert.match(err.message, /do not verify/);
      assert.equal((err as CorruptCommitError).seq, 2, 'names the position of the row');
      assert.equal(await count(store, schema), 2, 'nothing written');
    });
  });

  test('a row under one of its ids that cannot be read refuses that append only, naming its position; the rest of the group is stored', async () => {
    await withStore('pu', async (store, _keyring, schema) => {
      await store.append('order-1', [ev(1)], 'any');
      const predicted = randomUUID();
      await forge(store, schema, { position: 7, id: predicted, stream: 'order-9', revision: 0, prevHash: H('0'), hash: H('e'), data: 'not json' });
      // In the same turn: one group.
      const [bad, good] = await Promise.allSettled([store.append('order-2', [{ ...ev(2), id: predicted }], 'any'), store.append('order-3', [ev(3)], 'any')]);
      assert.equal(bad.status, 'rejected');
      const err = (bad as PromiseRejectedResult).reason as Error;
      assert.ok(err instanceof CorruptCommitError, `${err.name}: ${err.message}`);
      assert.equal((err as CorruptCommitError).seq, 7);
      assert.match(err.message, /cannot be read/);
      assert.equal(good.status, 'fulfilled', good.status === 'rejected' ? String((good as PromiseRejectedResult).reason) : '');
    });
  });
  test('a row at revision -2^31 under a predicted id refuses that append only; the others in its group are stored', async () => {
    // Found by a helper's review: revision - 1 in integer overflowed, and the whole group failed
    // with a bare DatabaseError (integer out of range), unrelated streams' appends included.
    await withStore('pr', async (store, _keyring, schema) => {
      await store.append('order-1', [ev(1)], 'any');
      const predicted = randomUUID();
      await forge(store, schema, { position: 2, id: predicted, stream: 'x-1', revision: -2147483648, prevHash: H('0'), hash: H('f') });
      const [victim, planted] = await Promise.allSettled([store.append('victim-1', [ev(2)], 'any'), store.append('order-2', [{ ...ev(3), id: predicted }], 'any')]);
      assert.equal(victim.status, 'fulfilled', victim.status === 'rejected' ? String(victim.reason) : '');
      assert.equal(planted.status, 'rejected');
      // Refused as any stored id on another stream is (a retry must repeat the same events), not by the database.
      assert.match(planted.status === 'rejected' ? String(planted.reason) : '', /^InvalidArgumentError: events\[0\]\.id: a retried append/);
    });
  });
});
