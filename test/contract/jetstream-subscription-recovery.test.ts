/**
 * A live JetStream subscription recovers on its own from its position when its consumer ends,
 * fails or is deleted on the server, and never delivers a commit twice; a handler's own failure
 * still ends it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';
import { newEvent } from './store-contract.ts';
import { eventually } from './bus-contract.ts';

const skip = await natsSkip();

/** The subscription's live consumer iterator, reached the way the library's own failure would reach it. */
interface Internals {
  msgs?: { stop(err?: Error): void };
  consumer?: { _info?: { name?: string } };
  restarts: number;
  lastRestartReason?: string;
}

describe('JetStream subscription recovery', { skip, timeout: 60_000 }, () => {
  const keyring = new MemoryKeyring('js-recovery');
  const opened: JetStreamEventStore[] = [];
  const open = async () => {
    const s = await JetStreamEventStore.connect({ servers: natsUrl(), site: uniqueToken('rec'), keyring });
    opened.push(s);
    return s;
  };
  after(async () => {
    for (const s of opened) await s.destroy().catch(() => undefined);
    for (const s of opened) await s.close().catch(() => undefined);
  });

  async function liveSubscription(store: JetStreamEventStore, got: Envelope[]) {
    await store.append('job-1', [newEvent()], 'no-stream');
    const sub = await store.subscribeAll((e) => void got.push(e));
    await sub.caughtUp();
    const internals = sub as unknown as Internals;
    await eventually(() => internals.msgs !== undefined, 'the live consumer');
    return { sub, internals };
  }

  test('a consumer that the client library stops with an error is replaced; later commits arrive once', async () => {
    const store = await open();
    const got: Envelope[] = [];
    const { sub, internals } = await liveSubscription(store, got);
    try {
      internals.msgs!.stop(new Error('consumer gave up after 30 re-creations'));
      await store.append('job-1', [newEvent(), newEvent()], 0);
      await eventually(() => got.length === 3, 'the commit appended after the consumer failed', 20_000);
      assert.equal(new Set(got.map((e) => e.id)).size, 3);
      assert.ok(internals.restarts >= 1);
      assert.match(internals.lastRestartReason ?? '', /consumer/);
    } finally {
      await sub.close();
    }
  });

  test('a consumer deleted on the server does not stop delivery', async () => {
    const store = await open();
    const got: Envelope[] = [];
    const { sub, internals } = await liveSubscription(store, got);
    try {
      const jsm = await jetstreamManager(store.nc);
      await jsm.consumers.delete(store.streamName, internals.consumer!._info!.name!);
      for (let i = 0; i < 3; i++) await store.append('job-1', [newEvent()], i);
      await eventually(() => got.length === 4, 'the commits appended after the consumer was deleted', 20_000);
      assert.deepEqual(got.map((e) => e.revision), [0, 1, 2, 3]);
    } finally {
      await sub.close();
    }
  });

  test("the handler's own failure ends the subscription and is reported", async () => {
    const store = await open();
    await store.append('job-1', [newEvent()], 'no-stream');
    const sub = await store.subscribeAll(() => {
      throw new Error('projection bug');
    });
    await assert.rejects(sub.caughtUp(), /projection bug/);
    await sub.close();
  });
});
