// test-file-timeout: 180
/**
 * A retried append on a 3-replica ledger (a real 3-node cluster from deploy/nats). A
 * clustered 2.9 leader checks the expected sequence before the message id, so a re-send of a
 * stored commit is refused as a conflict, never answered "duplicate": the store must find the
 * stored commit by reading. And appends to streams the process has not seen, whose heads it
 * now reads rather than guesses, still land once each (the guess itself, a failed proposal
 * that can make the replicas disagree, nats-server#4365, is not visible to a client).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NatsCluster } from '../../deploy/local/nats-cluster.ts';
import { natsServerInstalled } from '../../deploy/local/nats-server.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { ConcurrencyError } from '../../core/errors/errors.ts';
import { newEvent } from '../contract/store-contract.ts';
import { checkRawLedger } from './raw-ledger.ts';

const skip = natsServerInstalled() || process.env['CI'] === 'true' ? false : 'nats-server is not installed (apt-get install nats-server)';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('retried appends on a 3-replica ledger', { skip, timeout: 150_000 }, () => {
  let cluster: NatsCluster | undefined;
  const stores: JetStreamEventStore[] = [];
  const keyring = new MemoryKeyring('retried-append');
  const open = async (site: string) => {
    const s = await JetStreamEventStore.connect({ servers: cluster!.urls, site, keyring, replicas: 3 });
    stores.push(s);
    return s;
  };
  before(async () => {
    cluster = await NatsCluster.start();
  });
  after(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await cluster?.dispose();
  });

  test('another process retrying a stored append with the revision it expected gets the stored events; nothing is stored twice', async () => {
    const first = await open('retry-a');
    const evs = [newEvent(), newEvent()];
    const stored = await first.append('order-1', evs, 'no-stream');
    await first.append('order-1', [newEvent()], 1);
    // A second process (no memory of the first's appends) retries the first append.
    const second = await open('retry-a');
    const again = await second.append('order-1', evs, 'no-stream');
    assert.deepEqual(again.events, stored.events);
    const againAny = await second.append('order-1', evs, 'any');
    assert.deepEqual(againAny.events, stored.events);
    // The first process too, with its head past the commit.
    assert.deepEqual((await first.append('order-1', evs, 'no-stream')).events, stored.events);
    // A different append at a stale revision is still a conflict.
    await assert.rejects(second.append('order-1', [newEvent()], 0), ConcurrencyError);
    assert.equal((await collect(second.readStream('order-1'))).length, 3);
    const raw = await checkRawLedger(cluster!.urls, first.streamName);
    assert.deepEqual(raw.breaks, []);
    assert.equal(raw.messages, 2, 'two commits, no copy of the retried one');
  });

  test("appends to streams the process has not seen, with 'any', land once each and in order", async () => {
    const a = await open('retry-b');
    await a.append('s-1', [newEvent()], 'no-stream');
    const b = await open('retry-b');
    // b has not seen s-1.
    const r = await b.append('s-1', [newEvent()], 'any');
    assert.equal(r.nextExpected, 1);
    await b.append('s-2', [newEvent()], 'any');
    const raw = await checkRawLedger(cluster!.urls, a.streamName);
    assert.deepEqual(raw.breaks, []);
    assert.equal(raw.events, 3);
  });
});
