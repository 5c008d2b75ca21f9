import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { exampleRegistry } from '../../example/messages.ts';
import { meterAgent, tallyAgent, type TallyState } from '../../example/agents.ts';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { join } from 'node:path';
import type { Envelope } from '../../../core/envelope/envelope.ts';

const HOUR = 3600 * 1000;

async function all(store: { readAll(): AsyncIterable<Envelope> }): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

test('an agent restarted on the same ledger restores its state and resumes from its checkpoint without handling anything twice', async () => {
  const s = embeddedStack('restart');
  const reg = exampleRegistry();
  // First run: 6 hours of readings, both agents.
  let rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  rt.add(meterAgent('restart', s.clock.now() + 12 * HOUR));
  rt.add(tallyAgent());
  await rt.start();
  while (s.clock.now() < Date.parse('2023-07-03T06:00:00Z') && s.clock.advanceToNextTimer()) await rt.settle();
  await rt.settle();
  await rt.stop();
  const before = await all(s.store);
  const tallied = before.filter((e) => e.type === 'example.energy.totalled').length;
  assert.ok(tallied > 0);

  // While the tally agent is down, more readings arrive (meter only).
  rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  rt.add(meterAgent('restart-2', s.clock.now() + 3 * HOUR));
  await rt.start();
  for (let i = 0; i < 4 && s.clock.advanceToNextTimer(); i++) await rt.settle();
  await rt.stop();

  // Tally comes back: it must restore its total and handle exactly the readings it missed.
  rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  const tally = rt.add(tallyAgent());
  await rt.start();
  await rt.settle();
  const events = await all(s.store);
  const reads = events.filter((e) => e.type === 'example.meter.read');
  const totals = events.filter((e) => e.type === 'example.energy.totalled');
  assert.equal(totals.length, reads.length, 'one total per reading, none twice');
  assert.equal(new Set(totals.map((e) => e.causationId)).size, totals.length);
  const sum = Math.round(reads.reduce((a, e) => a + (e.data as { energyKwh: number }).energyKwh, 0) * 10) / 10;
  assert.equal((tally.state as TallyState).totalKwh, sum);
  await rt.stop();
  await s.close();
});

test('a lost checkpoint does not make the agent act twice: handled inputs are recognised by their ids', async () => {
  const s = embeddedStack('dedupe');
  const reg = exampleRegistry();
  let rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  rt.add(meterAgent('dedupe', s.clock.now() + 3 * HOUR));
  rt.add(tallyAgent());
  await rt.start();
  while (s.clock.advanceToNextTimer()) await rt.settle();
  await rt.stop();
  const n = (await all(s.store)).length;
  // Forget every checkpoint, as after a crash before the checkpoint was written.
  s.store.unsafeExec('DELETE FROM checkpoints');
  rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  rt.add(tallyAgent());
  await rt.start();
  await rt.settle();
  await rt.stop();
  assert.equal((await all(s.store)).length, n, 'no new events after replaying from position 0');
  await s.close();
});

test('a failing agent is restarted with back-off and then succeeds; nothing is lost or doubled', async () => {
  const s = embeddedStack('crash');
  let failures = 0;
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: exampleRegistry(), delivery: 'lockstep', backoffMs: 5 });
  rt.add(meterAgent('crash', s.clock.now() + 2 * HOUR));
  const tally = rt.add(tallyAgent({ failOnce: () => failures < 2 && ++failures > 0 }));
  await rt.start();
  while (s.clock.advanceToNextTimer()) await rt.settle();
  const events = await all(s.store);
  assert.equal(failures, 2);
  const reads = events.filter((e) => e.type === 'example.meter.read');
  assert.equal(events.filter((e) => e.type === 'example.energy.totalled').length, reads.length);
  assert.equal((tally.state as TallyState).readings, reads.length);
  await rt.stop();
  await s.close();
});

test('an input that always fails is dead-lettered after the retries and the agent keeps going', async () => {
  const s = embeddedStack('poison');
  const dlq: unknown[] = [];
  await s.bus.subscribe('caco.t.dlq', (m) => void dlq.push(JSON.parse(Buffer.from(m.data).toString())));
  let calls = 0;
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: exampleRegistry(), delivery: 'lockstep', backoffMs: 1, maxAttempts: 3 });
  rt.add(meterAgent('poison', s.clock.now() + 2 * HOUR));
  rt.add(tallyAgent({ failOnce: () => ++calls <= 3 }));
  await rt.start();
  while (s.clock.advanceToNextTimer()) await rt.settle();
  await s.bus.flush();
  const events = await all(s.store);
  const reads = events.filter((e) => e.type === 'example.meter.read');
  assert.equal(dlq.length, 1);
  assert.match((dlq[0] as { reason: string }).reason, /gave up after 3 attempts: simulated crash/);
  assert.equal(events.filter((e) => e.type === 'example.energy.totalled').length, reads.length - 1);
  await rt.stop();
  await s.close();
});

