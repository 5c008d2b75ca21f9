// test-file-timeout: 180
/**
 * Several writer processes on one SQLite ledger file, as two `caco` processes on one data
 * directory would be: every append succeeds (the write lock is taken before the reads that
 * decide an append, so no process is refused for another's commit), positions stay total and
 * gapless, every stream chains and verifies, and expected revisions hold across processes.
 */
import { after, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import { assertWritersLedger, killChildren, runChild, WRITER, writersKeyring, type WriterResult } from './multi-writer.ts';

describe('SQLite ledger with several writer processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-sqlite-mw-'));
  after(() => {
    killChildren();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const signing of ['main-thread', 'worker'] as const) {
    test(`4 processes append at once to shared and own streams (signing ${signing}): none refused, positions 1..n, every chain verifies`, { timeout: 150_000 }, async () => {
      const path = join(dir, `ledger-${signing}.db`);
      const keyring = writersKeyring([0, 1, 2, 3].map((w) => `writer-${w}`));
      // The file exists before the writers start, as a site's does.
      await new SqliteEventStore({ path, keyring }).close();
      const rounds = 150;
      const results = await Promise.all([0, 1, 2, 3].map((w) => runChild<WriterResult>(WRITER, ['sqlite', path, signing, String(w), String(rounds)])));
      const store = new SqliteEventStore({ path, keyring });
      try {
        const { events, conflicts } = await assertWritersLedger(store, results, 4, rounds);
        process.stderr.write(`sqlite multi-writer (signing ${signing}): ${events} events from 4 processes, ${conflicts} concurrency conflicts retried\n`);
      } finally {
        await store.close();
      }
    });
  }
});
