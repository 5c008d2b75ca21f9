import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { exampleRegistry } from '../../example/messages.ts';
import { meterAgent, tallyAgent, type TallyState } from '../../example/agents.ts';
import { verifyLedger } from '../../../core/ledger/verify.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';

const DAY = 24 * 3600 * 1000;

async function runDay(seed: string) {
  const s = embeddedStack(seed);
  const rt = new Runtime({ ...s, site: 'test', checkpoints: s.store, registry: exampleRegistry(), delivery: 'lockstep' });
  rt.add(meterAgent(seed, s.clock.now() + DAY));
  const tally = rt.add(tallyAgent());
  await rt.start();
  while (s.clock.advanceToNextTimer()) await rt.settle();
  await rt.settle();
  const events: Envelope[] = [];
  for await (const e of s.store.readAll()) events.push(e);
  const audit = await verifyLedger(s.store, s.keyring);
  const state = tally.state as TallyState;
  await rt.stop();
  await s.close();
  return { events, audit, state };
}

test('the example runs a simulated day: every reading is tallied once, the ledger verifies', async () => {
  const { events, audit, state } = await runDay('seed-a');
  const reads = events.filter((e) => e.type === 'example.meter.read');
  assert.equal(reads.length, 48);
  const sum = Math.round(reads.reduce((a, e) => a + (e.data as { energyKwh: number }).energyKwh, 0) * 10) / 10;
  assert.equal(state.readings, 48);
  assert.equal(state.totalKwh, sum);
  const totals = events.filter((e) => e.type === 'example.energy.totalled');
  assert.equal(totals.length, 48);
  // Every total is caused by exactly one reading, in order.
  assert.deepEqual(totals.map((e) => e.causationId), reads.map((e) => e.id));
  assert.ok(audit.ok, JSON.stringify(audit.firstBroken));
});

test('the same seed gives the same events and the same ledger head hash; another seed does not', async () => {
  const a = await runDay('seed-b');
  const b = await runDay('seed-b');
  const c = await runDay('seed-c');
  assert.deepEqual(a.events.map((e) => [e.id, e.hash]), b.events.map((e) => [e.id, e.hash]));
  assert.equal(a.audit.headHash, b.audit.headHash);
  assert.notEqual(a.audit.headHash, c.audit.headHash);
});
