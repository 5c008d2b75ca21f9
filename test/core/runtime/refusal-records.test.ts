import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Runtime, type CommandReply } from '../../../core/runtime/runtime.ts';
import { subjects } from '../../../core/runtime/subjects.ts';
import type { DeadLetter } from '../../../core/runtime/dead-letter.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { createComputeAgent } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { commandEnvelope, validJob } from '../../security/support.ts';

/**
 * A flood of refused commands does not become a flood of log lines and dead letters: the
 * first refusals are recorded one by one, the rest counted and summed up (one dead letter and
 * one line per agent per interval, and at stop). Counted, on a clock that stands still.
 */
describe('refused commands are recorded at a bounded rate, the rest summed up', { timeout: 60_000 }, () => {
  test('2,000 junk commands: 50 dead letters and warning lines one by one, then one summary counting the other 1,950; every sender is still answered', async () => {
    const s = embeddedStack('refusal-records');
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const site = 'srefusals';
    // A backlog that holds the whole flood: the in-process publisher is faster than the intake, and every command is to be checked here.
    const rt = new Runtime({ ...s, log, site, checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', commandBacklog: { maxPending: 2000 } });
    rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
    const letters: DeadLetter[] = [];
    await s.bus.subscribe(subjects.dlq(site), (m) => void letters.push(JSON.parse(Buffer.from(m.data).toString('utf8')) as DeadLetter));
    const subject = subjects.command(site, 'compute', 'submit');
    const junk = (i: number) => Buffer.from(JSON.stringify({ ...commandEnvelope(validJob(`j${i}`), { id: `junk-${i}`, source: 'x' }), keyId: `k${i}`, sig: 'AAAA' }));
    let stopped = false;
    try {
      await rt.start();
      await rt.settle();
      const N = 2000;
      for (let i = 0; i < N - 1; i++) await s.bus.publish(subject, junk(i));
      await s.bus.flush();
      // The last one asks for an answer: it is past the budget, and still answered with its reason.
      const r = JSON.parse(Buffer.from((await s.bus.request(subject, junk(N - 1), { timeoutMs: 10_000 })).data).toString('utf8')) as CommandReply;
      assert.equal(r.ok ? 'ok' : r.error.code, 'unknown-key');
      await s.bus.flush();
      const deadLettered = () => lines.filter((l) => (JSON.parse(l) as { msg: string }).msg === 'dead-lettered').length;
      assert.equal(letters.length, 50, 'dead letters one by one: the burst');
      assert.equal(deadLettered(), 50, 'warning lines: one per dead letter');
      assert.equal(rt.commandIntake('compute').refused, N);
      await rt.stop();
      stopped = true;
      await s.bus.flush();
      assert.equal(letters.length, 51, 'and one summary');
      assert.equal(deadLettered(), 51);
      const summary = letters.at(-1)!;
      assert.equal(summary.agent, 'compute');
      assert.match(summary.reason, /^summary since 2023-07-03T00:00:00\.000Z: 1950 refused commands not dead-lettered one by one \(past 5 a second, burst 50\): 1950 unknown-key$/);
      assert.deepEqual((summary.payload as { summary: { refused: Record<string, number>; shed: number } }).summary.refused, { 'unknown-key': 1950 });
    } finally {
      if (!stopped) await rt.stop();
      await s.close();
    }
  });
});
