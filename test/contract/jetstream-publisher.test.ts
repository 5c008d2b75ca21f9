// test-file-timeout: 120
/**
 * The JetStream store's publisher (core/store/jetstream-publisher.ts): acknowledgements
 * matched on one reply subscription must mean what `js.publish`'s do — stored, duplicate,
 * wrong last sequence, no stream, no answer — and a reply that is not an acknowledgement
 * (anyone allowed on the inbox could send one) must never be taken for a stored message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { NoRespondersError, type NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../core/bus/nats-bus.ts';
import { JetStreamPublisher } from '../../core/store/jetstream-publisher.ts';
import { isTransientNatsError } from '../../core/store/nats-retry.ts';
import { WRONG_LAST_SEQUENCE } from '../../core/store/nats-streams.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';

const skip = await natsSkip();
const enc = (s: string) => new TextEncoder().encode(s);

describe('JetStreamPublisher on the local server', { skip }, () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const token = uniqueToken('pub');
  const stream = `PUBTEST_${token.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
  const subject = (s: string) => `pubtest.${token}.${s}`;
  const publishers: JetStreamPublisher[] = [];
  const publisher = (timeoutMs?: number) => {
    const p = new JetStreamPublisher(nc, timeoutMs);
    publishers.push(p);
    return p;
  };

  before(async () => {
    nc = await connectNats({ servers: natsUrl(), name: 'publisher-test' });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`pubtest.${token}.stored.>`], duplicate_window: 60_000_000_000 });
  });
  after(async () => {
    for (const p of publishers) p.close();
    await jsm?.streams.delete(stream).catch(() => undefined);
    await nc?.close();
  });

  test('a stored publish is acknowledged with its stream and sequence; the same id again is a duplicate of it', async () => {
    const p = publisher();
    const first = await p.publish(subject('stored.a'), enc('one'), { msgID: `${token}-1` });
    assert.deepEqual(first, { stream, seq: first.seq, duplicate: false });
    const again = await p.publish(subject('stored.a'), enc('one'), { msgID: `${token}-1` });
    assert.deepEqual(again, { stream, seq: first.seq, duplicate: true });
    const m = await jsm.streams.getMessage(stream, { seq: first.seq });
    assert.equal(new TextDecoder().decode(m!.data), 'one');
    assert.equal(m!.header?.get('Nats-Msg-Id'), `${token}-1`);
  });

  test('many publishes in flight each get their own acknowledgement, in the order the server stored them', async () => {
    const p = publisher();
    const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => p.publish(subject(`stored.many.${i % 7}`), enc(String(i)), { msgID: `${token}-many-${i}` })));
    const seqs = acks.map((a) => a.seq);
    assert.equal(new Set(seqs).size, 200);
    for (let i = 0; i < 200; i++) {
      const m = await jsm.streams.getMessage(stream, { seq: seqs[i]! });
      assert.equal(new TextDecoder().decode(m!.data), String(i), `ack ${i} names the message it acknowledges`);
    }
  });

  test('the expected last subject sequence is enforced: a wrong one is the JetStream API error 10071 and stores nothing', async () => {
    const p = publisher();
    const a = await p.publish(subject('stored.exp'), enc('x'), { expectLastSubjectSequence: 0 });
    await assert.rejects(p.publish(subject('stored.exp'), enc('y'), { expectLastSubjectSequence: 0 }), (err: unknown) => {
      assert.ok(err instanceof JetStreamApiError, String(err));
      assert.equal(err.code, WRONG_LAST_SEQUENCE);
      assert.equal(isTransientNatsError(err), false);
      return true;
    });
    const b = await p.publish(subject('stored.exp'), enc('z'), { expectLastSubjectSequence: a.seq });
    assert.ok(b.seq > a.seq);
    const last = await jsm.streams.getMessage(stream, { last_by_subj: subject('stored.exp') });
    assert.equal(new TextDecoder().decode(last!.data), 'z');
  });

  test('no stream on the subject: a NoRespondersError, which the store retries as an election would be', async () => {
    await assert.rejects(publisher().publish(subject('nowhere'), enc('x')), (err: Error) => {
      assert.ok(err instanceof NoRespondersError, String(err));
      assert.equal(isTransientNatsError(err), true);
      return true;
    });
  });

  test('no answer in time: a TimeoutError after the time-out, not before', async () => {
    const silent = nc.subscribe(subject('silent'));
    try {
      await nc.flush();
      const t0 = Date.now();
      await assert.rejects(publisher(300).publish(subject('silent'), enc('x')), (err: Error) => err.name === 'TimeoutError');
      assert.ok(Date.now() - t0 >= 290, `timed out after ${Date.now() - t0} ms`);
    } finally {
      silent.unsubscribe();
    }
  });

  test('a reply that is not an acknowledgement is refused, never taken for a stored message', async () => {
    const replies = ['not json', 'null', '42', '{}', '{"stream":"","seq":3}', '{"stream":"X","seq":0}', '{"stream":"X","seq":1.5}', '{"stream":7,"seq":3}'];
    let next = 0;
    const forger = nc.subscribe(subject('forged'), { callback: (_e, m) => void m.respond(enc(replies[next++]!)) });
    try {
      await nc.flush();
      const p = publisher();
      for (const r of replies) await assert.rejects(p.publish(subject('forged'), enc('x')), /invalid ack response/, r);
    } finally {
      forger.unsubscribe();
    }
  });

  test('an error reply is nats.js\'s own JetStreamApiError with its codes', async () => {
    const answer = nc.subscribe(subject('refuses'), { callback: (_e, m) => void m.respond(enc('{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}')) });
    try {
      await nc.flush();
      await assert.rejects(publisher().publish(subject('refuses'), enc('x')), (err: unknown) => {
        assert.ok(err instanceof JetStreamApiError);
        assert.equal(err.code, 10077);
        assert.match(err.message, /maximum messages exceeded/);
        return true;
      });
    } finally {
      answer.unsubscribe();
    }
  });

  test('close() fails the publishes still waiting and every later one', async () => {
    const silent = nc.subscribe(subject('silent2'));
    try {
      await nc.flush();
      const p = publisher(10_000);
      const waiting = p.publish(subject('silent2'), enc('x'));
      p.close();
      await assert.rejects(waiting, (err: Error) => err.name === 'ClosedConnectionError');
      await assert.rejects(p.publish(subject('stored.late'), enc('x')), (err: Error) => err.name === 'ClosedConnectionError');
    } finally {
      silent.unsubscribe();
    }
  });
});
