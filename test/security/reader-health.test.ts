/**
 * A ledger reader that dies is a visible failure, never a silent stop: it resumes after a
 * failure, and once it gives up the runtime's health check fails (and `GET /health` with it).
 * On JetStream a lost consumer is re-created from the subscription's own position.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { jetstreamManager } from '@nats-io/jetstream';
import { Runtime } from '../../core/runtime/runtime.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { startJobsHttp } from '../../cli/jobs-http.ts';
import type { Bus } from '../../core/bus/bus.ts';
import type { NewEvent } from '../../core/envelope/envelope.ts';
import { embeddedStack } from '../support/embedded.ts';
import { exampleRegistry } from '../example/messages.ts';
import { eventually } from '../contract/bus-contract.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';
// Awaited before any test is registered (test/lint/late-test-registration.test.ts).
const skipNats = await natsSkip();

function reading(): NewEvent {
  return { id: randomUUID(), type: 'example.meter.read', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'meter', correlationId: 'c', causationId: null, data: { meter: 'main', periodStart: '2023-07-03T00:00:00.000Z', energyKwh: 1 } };
}

/** A bus whose publish can be made to fail, as a NATS connection that is down does. */
function breakableBus(inner: Bus): { bus: Bus; broken: { on: boolean } } {
  const broken = { on: false };
  const bus = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'publish') {
        return async (...args: Parameters<Bus['publish']>) => {
          if (broken.on) throw new Error('connection closed');
          return target.publish(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { bus, broken };
}

describe('ledger readers fail visibly', { timeout: 60_000 }, () => {
  test('the relay resumes after its bus fails for a while, and once it gives up the health check fails (runtime and GET /health)', async () => {
    const s = embeddedStack('health');
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'error' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(...c.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)), cb()) }));
    const { bus, broken } = breakableBus(s.bus);
    const rt = new Runtime({ ...s, bus, log, site: 'test', checkpoints: s.store, registry: exampleRegistry(), delivery: 'independent', subscriptionGiveUpMs: 1500 });
    let http: Awaited<ReturnType<typeof startJobsHttp>> | undefined;
    try {
      await rt.start();
      http = await startJobsHttp(rt, rt.store, 0);
      const url = `http://127.0.0.1:${(http.server.address() as { port: number }).port}/health`;
      assert.equal((await fetch(url)).status, 200);

      // A short outage: the relay retries from its position and publishes everything once.
      const published: string[] = [];
      await s.bus.subscribe('caco.test.evt.>', (m) => void published.push(String(m.headers?.['Nats-Msg-Id'])));
      broken.on = true;
      const a = (await s.store.append('meter-main', [reading()], 'any')).events[0]!;
      await eventually(() => rt.readerHealth().readers.some((r) => r.name === 'relay' && r.state === 'retrying'), 'the relay to report that it is retrying');
      assert.ok(rt.readerHealth().ok, 'retrying is not dead');
      broken.on = false;
      await eventually(() => published.includes(a.id), 'the relay to publish after the outage', 10_000);
      assert.equal(rt.readerHealth().readers.find((r) => r.name === 'relay')?.state, 'running');
      assert.ok(lines.some((l) => l['msg'] === 'relay failed; resuming from its position after a back-off'), 'each failure is logged');

      // A long one: the relay gives up, and says so.
      broken.on = true;
      await s.store.append('meter-main', [reading()], 'any');
      await eventually(() => !rt.readerHealth().ok, 'the health check to fail', 20_000);
      const relay = rt.readerHealth().readers.find((r) => r.name === 'relay')!;
      assert.equal(relay.state, 'failed');
      assert.match(relay.error ?? '', /connection closed/);
      assert.ok(lines.some((l) => l['level'] === 60 && l['msg'] === 'relay gave up: nothing more is published (health check fails)'));
      const res = await fetch(url);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { ok: boolean }).ok, false);
    } finally {
      await http?.close();
      await rt.stop().catch(() => undefined);
      await s.close();
    }
  });
});

describe('a reader that cannot pass over junk', { timeout: 30_000 }, () => {
  test('without onUnreadable a subscription meeting a row that is not JSON fails at once, visibly, instead of retrying it', async () => {
    const s = embeddedStack('junk-reader');
    try {
      await s.store.append('meter-main', [reading()], 'any');
      s.store.unsafeExec("INSERT INTO events (id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig) VALUES ('junk', 'junk-1', 0, 't', 1, 't', 's', 'c', NULL, 'not json', 'p', 'h', 's')");
      const fatal: boolean[] = [];
      const sub = await s.store.subscribeAll(() => undefined, { onError: (_e, info) => fatal.push(info.fatal) });
      const t0 = Date.now();
      await assert.rejects(sub.caughtUp(), /not JSON/);
      assert.ok(Date.now() - t0 < 2000, 'no back-off loop');
      assert.deepEqual(fatal, [true]);
      assert.equal(sub.status?.().state, 'failed');
      await sub.close();
    } finally {
      await s.close();
    }
  });
});

describe('JetStream subscription on a real NATS', { skip: skipNats, timeout: 60_000 }, () => {
  const stores: JetStreamEventStore[] = [];
  after(async () => {
    for (const s of stores) await s.destroy().catch(() => undefined);
    for (const s of stores) await s.close();
  });

  test('a live subscription whose consumer is deleted on the server resumes from its own position: nothing lost, nothing doubled', async () => {
    const site = uniqueToken('resume');
    const store = await JetStreamEventStore.connect({ servers: natsUrl(), site, keyring: new MemoryKeyring('resume') });
    stores.push(store);
    const got: string[] = [];
    const errors: string[] = [];
    const sub = await store.subscribeAll((e) => void got.push(e.id), { onError: (err) => errors.push(String(err)) });
    try {
      const first = (await store.append('meter-main', [reading()], 'any')).events[0]!;
      await eventually(() => got.length === 1, 'the first event');
      const jsm = await jetstreamManager(store.nc);
      for await (const c of jsm.consumers.list(store.streamName)) await jsm.consumers.delete(store.streamName, c.name);
      const later: string[] = [];
      for (let i = 0; i < 5; i++) later.push((await store.append('meter-main', [reading()], 'any')).events[0]!.id);
      await eventually(() => got.length >= 6, 'the events after the consumer was deleted', 30_000);
      await sub.caughtUp();
      assert.deepEqual(got, [first.id, ...later]);
      assert.notEqual(sub.status?.().state, 'failed', errors.join('; '));
    } finally {
      await sub.close();
    }
  });
});
