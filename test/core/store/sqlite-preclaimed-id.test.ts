// test-file-timeout: 60
/**
 * A retried append is answered with what is stored under its ids. Event ids can be predicted
 * (an agent's derive from its input), so a row put under one first was answered, unchecked, as
 * the append, and its caller folded it. Stored rows count as the append only if they verify.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { CorruptCommitError } from '../../../core/store/jetstream-commit.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';

const ev = (id: string, kw: number): NewEvent => ({ id, type: 'test.thing.happened', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'agent', correlationId: 'c', causationId: null, data: { kw } });

describe('SQLite: a row under an id this append will use', { timeout: 60_000 }, () => {
  test('is not answered as the append unless it verifies; a true retry still is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-preclaim-'));
    const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring: new MemoryKeyring('preclaim') });
    try {
      const first = await store.append('order-1', [ev(randomUUID(), 1)], 'any');
      const again = await store.append('order-1', [ev(first.events[0]!.id, 1)], 'any');
      assert.equal(again.events[0]!.hash, first.events[0]!.hash, 'a true retry answers what is stored');

      const predicted = randomUUID();
      store.unsafeExec(
        `INSERT INTO events (id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig) VALUES ('${predicted}', 'order-1', 1, 'test.thing.happened', 1, 'x', 'agent', 'c', NULL, '{"kw":999999}', '${'0'.repeat(64)}', '${'f'.repeat(64)}', 'AAAA')`,
      );
      await assert.rejects(store.append('order-1', [ev(predicted, 5)], 'any'), (e: unknown) => e instanceof CorruptCommitError && /do not verify/.test(e.message));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
