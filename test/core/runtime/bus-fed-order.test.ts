// test-file-timeout: 60
/**
 * Found by a reviewer: a bus-fed agent (`input: 'bus'`) with two subscription patterns had a
 * handler loop per pattern. While one was deciding, the other's later event moved the agent's
 * position, and the events queued behind the first were then passed over as already seen: no
 * dead letter, no log, and the checkpoint went past them. A genuine event re-published on the
 * other pattern's subject did the same on purpose. Now every pattern feeds one intake per agent,
 * events it wants between its position and the one heard are read from the store and decided
 * first, and an event on a subject the relay does not put it on is dead-lettered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Schema } from 'effect';
import { embeddedStack } from '../../support/embedded.ts';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { defineAgent } from '../../../core/runtime/agent.ts';
import type { BusMessage } from '../../../core/bus/index.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';
import type { DeadLetter } from '../../../core/runtime/dead-letter.ts';
import { MessageRegistry, defineEvent } from '../../../schemas/index.ts';

const A = defineEvent('test.a.noted', 1, 'a note of kind a', Schema.Struct({ i: Schema.Finite }));
const B = defineEvent('test.b.noted', 1, 'a note of kind b', Schema.Struct({ i: Schema.Finite }));
const registry = new MessageRegistry([A, B]);
const ev = (kind: 'a' | 'b', i: number): NewEvent => ({ id: `${kind}-${i}`, type: `test.${kind}.noted`, version: 1, time: '2023-07-03T00:00:00.000Z', source: 'meter', correlationId: 'c', causationId: null, data: { i } });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function setup(seed: string, subscriptions: string[], slowMs: number) {
  const s = embeddedStack(seed);
  const dead: DeadLetter[] = [];
  const relayed: BusMessage[] = [];
  await s.bus.subscribe('caco.t.dlq', (m) => void dead.push(JSON.parse(Buffer.from(m.data).toString('utf8')) as DeadLetter));
  await s.bus.subscribe('caco.t.evt.>', (m) => void relayed.push(m));
  const heard: Array<{ id: string; position: number }> = [];
  const agent = defineAgent<null>({
    name: 'bus-fed',
    version: '1',
    categories: [],
    subscriptions,
    initialState: () => null,
    evolve: (st) => st,
    decide: async (input) => {
      if (input.kind !== 'event') return [];
      heard.push({ id: input.event.id, position: input.event.position });
      // A slow decision on one pattern, while the other's events keep coming.
      if (input.event.type === 'test.a.noted') await sleep(slowMs);
      return [];
    },
  });
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry, delivery: 'independent' });
  const host = rt.add(agent, { input: 'bus' });
  await rt.start();
  const settle = async () => {
    await rt.settle();
    await s.bus.flush();
  };
  return { s, rt, host, heard, dead, relayed, settle };
}

test('two patterns: events are decided in position order, none passed over while the other pattern is busy', async () => {
  const { s, rt, host, heard, dead, settle } = await setup('order-two', ['test.a.noted', 'test.b.noted'], 100);
  try {
    await s.store.append('notes-1', [ev('a', 1)], 'any');
    await s.store.append('notes-1', [ev('a', 2)], 'any');
    await s.store.append('notes-2', [ev('b', 3)], 'any');
    await settle();
    assert.deepEqual(heard, [
      { id: 'a-1', position: 1 },
      { id: 'a-2', position: 2 },
      { id: 'b-3', position: 3 },
    ]);
    assert.equal(host.position, 3);
    assert.deepEqual(dead, []);
  } finally {
    await rt.stop();
    await s.close();
  }
});

test("a genuine event re-published on another pattern's subject is dead-lettered, and no event before it is lost", async () => {
  const { s, rt, host, heard, dead, relayed, settle } = await setup('order-resubject', ['test.a.noted', 'test.b.noted'], 100);
  try {
    for (let i = 1; i <= 5; i++) await s.store.append('notes-1', [ev('a', i)], 'any');
    // Re-published as relayed, bytes and headers unchanged, while the agent decides on the first.
    let fifth: BusMessage | undefined;
    for (let waited = 0; !(fifth = relayed.find((m) => m.headers['Caco-Position'] === '5')) && waited < 5000; waited += 5) await sleep(5);
    assert.ok(fifth, 'the relay published the fifth event');
    assert.equal(fifth.subject, 'caco.t.evt.test.a.noted');
    await s.bus.publish('caco.t.evt.test.b.noted', fifth.data, { headers: fifth.headers });
    await settle();
    assert.deepEqual(
      heard.map((h) => h.id),
      ['a-1', 'a-2', 'a-3', 'a-4', 'a-5'],
    );
    assert.equal(host.position, 5);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.subject, 'caco.t.evt.test.b.noted');
    assert.match(dead[0]!.reason, /^wrong subject: event a-5 of type test\.a\.noted is relayed on "caco\.t\.evt\.test\.a\.noted" only/);
  } finally {
    await rt.stop();
    await s.close();
  }
});

test('one pattern: every wanted event decided once, in order; the others passed over; no dead letter', async () => {
  const { s, rt, host, heard, dead, settle } = await setup('order-one', ['test.a.noted'], 20);
  try {
    await s.store.append('notes-1', [ev('a', 1)], 'any');
    await s.store.append('notes-2', [ev('b', 2)], 'any');
    await s.store.append('notes-1', [ev('a', 3)], 'any');
    await s.store.append('notes-2', [ev('b', 4)], 'any');
    await s.store.append('notes-1', [ev('a', 5)], 'any');
    await s.store.append('notes-2', [ev('b', 6)], 'any');
    await settle();
    assert.deepEqual(heard, [
      { id: 'a-1', position: 1 },
      { id: 'a-3', position: 3 },
      { id: 'a-5', position: 5 },
    ]);
    assert.equal(host.position, 5, 'only what it hears moves its position');
    assert.deepEqual(dead, []);
  } finally {
    await rt.stop();
    await s.close();
  }
});
