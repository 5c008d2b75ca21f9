/**
 * A nats-server of our own is stopped and started again on the same data directory: the
 * ledger and the checkpoints survive, a live subscription carries on where it was, and a new
 * process resumes from its checkpoint.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { NatsBus } from '../../core/bus/nats-bus.ts';
import { NatsServerProcess, natsServerInstalled } from '../../deploy/local/nats-server.ts';
import { assertChains, newEvent } from './store-contract.ts';
import { eventually } from './bus-contract.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A graceful close waits for the server; if it is gone, close the connection outright. */
async function closeWithin(graceful: Promise<void>, nc: { close(): Promise<void> }, ms = 5000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([graceful.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  await nc.close().catch(() => undefined);
}

const skip = natsServerInstalled() || process.env['CI'] === 'true' ? false : 'nats-server is not installed (apt-get install nats-server)';

describe('NATS restart', { skip, timeout: 120_000 }, () => {
  let server: NatsServerProcess;
  // Clients are closed even when an assertion fails first: a client left reconnecting to a
  // stopped server would keep the test process alive.
  const closeAfter: Array<() => Promise<void>> = [];
  before(async () => {
    server = await NatsServerProcess.start();
  });
  afterEach(async () => {
    for (const close of closeAfter.splice(0)) await close().catch(() => undefined);
  });
  after(async () => {
    await server?.dispose();
  });

  test('ledger and checkpoints survive a server restart; a live subscription and a new process resume', async () => {
    const keyring = new MemoryKeyring('restart');
    const store = await JetStreamEventStore.connect({ servers: server.url, site: 'restart', keyring, ackTimeoutMs: 2000 });
    closeAfter.push(() => closeWithin(store.close(), store.nc));
    const first = await store.append('job-1', [newEvent(), newEvent()], 'no-stream');
    const got: Envelope[] = [];
    const sub = await store.subscribeAll(async (e) => {
      got.push(e);
      await store.put('projector', e.position);
    });
    await sub.caughtUp();
    assert.equal(got.length, 2);

    await server.restart();

    // The client reconnects on its own; appends go on with the chain intact.
    const second = await store.append('job-1', [newEvent()], 1);
    assert.equal(second.events[0]!.prevHash, first.events[1]!.hash);
    await eventually(() => got.length === 3, 'the live subscription to deliver the event appended after the restart', 30_000);
    assert.equal(got[2]!.id, second.events[0]!.id);
    await eventually(() => sub.position === second.position, 'the subscription position');
    await sub.close();
    const checkpoint = await store.get('projector');
    assert.equal(checkpoint, second.position);
    await store.close();

    await server.restart();

    // A new process: reads the checkpoint and resumes exactly after it.
    const again = await JetStreamEventStore.connect({ servers: server.url, site: 'restart', keyring, ackTimeoutMs: 2000 });
    closeAfter.push(() => closeWithin(again.close(), again.nc));
    const third = await again.append('job-2', [newEvent()], 'no-stream');
    assert.equal(await again.get('projector'), checkpoint);
    const resumed: Envelope[] = [];
    const sub2 = await again.subscribeAll((e) => void resumed.push(e), { from: await again.get('projector') });
    await sub2.caughtUp();
    await sub2.close();
    assert.deepEqual(resumed.map((e) => e.id), [third.events[0]!.id]);
    const all = await collect(again.readAll());
    assert.equal(all.length, 4);
    assertChains(all, keyring);
    await again.close();
  });

  test('a bus subscription keeps receiving after the server restarts', async () => {
    const bus = await NatsBus.connect({ servers: server.url });
    closeAfter.push(() => closeWithin(bus.close(), bus.nc));
    const got: string[] = [];
    await bus.subscribe('caco.restart.evt.>', (m) => void got.push(new TextDecoder().decode(m.data)));
    await bus.publish('caco.restart.evt.a', new TextEncoder().encode('before'));
    await bus.flush();
    await eventually(() => got.length === 1, 'the first message');
    await server.restart();
    // Publishes while reconnecting are buffered by the client and sent once it is back.
    await eventually(() => bus.nc.status !== undefined && !bus.nc.isClosed(), 'the connection');
    const deadline = Date.now() + 30_000;
    while (got.length < 2 && Date.now() < deadline) {
      await bus.publish('caco.restart.evt.b', new TextEncoder().encode('after')).catch(() => undefined);
      await bus.flush().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(got[0], 'before');
    assert.equal(got[1], 'after');
    await bus.close();
  });
});
