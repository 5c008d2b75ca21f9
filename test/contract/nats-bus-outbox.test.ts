// test-file-timeout: 60
/**
 * NatsBus hands a turn's publishes to nats.js together (core/bus/nats-bus.ts, `publish`). What
 * must not change: the order of everything the bus sends, as another connection sees it, and
 * a publish that cannot go is refused to its caller at once, not dropped later.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { BusPublishError, connectNats, NatsBus } from '../../core/bus/nats-bus.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';

const skip = await natsSkip();
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('NatsBus publishes held for the turn', { skip }, () => {
  let watcherNc: NatsConnection;
  const t = uniqueToken('outbox');
  before(async () => {
    watcherNc = await connectNats({ servers: natsUrl(), name: 'outbox-watcher' });
  });
  after(async () => {
    await watcherNc?.close();
  });

  test('publishes, a request and a reply leave in the order they were made', async () => {
    const seen: string[] = [];
    const watch = watcherNc.subscribe(`${t}.>`, { callback: (_e, m) => void seen.push(`${m.subject.slice(t.length + 1)}=${dec(m.data)}`) });
    // Answers requests on `${t}.ask` from its own connection.
    const responder = watcherNc.subscribe(`${t}.ask`, { callback: (_e, m) => void m.respond(enc('ok')) });
    await watcherNc.flush();
    const bus = await NatsBus.connect({ servers: natsUrl(), name: 'outbox-bus' });
    try {
      await bus.publish(`${t}.a`, enc('1'));
      await bus.publish(`${t}.a`, enc('2'));
      const answer = await bus.request(`${t}.ask`, enc('q'), { timeoutMs: 3000 });
      assert.equal(dec(answer.data), 'ok');
      await bus.publish(`${t}.a`, enc('3'));
      await bus.flush();
      await watcherNc.flush();
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(seen, ['a=1', 'a=2', 'ask=q', 'a=3']);
    } finally {
      watch.unsubscribe();
      responder.unsubscribe();
      await bus.close();
    }
  });

  test('many publishes in one turn all arrive, in order', async () => {
    const seen: string[] = [];
    const watch = watcherNc.subscribe(`${t}.many`, { callback: (_e, m) => void seen.push(dec(m.data)) });
    await watcherNc.flush();
    const bus = await NatsBus.connect({ servers: natsUrl(), name: 'outbox-many' });
    try {
      await Promise.all(Array.from({ length: 500 }, (_, i) => bus.publish(`${t}.many`, enc(String(i)))));
      await bus.flush();
      const deadline = Date.now() + 3000;
      while (seen.length < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(seen, Array.from({ length: 500 }, (_, i) => String(i)));
    } finally {
      watch.unsubscribe();
      await bus.close();
    }
  });

  test('a message over max_payload, or a publish on a closed connection, is refused to the caller at once', async () => {
    const nc = await connectNats({ servers: natsUrl(), name: 'outbox-refused' });
    const bus = new NatsBus(nc);
    try {
      const max = nc.info!.max_payload;
      await assert.rejects(bus.publish(`${t}.big`, new Uint8Array(max + 1)), (err: Error) => err instanceof BusPublishError && /max_payload/.test(err.message));
      await assert.rejects(bus.publish(`${t}.big`, new Uint8Array(max - 10), { headers: { 'Nats-Msg-Id': 'x'.repeat(64) } }), BusPublishError);
      await nc.close();
      await assert.rejects(bus.publish(`${t}.late`, enc('x')), (err: Error) => err instanceof BusPublishError && /closed/.test(err.message));
    } finally {
      if (!nc.isClosed()) await nc.close();
    }
  });

  test('a publish taken but not sent before the connection closed is reported by the next flush, not lost silently', async () => {
    const nc = await connectNats({ servers: natsUrl(), name: 'outbox-unsent' });
    const bus = new NatsBus(nc);
    try {
      await bus.publish(`${t}.unsent`, enc('x'));
      // Closed before the turn ended: the held publish can no longer be handed to nats.js
      // (whether the bus tried at the end of the turn or tries now, at the flush).
      await nc.close();
      await assert.rejects(bus.flush(), (err: Error) => err instanceof BusPublishError && /earlier publish on this bus could not be sent/.test(err.message));
    } finally {
      if (!nc.isClosed()) await nc.close();
    }
  });
});
