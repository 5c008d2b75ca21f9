// test-file-timeout: 600
/**
 * The EventStore contract (the same suite SQLite and JetStream pass) against a KurrentDB
 * container started with testcontainers, plus what only this adapter has to show: two
 * writer processes (two clients) on one site log.
 *
 * Where no Docker engine runs, the file knows at once (socket / DOCKER_HOST first, then
 * testcontainers with a short limit) and skips with the reason; see deploy/local/docker.ts.
 * CACO_KURRENTDB_URL points the tests at a running KurrentDB instead of a container.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { ConcurrencyError } from '../../core/errors/errors.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { dockerSkip } from '../../deploy/local/docker.ts';
import { uniqueToken } from '../support/nats.ts';
import { assertChains, newEvent, storeContract } from './store-contract.ts';

const IMAGE = process.env['CACO_KURRENTDB_IMAGE'] || 'kurrentplatform/kurrentdb:latest';
const given = process.env['CACO_KURRENTDB_URL'];
const skip = given ? false : await dockerSkip('KurrentDB contract tests');

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

if (skip) {
  describe('EventStore contract: KurrentDbEventStore', { skip }, () => undefined);
} else {
  const { KurrentDbEventStore } = await import('../../core/store/kurrentdb-store.ts');
  let url = given ?? '';
  let stopContainer: (() => Promise<unknown>) | undefined;

  before(async () => {
    if (given) return;
    const { GenericContainer, Wait } = await import('testcontainers');
    const started = await new GenericContainer(IMAGE)
      .withExposedPorts(2113)
      .withEnvironment({ KURRENTDB_CLUSTER_SIZE: '1', KURRENTDB_INSECURE: 'true', KURRENTDB_RUN_PROJECTIONS: 'None', KURRENTDB_MEM_DB: 'true' })
      .withStartupTimeout(180_000)
      .withWaitStrategy(Wait.forHealthCheck())
      .start();
    stopContainer = () => started.stop();
    url = `kurrentdb://${started.getHost()}:${started.getMappedPort(2113)}?tls=false`;
  });
  after(async () => {
    await stopContainer?.();
  });

  storeContract('KurrentDbEventStore', async () => {
    const keyring = new MemoryKeyring('contract');
    const opts = { url, site: uniqueToken('ct').toLowerCase(), keyring, pollMs: 20 };
    let current = await KurrentDbEventStore.connect(opts);
    return {
      get store() {
        return current;
      },
      keyring,
      async reopen() {
        await current.close();
        current = await KurrentDbEventStore.connect(opts);
        return current;
      },
      async dispose() {
        await current.destroy().catch(() => undefined);
        await current.close();
      },
    };
  });

  describe('KurrentDbEventStore: two writers on one site log', () => {
    test('appends from two clients interleave with dense positions, one chain per stream, and the loser of a race gets ConcurrencyError', { timeout: 120_000 }, async () => {
      const keyring = new MemoryKeyring('two-writers');
      const site = uniqueToken('tw').toLowerCase();
      const a = await KurrentDbEventStore.connect({ url, site, keyring, pollMs: 20 });
      const b = await KurrentDbEventStore.connect({ url, site, keyring, pollMs: 20 });
      try {
        await Promise.all(
          [a, b].map(async (s, k) => {
            for (let i = 0; i < 30; i++) await s.append(`shared-${i % 3}`, [newEvent({ k, i })], 'any');
          }),
        );
        const all = await collect(a.readAll());
        assert.equal(all.length, 60);
        assert.deepEqual(all.map((e: Envelope) => e.position), Array.from({ length: 60 }, (_, i) => i + 1), 'positions are 1..n without a gap');
        assertChains(all, keyring);
        assert.deepEqual(await b.streamHeads(), await a.streamHeads());
        // Both expect revision 19 of shared-0: exactly one wins, across processes.
        const head = (await a.streamHeads()).find((h) => h.stream === 'shared-0')!.revision;
        const race = await Promise.allSettled([a.append('shared-0', [newEvent()], head), b.append('shared-0', [newEvent()], head)]);
        assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
        const lost = race.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
        assert.ok(lost.reason instanceof ConcurrencyError, String(lost.reason));
      } finally {
        await a.destroy().catch(() => undefined);
        await a.close();
        await b.close();
      }
    });
  });
}