test('independent delivery (live mode) gives each agent its own mailbox and reaches the same totals', async () => {
  const s = embeddedStack('indep');
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: exampleRegistry(), delivery: 'independent' });
  rt.add(meterAgent('indep', s.clock.now() + 6 * HOUR));
  const tally = rt.add(tallyAgent());
  await rt.start();
  while (s.clock.advanceToNextTimer()) await rt.settle();
  await rt.settle();
  const events = await all(s.store);
  const reads = events.filter((e) => e.type === 'example.meter.read');
  assert.equal(reads.length, 12);
  assert.equal((tally.state as TallyState).readings, 12);
  await rt.stop();
  await s.close();
});

test('the ledger file survives closing and reopening the store', async () => {
  const s = embeddedStack('reopen');
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: exampleRegistry(), delivery: 'lockstep' });
  rt.add(meterAgent('reopen', s.clock.now() + 2 * HOUR));
  await rt.start();
  while (s.clock.advanceToNextTimer()) await rt.settle();
  await rt.stop();
  const n = (await all(s.store)).length;
  await s.store.close();
  const again = new SqliteEventStore({ path: join(s.dir, 'ledger.db'), keyring: s.keyring });
  assert.equal((await all(again)).length, n);
  await again.close();
  await s.close();
});

test('observed facts of other agents feed evolve, live and on restore, without causing decisions', async () => {
  const s = embeddedStack('observe');
  const reg = exampleRegistry();
  const watcher = () => ({
    name: 'watcher',
    version: '1.0.0',
    categories: ['watcher'],
    observes: ['example.meter.read'],
    initialState: () => ({ seen: 0, kwh: 0 }),
    evolve: (st: { seen: number; kwh: number }, e: Envelope) => (e.type === 'example.meter.read' ? { seen: st.seen + 1, kwh: st.kwh + (e.data as { energyKwh: number }).energyKwh } : st),
    decide: () => {
      throw new Error('an observed event must not reach decide');
    },
  });
  let rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  rt.add(meterAgent('observe', s.clock.now() + 3 * HOUR));
  const w = rt.add(watcher());
  await rt.start();
  while (s.clock.advanceToNextTimer()) await rt.settle();
  assert.equal((w.state as { seen: number }).seen, 6);
  await rt.stop();
  rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  const again = rt.add(watcher());
  await rt.start();
  await rt.settle();
  assert.equal((again.state as { seen: number }).seen, 6, 'restored from the ledger');
  await rt.stop();
  await s.close();
});

test("an agent's `decided` hook runs once its decisions are stored, and not after an append that failed", async () => {
  const s = embeddedStack('decided');
  const reg = exampleRegistry();
  // The first append to the tally's stream fails, as a full disk or a lost server would.
  let failNext = true;
  let stored = 0;
  const store = new Proxy(s.store, {
    get(target, prop) {
      if (prop === 'append')
        return async (...args: Parameters<typeof target.append>) => {
          if (args[0] === 'tally-main' && failNext) {
            failNext = false;
            throw new Error('simulated append failure');
          }
          const r = await target.append(...args);
          if (args[0] === 'tally-main') stored += r.events.length;
          return r;
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const calls: Array<{ decide: number; storedAtDecided: number }> = [];
  let decides = 0;
  const tally = tallyAgent();
  const rt = new Runtime({ ...s, store, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep', backoffMs: 1 });
  try {
    rt.add({
      ...tally,
      decide: (input, st, ctx) => {
        decides++;
        return tally.decide(input, st, ctx);
      },
      decided: () => void calls.push({ decide: decides, storedAtDecided: stored }),
    });
    rt.add(meterAgent('decided', s.clock.now() + HOUR));
    await rt.start();
    s.clock.advanceToNextTimer();
    await rt.settle();
    // The reading was decided twice (the first append failed) and `decided` ran once, after the store took it.
    assert.equal(failNext, false, 'the failure was met');
    assert.ok(decides >= 2, `decided ${decides} times`);
    assert.deepEqual(calls[0], { decide: 2, storedAtDecided: 1 });
    assert.equal(calls.length, decides - 1, 'once for each decide whose events were stored');
  } finally {
    await rt.stop();
    await s.close();
  }
});
