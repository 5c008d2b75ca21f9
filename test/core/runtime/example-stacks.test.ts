import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { natsSkip, natsUrl, uniqueToken } from '../../support/nats.ts';
import { exampleRegistry } from '../../example/messages.ts';
import { meterAgent, tallyAgent, type TallyState } from '../../example/agents.ts';
import { verifyLedger } from '../../../core/ledger/verify.ts';
import { NatsBus } from '../../../core/bus/nats-bus.ts';
import { JetStreamEventStore } from '../../../core/store/jetstream-store.ts';
import type { Bus } from '../../../core/bus/bus.ts';
import type { CheckpointStore, EventStore } from '../../../core/store/event-store.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';

const DAY = 24 * 3600 * 1000;

/** Run the two-agent example for a simulated day on the given bus and store. */
async function runExample(seed: string, bus: Bus, store: EventStore & CheckpointStore, s: ReturnType<typeof embeddedStack>) {
  const rt = new Runtime({ ...s, bus, store, checkpoints: store, site: 'ex', registry: exampleRegistry(), delivery: 'lockstep' });
  rt.add(meterAgent(seed, s.clock.now() + DAY));
  const tally = rt.add(tallyAgent());
  const relayed: string[] = [];
  await bus.subscribe('caco.ex.evt.>', (m) => void relayed.push((JSON.parse(Buffer.from(m.data).toString()) as Envelope).id));
  await rt.start();
  while (s.clock.advanceToNextTimer()) await rt.settle();
  await rt.settle();
  await bus.flush();
  const events: Envelope[] = [];
  for await (const e of store.readAll()) events.push(e);
  const audit = await verifyLedger(store, s.keyring);
  await rt.stop();
  return { events, audit, total: (tally.state as TallyState).totalKwh, relayed };
}

test('the two-agent example runs the same on the embedded stack and on NATS + JetStream: same events, same ledger head hash', async (t) => {
  const skip = await natsSkip();
  if (skip) {
    t.skip(skip);
    return;
  }
  const a = embeddedStack('stacks');
  const embedded = await runExample('stacks', a.bus, a.store, a);
  await a.close();

  const b = embeddedStack('stacks');
  const bus = await NatsBus.connect({ servers: natsUrl(), name: 'caco-example' });
  const store = await JetStreamEventStore.connect({ servers: natsUrl(), site: uniqueToken('ex'), keyring: b.keyring });
  try {
    const onNats = await runExample('stacks', bus, store, b);
    assert.equal(onNats.events.length, embedded.events.length);
    assert.deepEqual(onNats.events.map((e) => [e.id, e.type, e.stream, e.revision, e.hash]), embedded.events.map((e) => [e.id, e.type, e.stream, e.revision, e.hash]));
    assert.equal(onNats.audit.headHash, embedded.audit.headHash);
    assert.equal(onNats.total, embedded.total);
    assert.ok(onNats.audit.ok);
    // The relay published every event on the bus, on both stacks.
    assert.deepEqual([...new Set(onNats.relayed)].sort(), onNats.events.map((e) => e.id).sort());
    assert.deepEqual([...new Set(embedded.relayed)].sort(), embedded.events.map((e) => e.id).sort());
  } finally {
    await store.destroy();
    await store.close();
    await bus.close();
    await b.close();
  }
});
