// test-file-timeout: 60
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { exampleRegistry } from '../../example/messages.ts';
import { meterAgent, tallyAgent, type TallyState } from '../../example/agents.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { pino } from 'pino';
import type { Logger } from '../../../core/log/logger.ts';

const HOUR = 3600 * 1000;

async function all(store: { readAll(): AsyncIterable<Envelope> }): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

/** A logger that keeps its warnings (message and fields), children's included. */
function warnings(): { log: Logger; seen: Array<{ fields: Record<string, unknown>; msg: string }> } {
  const seen: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const log = pino({ level: 'warn', base: undefined }, {
    write(line: string) {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o['level'] === 40) seen.push({ fields: o, msg: String(o['msg']) });
    },
  });
  return { log, seen };
}

/**
 * Tally handles the first readings, then is down while the meter writes more; before it comes
 * back, `tamper` edits the checkpoints table.
 */
async function tallyAfter(tamper: (s: ReturnType<typeof embeddedStack>, head: number) => void, seed: string) {
  const s = embeddedStack(seed);
  const reg = exampleRegistry();
  let rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  rt.add(meterAgent(seed, s.clock.now() + 12 * HOUR));
  rt.add(tallyAgent());
  try {
    await rt.start();
    while (s.clock.now() < Date.parse('2023-07-03T04:00:00Z') && s.clock.advanceToNextTimer()) await rt.settle();
    await rt.settle();
  } finally {
    await rt.stop();
  }
  const firstRun = await all(s.store);
  const lastTallied = firstRun.filter((e) => e.type === 'example.energy.totalled').at(-1)!;
  const lastHandledPosition = firstRun.find((e) => e.id === lastTallied.causationId)!.position;

  rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  rt.add(meterAgent(`${seed}-2`, s.clock.now() + 3 * HOUR));
  try {
    await rt.start();
    for (let i = 0; i < 4 && s.clock.advanceToNextTimer(); i++) await rt.settle();
  } finally {
    await rt.stop();
  }
  tamper(s, await s.store.headPosition());

  const w = warnings();
  rt = new Runtime({ ...s, log: w.log, site: 't', checkpoints: s.store, registry: reg, delivery: 'lockstep' });
  const tally = rt.add(tallyAgent());
  try {
    await rt.start();
    await rt.settle();
  } finally {
    await rt.stop();
  }
  const events = await all(s.store);
  return { s, events, tally, warned: w.seen, lastHandledPosition };
}

function assertEveryReadingTallied(r: Awaited<ReturnType<typeof tallyAfter>>): void {
  const reads = r.events.filter((e) => e.type === 'example.meter.read');
  const totals = r.events.filter((e) => e.type === 'example.energy.totalled');
  assert.equal(totals.length, reads.length, 'one total per reading: none skipped, none twice');
  assert.equal(new Set(totals.map((e) => e.causationId)).size, totals.length);
  const sum = Math.round(reads.reduce((a, e) => a + (e.data as { energyKwh: number }).energyKwh, 0) * 10) / 10;
  assert.equal((r.tally.state as TallyState).totalKwh, sum);
}

/** The restart warned about the agent's checkpoint, `why`, and resumed right after the last reading tallied. */
function assertResumedAfterLastDecided(r: Awaited<ReturnType<typeof tallyAfter>>, why: RegExp): void {
  const w = r.warned.find((x) => x.msg.includes('checkpoint "agent:tally"'));
  assert.ok(w, 'the untrusted checkpoint is named in a warning');
  assert.match(w.msg, why);
  assert.equal(w.fields.from, r.lastHandledPosition, 'resumed right after the last reading it had tallied, not from the start');
}

test("an agent's checkpoint moved forward by someone without its key is not trusted: the agent resumes after the last event it decided on, and decides on the readings it missed", async () => {
  const r = await tallyAfter((s, head) => s.store.unsafeExec(`UPDATE checkpoints SET position = ${head} WHERE name = 'agent:tally'`), 'moved');
  try {
    assertEveryReadingTallied(r);
    assertResumedAfterLastDecided(r, /is not one this site wrote/);
  } finally {
    await r.s.close();
  }
});

test('an untagged checkpoint (a site upgraded from a version before tags) is resumed from the last event decided on, once; the position written back is tagged', async () => {
  const r = await tallyAfter((s) => s.store.unsafeExec(`DELETE FROM checkpoints WHERE name IN ('agent:tally.tag', 'agent:tally.next.tag')`), 'upgrade');
  try {
    assertEveryReadingTallied(r);
    assertResumedAfterLastDecided(r, /is not one this site wrote/);
    // The next start trusts what this one wrote: no warning, nothing decided again.
    const w = warnings();
    const n = r.events.length;
    const rt = new Runtime({ ...r.s, log: w.log, site: 't', checkpoints: r.s.store, registry: exampleRegistry(), delivery: 'lockstep' });
    rt.add(tallyAgent());
    try {
      await rt.start();
      await rt.settle();
    } finally {
      await rt.stop();
    }
    assert.deepEqual(w.seen.filter((x) => x.msg.includes('checkpoint')), []);
    assert.equal((await all(r.s.store)).length, n);
  } finally {
    await r.s.close();
  }
});

test("a checkpoint the agent wrote itself is trusted as it stands, without a warning", async () => {
  const r = await tallyAfter(() => undefined, 'kept');
  try {
    assertEveryReadingTallied(r);
    assert.deepEqual(r.warned.filter((x) => x.msg.includes('checkpoint')), []);
  } finally {
    await r.s.close();
  }
});

test('a checkpoint removed (an agent that decided before, with no position) also resumes after the last event decided on, not from the start', async () => {
  const r = await tallyAfter((s) => s.store.unsafeExec(`DELETE FROM checkpoints WHERE name = 'agent:tally'`), 'removed');
  try {
    assertEveryReadingTallied(r);
    assertResumedAfterLastDecided(r, /holds no position/);
  } finally {
    await r.s.close();
  }
});

test('an agent named so that its checkpoint would share a key with another agent\'s tag slot (x.next, x.tag) is refused, naming the field', async () => {
  const s = embeddedStack('slot-names');
  try {
    const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: exampleRegistry(), delivery: 'lockstep' });
    for (const name of ['tally.next', 'tally.tag']) {
      assert.throws(() => rt.add({ ...tallyAgent(), name }), (e: unknown) => e instanceof Error && e.message.startsWith(`agent name: "${name}" ends in ".tag" or ".next"`));
    }
    rt.add({ ...tallyAgent(), name: 'tally.nexus' });
  } finally {
    await s.close();
  }
});
