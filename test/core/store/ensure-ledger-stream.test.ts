// test-file-timeout: 30
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JetStreamManager, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import { ensureLedgerStream } from '../../../core/store/jetstream-store.ts';

/**
 * The replica count the store works with decides how it reads (a replicated ledger is never
 * guessed at and is read from its leader), so it must be the stream's own, also when another
 * process created the stream first. A fake manager plays that race: the first look finds
 * nothing, the add fails with "already in use", and the stream is then there with 3 replicas.
 */
function racingManager(existing: { replicas: number; subjects: string[] }): { jsm: JetStreamManager; adds: Array<Partial<StreamConfig>> } {
  let looks = 0;
  const adds: Array<Partial<StreamConfig>> = [];
  const notFound = Object.assign(new Error('stream not found'), { code: 10059 });
  const jsm = {
    streams: {
      info: async (name: string) => {
        if (looks++ === 0) throw notFound;
        // As CACO creates a ledger stream: no limits, deletes and purges denied (ledgerStreamDefect).
        return { config: { name, subjects: existing.subjects, num_replicas: existing.replicas, deny_delete: true, deny_purge: true } } as unknown as StreamInfo;
      },
      add: async (cfg: Partial<StreamConfig>) => {
        adds.push(cfg);
        throw new Error('stream name already in use with a different configuration');
      },
    },
  } as unknown as JetStreamManager;
  return { jsm, adds };
}

describe('ensureLedgerStream', { timeout: 10_000 }, () => {
  test('a stream another process created first: its own replica count, not the one asked for', async () => {
    const { jsm, adds } = racingManager({ replicas: 3, subjects: ['caco.s1.ledger.>'] });
    assert.equal(await ensureLedgerStream(jsm, 'CACO_S1', 'caco.s1.ledger.', { site: 's1', replicas: 1 }), 3);
    assert.equal(adds.length, 1);
    assert.equal(adds[0]!.num_replicas, 1, 'it did ask for what it was configured with');
  });

  test('a stream another process created first on other subjects is refused, naming the site', async () => {
    const { jsm } = racingManager({ replicas: 1, subjects: ['elsewhere.>'] });
    await assert.rejects(ensureLedgerStream(jsm, 'CACO_S1', 'caco.s1.ledger.', { site: 's1' }), /site.*does not hold caco\.s1\.ledger\.>/s);
  });

  test('a stream it creates itself: the replica count the server reports, not the one asked for', async () => {
    const asked: Array<number | undefined> = [];
    // The server's answer differs from the request here only so that the test can tell which
    // one the function returned (a server may apply its own placement or defaults).
    const jsm = {
      streams: {
        info: async () => {
          throw Object.assign(new Error('stream not found'), { code: 10059 });
        },
        add: async (cfg: Partial<StreamConfig>) => {
          asked.push(cfg.num_replicas);
          return { config: { ...cfg, num_replicas: 3 } } as unknown as StreamInfo;
        },
      },
    } as unknown as JetStreamManager;
    assert.equal(await ensureLedgerStream(jsm, 'CACO_S1', 'caco.s1.ledger.', { site: 's1', replicas: 1 }), 3);
    assert.deepEqual(asked, [1]);
  });
});
