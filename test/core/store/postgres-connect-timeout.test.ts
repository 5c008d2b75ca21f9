// test-file-timeout: 30
/**
 * A PostgreSQL server that takes the connection and never answers (black-holed, partitioned, a
 * wrong port that is some other service) held PostgresEventStore.open, and every append, read
 * and close after a broken connection, for as long as TCP kept trying: pg's pools and clients
 * have no connect timeout unless given one. Now they have (CONNECT_TIMEOUT_MS, 10 s by default).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { PostgresEventStore } from '../../../core/store/postgres-store.ts';
import { postgresSkip, postgresUrl, uniqueSchema } from '../../support/postgres.ts';

const skipPg = await postgresSkip();

test('opening a store on a server that never answers fails within the connect timeout, naming it', { timeout: 20_000 }, async () => {
  const sockets: Socket[] = [];
  // Accepts, reads nothing, answers nothing.
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const started = Date.now();
    await assert.rejects(
      PostgresEventStore.open({ connectionString: `postgres://caco@127.0.0.1:${port}/test`, keyring: new MemoryKeyring('t'), connectTimeoutMs: 300 }),
      (err: Error) => /timeout/i.test(err.message),
    );
    const took = Date.now() - started;
    assert.ok(took < 5_000, `gave up after ${took} ms`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('the connect timeout is not a limit on waiting for a free connection: a read queued behind a busy one waits', { timeout: 20_000, skip: skipPg }, async () => {
  const schema = uniqueSchema('ct');
  const store = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring: new MemoryKeyring('t'), poolSize: 1, connectTimeoutMs: 300 });
  try {
    // The one read connection busy for longer than the connect timeout.
    const busy = store.unsafeQuery('SELECT pg_sleep(1)');
    // Before, pg-pool applied the timeout to this wait too: "timeout exceeded when trying to connect".
    assert.equal(await store.headPosition(), 0);
    await busy;
  } finally {
    await store.destroy().catch(() => undefined);
    await store.close();
  }
});

