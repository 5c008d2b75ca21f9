// test-file-timeout: 60
/**
 * Found by a helper's review, run there: a relayed event's position travels outside what is
 * hashed and signed. A genuine event re-published on `caco.<site>.evt.…` with its position set
 * far ahead made a bus-fed agent take that position as its own: it passed over every later event
 * and checkpointed past the ledger's head, so the next start refused. Now a position the agent
 * would move to is taken only as the store confirms it; anything else is dead-lettered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Schema } from 'effect';
import { embeddedStack } from '../support/embedded.ts';
import { Runtime } from '../../core/runtime/runtime.ts';
import { defineAgent } from '../../core/runtime/agent.ts';
import type { BusMessage } from '../../core/bus/index.ts';
import type { NewEvent } from '../../core/envelope/envelope.ts';
import { MessageRegistry, defineEvent } from '../../schemas/index.ts';

const Noted = defineEvent('test.load.noted', 1, 'a note', Schema.Struct({ i: Schema.Finite }));
const registry = new MessageRegistry([Noted]);
const ev = (i: number): NewEvent => ({ id: `p-${i}`, type: 'test.load.noted', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'meter', correlationId: 'c', causationId: null, data: { i } });

test('a relayed event re-published with a position past the head: dead-lettered, and the bus-fed agent hears every later event', async () => {
  const s = embeddedStack('relayed-position');
  const relayed: BusMessage[] = [];
  const dead: string[] = [];
  await s.bus.subscribe('caco.t.evt.>', (m) => void relayed.push(m));
  await s.bus.subscribe('caco.t.dlq', (m) => void dead.push(Buffer.from(m.data).toString('utf8')));
  const heard: string[] = [];
  const agent = defineAgent<null>({
    name: 'bus-fed',
    version: '1',
    categories: [],
    subscriptions: ['test.load.noted'],
    initialState: () => null,
    evolve: (st) => st,
    decide: (input) => {
      if (input.kind === 'event') heard.push(input.event.id);
      return [];
    },
  });
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry, delivery: 'independent' });
  const host = rt.add(agent, { input: 'bus' });
  await rt.start();
  try {
    await s.store.append('load-1', [ev(1)], 'any');
    await rt.settle();
    await s.bus.flush();
    assert.equal(relayed.length, 1);
    const genuine = relayed[0]!;
    const forged = JSON.parse(Buffer.from(genuine.data).toString('utf8')) as Record<string, unknown>;
    forged['position'] = 9_007_199_254_740_000;
    await s.bus.publish(genuine.subject, Buffer.from(JSON.stringify(forged)), { headers: { ...genuine.headers, 'Caco-Position': '9007199254740000' } });
    await s.bus.flush();
    for (let i = 2; i <= 4; i++) await s.store.append('load-1', [ev(i)], 'any');
    await rt.settle();
    await s.bus.flush();
    assert.deepEqual(heard, ['p-1', 'p-2', 'p-3', 'p-4'], 'every event heard once');
    assert.equal(host.position, await s.store.headPosition(), "the agent's position is the ledger's head");
    assert.equal(dead.length, 1);
    assert.match(dead[0]!, /position 9007199254740000: the store does not hold event p-1 there/);
  } finally {
    await rt.stop();
    await s.close();
  }
});
