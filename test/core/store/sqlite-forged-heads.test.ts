// test-file-timeout: 60
/**
 * A forged row at a stream's head in the SQLite file (the store is hostile): the writer chained
 * on whatever row was last, so every later real append to the stream sealed a chain every reader
 * refused, for good, and expected-revision appends failed against a forged revision. As on
 * PostgreSQL (postgres-forged-heads.test.ts), the writer seals only on a head that verifies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { CorruptCommitError } from '../../../core/store/jetstream-commit.ts';
import { ConcurrencyError } from '../../../core/errors/errors.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { verifyLedger } from '../../../core/ledger/index.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';

const ev = (n: number): NewEvent => ({ id: randomUUID(), type: 'test.thing.happened', version: 1, time: '2024-01-01T00:00:00.000Z', source: 'agent', correlationId: 'c', causationId: null, data: { n } });
const H = (c: string) => c.repeat(64);

function forge(store: SqliteEventStore, row: { stream: string; revision: number; prevHash: string; hash: string }): void {
  store.unsafeExec(
    `INSERT INTO events (id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig) VALUES (?, ?, ?, 'test.thing.happened', 1, '2024-01-01T00:00:00.000Z', 'agent', 'c', NULL, '{"n":666}', ?, ?, 'x')`,
    `forged-${randomUUID()}`, row.stream, row.revision, row.prevHash, row.hash,
  );
}

describe('SqliteEventStore: a forged row at a stream head is never chained on', { timeout: 60_000 }, () => {
  for (const reopen of [false, true]) {
    test(`a wrong prevHash and a revision far ahead are refused by name; other streams go on${reopen ? ' (a writer that never wrote them)' : ''}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'caco-sqlite-heads-'));
      const keyring = new MemoryKeyring('sqlite-heads');
      const path = join(dir, 'ledger.db');
      let store = new SqliteEventStore({ path, keyring });
      try {
        for (const s of ['s-1', 's-2', 's-3']) await store.append(s, [ev(1)], 'any');
        forge(store, { stream: 's-1', revision: 1, prevHash: H('b'), hash: H('a') });
        forge(store, { stream: 's-2', revision: 1000, prevHash: H('b'), hash: H('c') });
        if (reopen) {
          await store.close();
          store = new SqliteEventStore({ path, keyring });
        }
        await assert.rejects(store.append('s-1', [ev(2)], 'any'), (e: unknown) => e instanceof CorruptCommitError && /stream "s-1"/.test(e.message) && /revision 1 at position 4/.test(e.message));
        await assert.rejects(store.append('s-2', [ev(2)], 0), (e: unknown) => !(e instanceof ConcurrencyError) && e instanceof CorruptCommitError && /stream "s-2"/.test(e.message));
        const ok = await store.append('s-3', [ev(2)], 0);
        assert.equal(ok.nextExpected, 1);
        const report = await verifyLedger(store, keyring, () => undefined);
        assert.deepEqual(report.broken.map((b) => b.stream).sort(), ['s-1', 's-2'], 'only the forged rows are broken: what the writer sealed verifies');
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
