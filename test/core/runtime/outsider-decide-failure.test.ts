// test-file-timeout: 60
/**
 * A third party's command on which an agent's `decide` throws is dead-lettered at once: the
 * same command fails the same way, and every retry (a back-off, then the state restored from
 * the ledger) held all of the agent's other work, so one tenant sending such a command every
 * 1.6 s kept the agent busy for everyone. A command from the site's own parties is still
 * retried, as a failure there may pass. The third party's reply does not carry the error's text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { exampleRegistry } from '../../example/messages.ts';
import { tallyAgent } from '../../example/agents.ts';
import type { DeadLetter } from '../../../core/runtime/dead-letter.ts';
import type { Principal } from '../../../core/identity/index.ts';

const outsider: Principal = { keyId: 'mallory-1', party: 'mallory', role: 'third-party' };
const operator: Principal = { keyId: 'ops-1', party: 'ops', role: 'operator' };

test("decide throwing on a third party's command: one attempt, a dead letter, a reply without the error's text; an operator's is retried", { timeout: 30_000 }, async () => {
  const s = embeddedStack('outsider-decide');
  let decides = 0;
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: exampleRegistry(), delivery: 'lockstep', backoffMs: 1 });
  rt.add(tallyAgent({ failOnce: () => (decides++, true) }));
  const dlq: DeadLetter[] = [];
  await s.bus.subscribe('caco.t.dlq', (m) => void dlq.push(JSON.parse(Buffer.from(m.data).toString()) as DeadLetter));
  try {
    await rt.start();
    await rt.settle();
    const before = decides;
    const sent = rt.enqueue('tally', 'reset', { meter: 'main', reason: 'x' }, { principal: outsider, source: 'mallory' });
    assert.ok(sent.accepted);
    const reply = await sent.outcome;
    assert.equal(decides - before, 1, 'decided once, not retried');
    assert.deepEqual(reply, { ok: false, error: { reason: 'agent "tally" failed on this command; it was not retried (the site\'s log and dead letters say why)' } });
    await s.bus.flush();
    assert.equal(dlq.length, 1);
    assert.match(JSON.stringify(dlq[0]), /decide failed on a third party's command \(not retried\): .*simulated crash/);

    const mid = decides;
    const ops = rt.enqueue('tally', 'reset', { meter: 'main', reason: 'y' }, { principal: operator, source: 'ops' });
    assert.ok(ops.accepted);
    const opsReply = await ops.outcome;
    assert.equal(decides - mid, 5, "the site's own commands are retried as before (5 attempts)");
    assert.equal(opsReply.ok, false);
  } finally {
    await rt.stop();
    await s.close();
  }
});
