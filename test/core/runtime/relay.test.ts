import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from '../../../core/runtime/relay.ts';
import { embeddedStack } from '../../support/embedded.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';

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
