// test-file-timeout: 180
/**
 * A forged row at a stream's head in the PostgreSQL table (the store is hostile,
 * docs/verify-on-read.md): the next revision with a wrong prevHash, a revision far ahead, a
 * head changed in place, an unsigned head, a head removed. The writer chained on whatever row
 * was last, so every later real append to the stream sealed a chain every reader refused (for
 * good: "revision 2 follows 0"), and expected-revision appends failed against the forged
 * revision ("stream is at revision 1002"); one forged row in `callbacks` silently stopped every
 * later callback. Now the writer seals only on a head that verifies (WriterHeads, as the
 * JetStream writer's loadHead), and refuses the append otherwise, naming stream and position
 * (docs/postgres-store.md, "Verified heads").
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { PostgresEventStore } from '../../../core/store/postgres-store.ts';
import { VerifiedEventStore } from '../../../core/store/verified-store.ts';
import { MemoryQuarantineStore } from '../../../core/store/memory-quarantine.ts';
import { CorruptCommitError } from '../../../core/store/jetstream-commit.ts';
import { ConcurrencyError } from '../../../core/errors/errors.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { postgresSkip, postgresUrl } from '../../support/postgres.ts';
import { count, ev, forge, H, quiet, rejection, withStore } from './postgres-hostile-rows.ts';

// Before the first describe: node:test runs only what is declared before the module's first await.
const skip = await postgresSkip();


async function verifiedRead(store: PostgresEventStore, keyring: MemoryKeyring): Promise<{ events: Envelope[]; quarantined: number[] }> {
  const quarantine = new MemoryQuarantineStore();
  const v = new VerifiedEventStore(store, { keys: keyring, quarantine, log: quiet });
  const events: Envelope[] = [];
  for await (const e of v.readAll()) events.push(e);
  return { events, quarantined: (await quarantine.quarantined()).map((r) => r.position) };
}

describe('PostgresEventStore: a forged row at a stream head is never chained on', { skip }, () => {
  test('the next revision with a wrong prevHash, and a revision far ahead: appends are refused naming stream and position, nothing is written, other streams go on', async () => {
    await withStore('hh', async (store, keyring, schema) => {
      await store.append('s-1', [ev(1)], 'any'); // position 1
      await store.append('s-2', [ev(1)], 'any'); // position 2
      await store.append('s-3', [ev(1)], 'any'); // position 3
      await forge(store, schema, { position: 4, stream: 's-1', revision: 1, prevHash: H('b'), hash: H('a') });
      await forge(store, schema, { position: 5, stream: 's-2', revision: 1000, prevHash: H('b'), hash: H('c') });

      // Appends to s-1 and s-3 in the same group: s-1's is refused, s-3's goes on.
      const [r1, r3] = await Promise.allSettled([store.append('s-1', [ev(2)], 'any'), store.append('s-3', [ev(2)], 'any')]);
      assert.equal(r1.status, 'rejected');
      const e1 = (r1 as PromiseRejectedResult).reason as Error;
      assert.ok(e1 instanceof CorruptCommitError, `a CorruptCommitError, got ${e1.name}: ${e1.message}`);
      assert.equal((e1 as CorruptCommitError).seq, 4);
      assert.match(e1.message, /stream "s-1"/);
      assert.match(e1.message, /revision 1 at position 4/);
      assert.match(e1.message, /prevHash/);
      assert.equal(r3.status, 'fulfilled');
      assert.equal((r3 as PromiseFulfilledResult<{ position: number }>).value.position, 6);

      // s-2: an expected-revision append gets the forgery named, not a ConcurrencyError against revision 1000.
      const e2 = await rejection(store.append('s-2', [ev(2)], 0));
      assert.ok(!(e2 instanceof ConcurrencyError), e2.message);
      assert.ok(e2 instanceof CorruptCommitError, `${e2.name}: ${e2.message}`);
      assert.equal((e2 as CorruptCommitError).seq, 5);
      assert.match(e2.message, /stream "s-2"/);
      assert.match(e2.message, /revision 1000 follows 0/);
      const e2b = await rejection(store.append('s-2', [ev(3)], 'any'));
      assert.ok(e2b instanceof CorruptCommitError, e2b.message);
      assert.equal(await count(store, schema), 6, 'nothing written for the refused appends');

      // A writer process that never saw the stream (no cached head) refuses it too.
      const other = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring, pollMs: 50 });
      try {
        const e3 = await rejection(other.append('s-1', [ev(9)], 'any'));
        assert.ok(e3 instanceof CorruptCommitError, e3.message);
        assert.match(e3.message, /stream "s-1"/);
        // ...and chains on what it verified of a stream it never wrote.
        const ok = await other.append('s-3', [ev(3)], 1);
        assert.equal(ok.nextExpected, 2);
      } finally {
        await other.close();
      }
      // The first writer verifies the other's append (its cached head is behind) and chains on it.
      assert.equal((await store.append('s-3', [ev(4)], 2)).nextExpected, 3);

      const { events, quarantined } = await verifiedRead(store, keyring);
      assert.deepEqual(quarantined, [4, 5], 'only the forged rows are refused by readers');
      assert.deepEqual(events.map((e) => `${e.stream}@${e.revision}`), ['s-1@0', 's-2@0', 's-3@0', 's-3@1', 's-3@2', 's-3@3']);
    });
  });

  test('a head changed in place, an unsigned head, a head replaced or removed under the writer: refused', async () => {
    await withStore('hc', async (store, keyring, schema) => {
      for (const stream of ['a', 'a2', 'b', 'c']) await store.append(stream, [ev(1)], 'any'); // positions 1-4
      await store.append('d', [ev(1)], 'any'); // 5
      await store.append('d', [ev(2)], 'any'); // 6
      // a: the head's data changed in place (its hash column kept). A writer that never wrote
      // the stream refuses it: its content no longer hashes to its hash.
      await store.unsafeExec(`UPDATE ${schema}.events SET data = '{"n":2}' WHERE stream = 'a'`);
      const fresh = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring, pollMs: 50 });
      try {
        const ea = await rejection(fresh.append('a', [ev(2)], 'any'));
        assert.ok(ea instanceof CorruptCommitError, ea.message);
        assert.equal((ea as CorruptCommitError).seq, 1);
        assert.match(ea.message, /stream "a"/);
        assert.match(ea.message, /hash mismatch/);
      } finally {
        await fresh.close();
      }
      // The writer that sealed it chains on the hash it sealed, which readers accept after the
      // changed event (its successor vouches for that hash): the changed event alone is refused.
      assert.equal((await store.append('a', [ev(2)], 0)).position, 7);
      // a2: the head replaced (its data and hash changed): not the head this writer sealed.
      await store.unsafeExec(`UPDATE ${schema}.events SET data = '{"n":2}', hash = $1 WHERE stream = 'a2'`, H('e'));
      const ea2 = await rejection(store.append('a2', [ev(2)], 'any'));
      assert.ok(ea2 instanceof CorruptCommitError, ea2.message);
      assert.match(ea2.message, /stream "a2"/);
      assert.match(ea2.message, /revision 0 at position 2/);
      // b: a forged next event that is well formed and hashes right, but carries no signature.
      const [b0] = await store.unsafeQuery<{ hash: string }>(`SELECT hash FROM ${schema}.events WHERE stream = 'b'`);
      const { hashEvent } = await import('../../../core/ledger/seal.ts');
      const forgedB = { ...ev(5), stream: 'b', revision: 1, prevHash: b0!.hash };
      const hashB = hashEvent(forgedB as unknown as Envelope);
      await store.unsafeExec(
        `INSERT INTO ${schema}.events (position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig, covers) VALUES (100, $1, 'b', 1, $2, 1, $3, 'agent', 'c', NULL, $4, $5, $6, '', NULL)`,
        forgedB.id, forgedB.type, forgedB.time, JSON.stringify(forgedB.data), forgedB.prevHash, hashB,
      );
      const eb = await rejection(store.append('b', [ev(6)], 'any'));
      assert.ok(eb instanceof CorruptCommitError, eb.message);
      assert.match(eb.message, /revision 1 at position 100/);
      assert.match(eb.message, /no signed head/);
      // c: the head this writer sealed was removed: the stream is not started again at revision 0.
      await store.unsafeExec(`DELETE FROM ${schema}.events WHERE stream = 'c'`);
      const ec = await rejection(store.append('c', [ev(2)], 'any'));
      assert.ok(ec instanceof CorruptCommitError, ec.message);
      assert.match(ec.message, /stream "c"/);
      assert.match(ec.message, /no event of it/);
      // d: its last event deleted: the table's head is an earlier event than the one this writer sealed.
      await store.unsafeExec(`DELETE FROM ${schema}.events WHERE stream = 'd' AND revision = 1`);
      const ed = await rejection(store.append('d', [ev(3)], 'any'));
      assert.ok(ed instanceof CorruptCommitError, ed.message);
      assert.match(ed.message, /stream "d"/);
      assert.match(ed.message, /does not follow revision 1/);
      assert.equal(await count(store, schema), 6, 'nothing written for the refused appends (7 rows, one forged, two deleted)');

      const { events, quarantined } = await verifiedRead(store, keyring);
      assert.deepEqual(quarantined, [1, 2, 100]);
      assert.deepEqual(events.filter((e) => e.stream === 'a').map((e) => e.revision), [1]);
    });
  });

  test('a forged row in the callbacks stream does not silently stop later callbacks: the append says why', async () => {
    await withStore('hcb', async (store, _keyring, schema) => {
      await store.append('callbacks', [ev(1, 'gateway')], 'any');
      await forge(store, schema, { position: 2, stream: 'callbacks', revision: 1, prevHash: H('0'), hash: H('1') });
      const err = await rejection(store.append('callbacks', [ev(2, 'gateway')], 'any'));
      assert.ok(err instanceof CorruptCommitError, err.message);
      assert.match(err.message, /stream "callbacks"/);
      assert.match(err.message, /position 2/);
    });
  });
});
