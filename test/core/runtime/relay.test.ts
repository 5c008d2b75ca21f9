// test-file-timeout: 60
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from '../../../core/runtime/relay.ts';
import { siteCheckpointTag, storedHashAt } from '../../../core/runtime/tagged-checkpoint.ts';
import { embeddedStack } from '../../support/embedded.ts';
import type { Envelope, NewEvent } from '../../../core/envelope/envelope.ts';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { enableTracing } from '../../../core/observability/index.ts';

let n = 0;
const ev = (): NewEvent => ({ id: `r-${++n}`, type: 'test.item.added', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'a', correlationId: 'c', causationId: null, data: { n } });

test('the relay publishes every event in order with its id as Nats-Msg-Id, and resumes after a restart without skipping', async () => {
  const s = embeddedStack('relay');
  const seen: Array<{ id: string; msgId: string | undefined; subject: string }> = [];
  await s.bus.subscribe('caco.t.evt.>', (m) => {
    const e = JSON.parse(Buffer.from(m.data).toString()) as { id: string };
    seen.push({ id: e.id, msgId: m.headers['Nats-Msg-Id'], subject: m.subject });
  });
  const relay = () => new Relay({ store: s.store, checkpoints: s.store, bus: s.bus, site: 't', log: s.log, checkpointEvery: 3 });
  for (let i = 0; i < 10; i++) await s.store.append(`thing-${i % 3}`, [ev()], 'any');
  let r = relay();
  await r.start();
  await r.caughtUp();
  await r.stop();
  // Appended while the relay is down.
  for (let i = 0; i < 7; i++) await s.store.append('thing-9', [ev(), ev()], 'any');
  r = relay();
  await r.start();
  await r.caughtUp();
  await s.bus.flush();
  const stored: string[] = [];
  for await (const e of s.store.readAll()) stored.push(e.id);
  // Every stored event was published, in ledger order, and none twice (the stop wrote the checkpoint).
  assert.deepEqual(seen.map((x) => x.id), stored);
  assert.ok(seen.every((x) => x.msgId === x.id && x.subject === 'caco.t.evt.test.item.added'));
  await r.stop();
  await s.close();
});

test('on a bus that holds publishes back (NATS), the relay checkpoints only after a flush has sent what the checkpoint covers', async () => {
  const s = embeddedStack('relay-flush');
  const log: string[] = [];
  // A bus of kind 'nats' that records the order of publishes, flushes and checkpoint writes.
  const bus = {
    kind: 'nats' as const,
    publish: async (_subject: string, data: Uint8Array) => void log.push(`publish ${(JSON.parse(Buffer.from(data).toString()) as { position: number }).position}`),
    subscribe: () => Promise.reject(new Error('not used')),
    request: () => Promise.reject(new Error('not used')),
    respond: async () => undefined,
    flush: async () => void log.push('flush'),
    close: async () => undefined,
  };
  const checkpoints = { get: (name: string) => s.store.get(name), put: async (name: string, position: number) => void log.push(`checkpoint ${position}`) };
  try {
    for (let i = 0; i < 7; i++) await s.store.append(`thing-${i % 2}`, [ev()], 'any');
    const r = new Relay({ store: s.store, checkpoints, bus, site: 't', log: s.log, checkpointEvery: 3 });
    await r.start();
    await r.caughtUp();
    await r.stop();
    const puts = log.flatMap((x, i) => (x.startsWith('checkpoint') ? [i] : []));
    assert.ok(puts.length >= 2, log.join(', '));
    for (const i of puts) {
      const position = Number(log[i]!.split(' ')[1]);
      // Everything up to the checkpoint was published, and a flush came after the last of it.
      const lastPublish = log.findLastIndex((x, k) => k < i && x === `publish ${position}`);
      assert.ok(lastPublish >= 0, `checkpoint ${position} covers a publish: ${log.join(', ')}`);
      assert.ok(log.slice(lastPublish + 1, i).includes('flush'), `a flush between publish ${position} and its checkpoint: ${log.join(', ')}`);
    }
  } finally {
    await s.close();
  }
});

