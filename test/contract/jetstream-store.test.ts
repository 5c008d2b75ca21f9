/**
 * What only the JetStream adapter has to show: the server-side revision check between
 * processes, its stream layout, its limits, and failing fast without a server.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { ConcurrencyError, InvalidArgumentError } from '../../core/errors/errors.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { NatsBus, NatsUnavailableError } from '../../core/bus/nats-bus.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';
import { freePort } from '../../deploy/local/nats-server.ts';
import { assertChains, newEvent } from './store-contract.ts';
import { eventually } from './bus-contract.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const skip = await natsSkip();

describe('JetStreamEventStore on a shared server', { skip }, () => {
  const keyring = new MemoryKeyring('js-specific');
  const opened: JetStreamEventStore[] = [];
  const open = async (site: string, extra: { duplicateWindowMs?: number } = {}) => {
    const s = await JetStreamEventStore.connect({ servers: natsUrl(), site, keyring, ...extra });
    opened.push(s);
    return s;
  };
  after(async () => {
    for (const s of opened) await s.destroy().catch(() => undefined);
    for (const s of opened) await s.close();
  });

  test('the server decides races between processes: 5 connections × 4 appends at one revision, one wins', async () => {
    const site = uniqueToken('race');
    const stores = await Promise.all(Array.from({ length: 5 }, () => open(site)));
    await stores[0]!.append('job-7', [newEvent()], 'no-stream');
    // Every instance learns the head first, so each one's own check passes and only the server can refuse.
    for (const s of stores) assert.equal((await collect(s.readStream('job-7'))).length, 1);
    for (const s of stores) await assert.rejects(s.append('job-7', [newEvent()], 5), ConcurrencyError);
    const results = await Promise.allSettled(stores.flatMap((s) => Array.from({ length: 4 }, () => s.append('job-7', [newEvent(), newEvent()], 0))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConcurrencyError, String(r.reason));
    assert.equal((await collect(stores[3]!.readStream('job-7'))).length, 3);
  });

  test('expected any from several processes with stale heads: every append lands once and the chain holds', async () => {
    const site = uniqueToken('any');
    const stores = await Promise.all(Array.from({ length: 4 }, () => open(site)));
    const results = await Promise.all(stores.flatMap((s, i) => Array.from({ length: 10 }, (_, k) => s.append('grid-1', [newEvent({ i, k })], 'any'))));
    const events = await collect(stores[0]!.readStream('grid-1'));
    assert.equal(events.length, 40);
    assert.deepEqual(new Set(events.map((e) => e.id)), new Set(results.map((r) => r.events[0]!.id)));
    assertChains(events, keyring);
  });

  test('appends made in the same turn share one batch signature per source; each head is proven alone and the ledger verifies', async () => {
    const site = uniqueToken('batchsig');
    const store = await open(site);
    await Promise.all(Array.from({ length: 12 }, (_, i) => store.append(`job-b${i}`, [newEvent({ i })], 'any')));
    const events = await collect(store.readAll());
    assert.equal(events.length, 12);
    const batched = events.filter((e) => e.sig.startsWith('mb1:'));
    assert.ok(batched.length >= 2, `appends in one turn are signed together (${batched.length} batch signatures)`);
    assert.ok(new Set(batched.map((e) => e.sig.slice(e.sig.lastIndexOf(':') + 1))).size < batched.length, 'several heads share one signature');
    const report = await verifyLedger(store, keyring);
    assert.equal(report.ok, true, JSON.stringify(report.broken.slice(0, 2)));
    for (const e of events) assertChains([e], keyring);
  });

  test('layout: stream CACO_<SITE>, subject caco.<site>.ledger.<stream>, one message per append, the duplicate window', async () => {
    const site = uniqueToken('lay');
    const store = await open(site, { duplicateWindowMs: 90_000 });
    assert.equal(store.streamName, `CACO_${site.toUpperCase()}`);
    await store.append('job-1', [newEvent(), newEvent(), newEvent()], 'no-stream');
    await store.append('job-2', [newEvent()], 'no-stream');
    const jsm = await jetstreamManager(store.nc);
    const info = await jsm.streams.info(store.streamName, { subjects_filter: '>' });
    assert.deepEqual(info.config.subjects, [`caco.${site}.ledger.>`]);
    assert.equal(info.state.messages, 2, 'an append of three events is one message');
    assert.deepEqual(info.state.subjects, { [`caco.${site}.ledger.job-1`]: 1, [`caco.${site}.ledger.job-2`]: 1 });
    assert.equal(info.config.duplicate_window, 90_000 * 1_000_000);
    const kv = await jsm.streams.info(`KV_caco_${site}_checkpoints`);
    assert.equal(kv.config.max_msgs_per_subject, 1);
  });

  test('at most 1024 events in one append, and their positions are consecutive', async () => {
    const store = await open(uniqueToken('big'));
    await assert.rejects(store.append('bulk-1', Array.from({ length: 1025 }, () => newEvent()), 'any'), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'events');
    const r = await store.append('bulk-1', Array.from({ length: 1024 }, (_, i) => newEvent({ i })), 'no-stream');
    const positions = r.events.map((e) => e.position);
    for (let i = 1; i < positions.length; i++) assert.equal(positions[i], positions[i - 1]! + 1);
    const next = await store.append('bulk-1', [newEvent()], 1023);
    assert.ok(next.position > r.position);
    assert.equal(await store.headPosition(), next.position);
    const all: Envelope[] = await collect(store.readAll({ from: positions[500]! }));
    assert.equal(all.length, 1024 - 501 + 1);
  });

  test('reads in many small pulls keep order across pull boundaries (pullBatch 3)', { timeout: 20_000 }, async () => {
    const site = uniqueToken('pull');
    const store = await JetStreamEventStore.connect({ servers: natsUrl(), site, keyring, pullBatch: 3 });
    opened.push(store);
    const appended: Envelope[] = [];
    for (let k = 0; k < 50; k++) appended.push(...(await store.append(`s-${k % 5}`, Array.from({ length: 1 + (k % 3) }, () => newEvent({ k })), 'any')).events);
    assert.deepEqual((await collect(store.readAll())).map((e) => e.id), appended.map((e) => e.id));
    for (let s = 0; s < 5; s++) {
      const mine = appended.filter((e) => e.stream === `s-${s}`);
      assert.deepEqual((await collect(store.readStream(`s-${s}`))).map((e) => e.id), mine.map((e) => e.id));
      assert.deepEqual((await collect(store.readStream(`s-${s}`, 4))).map((e) => e.id), mine.filter((e) => e.revision >= 4).map((e) => e.id));
    }
    const got: Envelope[] = [];
    const sub = await store.subscribeAll((e) => void got.push(e), { from: appended[20]!.position });
    const more = await store.append('s-9', [newEvent()], 'no-stream');
    await sub.caughtUp();
    await eventually(() => got.length === appended.length - 21 + 1, 'the live event');
    await sub.close();
    assert.deepEqual(got.map((e) => e.id), [...appended.slice(21), ...more.events].map((e) => e.id));
  });

  // Event ids can be predicted (an agent's derive from its input), and anyone who can publish
  // on the ledger's subjects could store a message under one first: the server then answered
  // the real append as a duplicate, and the store returned the forgery as what it had stored.
  test('a message id taken first by a forgery or by junk: the append is stored under another id, and returns what it stored', async () => {
    const site = uniqueToken('preclaim');
    const store = await open(site);
    await store.append('order-1', [newEvent({ kw: 1 })], 'any');
    const nc = store.nc;
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    const { headers } = await import('@nats-io/transport-node');
    for (const [label, body, subject] of [
      ['a forged commit', (id: string) => JSON.stringify([{ id, type: 'test.thing.happened', version: 1, stream: 'order-1', revision: 1, time: 'x', source: 'agent', correlationId: 'c', causationId: null, data: { kw: 999999, forged: true }, prevHash: '0'.repeat(64), hash: 'f'.repeat(64), sig: 'AAAA' }]), 'junk-subject'],
      ['junk on the stream\'s own subject', () => 'junk', 'order-1'],
    ] as const) {
      const predicted = newEvent({ kw: 5 });
      const h = headers();
      h.set('Nats-Msg-Id', predicted.id);
      await js.publish(store.subjectOf(subject), new TextEncoder().encode(body(predicted.id)), { headers: h });
      const r = await store.append('order-1', [predicted], 'any');
      assert.deepEqual(r.events[0]!.data, { kw: 5 }, `${label}: the append returns its own event`);
      assert.equal(r.events[0]!.id, predicted.id);
      // It is on the ledger, chained and signed, and a retry of it answers what is stored.
      const stored = (await collect(store.readStream('order-1', 0, { onUnreadable: () => undefined }))).filter((e) => e.id === predicted.id);
      assert.equal(stored.length, 1, `${label}: stored once`);
      assert.equal(stored[0]!.hash, r.events[0]!.hash);
      const again = await store.append('order-1', [predicted], 'any');
      assert.equal(again.events[0]!.position, r.events[0]!.position, `${label}: a retry finds it`);
    }
    assert.equal(store.msgIdsTaken, 2);
    const events = await collect(store.readStream('order-1', 0, { onUnreadable: () => undefined }));
    assertChains(events, keyring);
  });

  test('a ledger stream given a limit is refused to writers, and a writer whose head was removed appends nothing', async () => {
    // A helper's review: with max_age 1 s or max_msgs 3 set on the stream (nats stream edit),
    // the server deleted signed events while every append succeeded, and the writer started
    // the stream again at revision 0.
    const site = uniqueToken('jslimit');
    const s = await open(site);
    await s.append('job-1', [newEvent('a')], 'no-stream');
    await s.append('job-1', [newEvent('a')], 0);
    const jsm = await jetstreamManager(s.nc);
    const name = `CACO_${site.toUpperCase()}`;
    const info = await jsm.streams.info(name);
    await jsm.streams.update(name, { ...info.config, max_msgs: 1 });
    // Another stream's append pushes job-1's last message out (discard old).
    await s.append('job-2', [newEvent('c')], 'no-stream');
    // The writer that saw job-1's head: refused, naming why, and nothing stored.
    await assert.rejects(s.append('job-1', [newEvent('b')], 'any'), (e: unknown) => e instanceof Error && /is gone/.test(e.message) && /events were removed/.test(e.message));
    // A new writer: refused at connect, naming the limit and the fix.
    await assert.rejects(JetStreamEventStore.connect({ servers: natsUrl(), site, keyring }), (e: unknown) => e instanceof Error && /max_msgs is 1/.test(e.message) && /Nothing was written/.test(e.message) && /nats stream edit/.test(e.message));
    assert.equal((await jsm.streams.info(name)).state.messages, 1);
    // A reader still opens it, and the audit names what is missing.
    const reader = await JetStreamEventStore.connect({ servers: natsUrl(), site, keyring, mustExist: true });
    try {
      const report = await verifyLedger(reader, keyring);
      assert.equal(report.ok, false);
    } finally {
      await reader.close();
    }
    for (const config of [{ max_age: 3_600 * 1e9 }, { max_bytes: 1 << 30 }, { max_msgs_per_subject: 10 }]) {
      await jsm.streams.update(name, { ...info.config, max_msgs: -1, ...config });
      await assert.rejects(JetStreamEventStore.connect({ servers: natsUrl(), site, keyring }), (e: unknown) => e instanceof Error && /the server would delete ledger events/.test(e.message), JSON.stringify(config));
    }
    await jsm.streams.update(name, { ...info.config });
  });

  test('a site name that cannot be a subject token is refused', async () => {
    await assert.rejects(JetStreamEventStore.connect({ servers: natsUrl(), site: 'lon.don', keyring }), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'site');
  });
});

test('without a server, connecting fails fast and names the URL and the fix', async () => {
  const url = `127.0.0.1:${await freePort()}`;
  const t0 = Date.now();
  await assert.rejects(NatsBus.connect({ servers: url }), (e: unknown) => e instanceof NatsUnavailableError && e.message.includes(url) && /NATS_URL/.test(e.message) && /nats-server/.test(e.message));
  await assert.rejects(JetStreamEventStore.connect({ servers: url, site: 'x', keyring: new MemoryKeyring() }), NatsUnavailableError);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
});