test('with tracing on, an event stored before ids were checked, its correlation id holding CR/LF, is published without that header instead of failing every retry', { timeout: 15_000 }, async () => {
  const s = embeddedStack('relay-crlf');
  const stopTracing = await enableTracing(new InMemorySpanExporter());
  const published: Array<{ position: number; correlation: string | undefined }> = [];
  // As nats.js does: a header value with CR or LF is refused, so the publish throws.
  const bus = {
    kind: 'memory' as const,
    publish: async (_subject: string, data: Uint8Array, opts?: { headers?: Record<string, string> }) => {
      for (const v of Object.values(opts?.headers ?? {})) if (/[\r\n]/.test(v)) throw new Error("'header' values cannot contain \\r or \\n");
      published.push({ position: (JSON.parse(Buffer.from(data).toString()) as { position: number }).position, correlation: opts?.headers?.['Caco-Correlation-Id'] });
    },
    subscribe: () => Promise.reject(new Error('not used')),
    request: () => Promise.reject(new Error('not used')),
    respond: async () => undefined,
    flush: async () => undefined,
    close: async () => undefined,
  };
  // What an older ledger can hold: the store now refuses such an id, so the reader shows it one.
  const legacy = 'tx\r\nInjected: 1';
  const store = Object.create(s.store, {
    subscribeAll: { value: (handler: (e: Envelope) => void | Promise<void>, opts: object) => s.store.subscribeAll((e) => handler(e.position === 2 ? { ...e, correlationId: legacy } : e), opts) },
  }) as typeof s.store;
  const r = new Relay({ store, checkpoints: s.store, bus, site: 't', log: s.log, checkpointEvery: 1 });
  try {
    for (let i = 0; i < 3; i++) await s.store.append('thing-1', [ev()], 'any');
    await r.start();
    await r.caughtUp();
    assert.deepEqual(published, [
      { position: 1, correlation: 'c' },
      { position: 2, correlation: undefined },
      { position: 3, correlation: 'c' },
    ]);
  } finally {
    await r.stop();
    await stopTracing();
    await s.close();
  }
});

test('a relay checkpoint the site did not write (moved forward, or untagged) is not trusted: the relay publishes from the start, with a warning, instead of skipping', async () => {
  const s = embeddedStack('relay-tag');
  const warned: string[] = [];
  const log = { ...s.log, warn: (_o: unknown, msg?: string) => void warned.push(String(msg)) } as typeof s.log;
  const seen: string[] = [];
  await s.bus.subscribe('caco.t.evt.>', (m) => void seen.push((JSON.parse(Buffer.from(m.data).toString()) as { id: string }).id));
  const checkpointTag = { tagOf: siteCheckpointTag(s.keyring, 't', 'gateway'), hashAt: storedHashAt(s.store) };
  const run = async (tagged = true): Promise<string[]> => {
    seen.length = 0;
    const r = new Relay({ store: s.store, checkpoints: s.store, bus: s.bus, site: 't', log, checkpointEvery: 2, ...(tagged ? { checkpointTag } : {}) });
    try {
      await r.start();
      await r.caughtUp();
      await s.bus.flush();
    } finally {
      await r.stop();
    }
    return [...seen];
  };
  const all = async (): Promise<string[]> => {
    const out: string[] = [];
    for await (const e of s.store.readAll()) out.push(e.id);
    return out;
  };
  try {
    for (let i = 0; i < 4; i++) await s.store.append(`thing-${i}`, [ev()], 'any');
    assert.deepEqual(await run(), await all());
    // Its own tagged checkpoint: resumed from, nothing published twice, no warning.
    for (let i = 0; i < 2; i++) await s.store.append('thing-9', [ev()], 'any');
    assert.deepEqual(await run(), (await all()).slice(4));
    assert.deepEqual(warned, []);

    // Moved forward past two new events by whoever can write the checkpoint table.
    for (let i = 0; i < 2; i++) await s.store.append('thing-9', [ev()], 'any');
    const head = await s.store.headPosition();
    await s.store.put('relay', head);
    assert.deepEqual(await run(), await all(), 'every event again, the two it was moved past among them');
    assert.match(warned.at(-1) ?? '', /checkpoint "relay" at position \d+ is not one this site wrote[^]*published on the bus again/);
    // The position it stopped at is tagged: the next start trusts it.
    warned.length = 0;
    assert.deepEqual(await run(), []);
    assert.deepEqual(warned, []);

    // Written by a relay before tags (an upgraded site): its position has no tag that fits.
    await s.store.append('thing-9', [ev()], 'any');
    assert.equal((await run(false)).length, 1);
    assert.equal(await s.store.get('relay'), await s.store.headPosition());
    assert.deepEqual(await run(), await all());
    assert.match(warned.at(-1) ?? '', /checkpoint "relay" at position \d+ is not one this site wrote/);
  } finally {
    await s.close();
  }
});
