// test-file-timeout: 60
/**
 * An agent skips any input whose id it has handled, and a third party chooses its command
 * ids. A command sent with the id a ledger event will have (a gateway fact's id is derived from
 * its sender's own; found by review) made the agent fold that event but never decide on it.
 * A third party's commands are handled under `<party>/<id>`, which no event id can be.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Runtime, commandInputId, type CommandReply } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { exampleRegistry } from '../../example/messages.ts';
import { tallyAgent } from '../../example/agents.ts';
import { newKeyFile, SiteIdentity, signWithKey, type LoadedKey } from '../../../core/identity/index.ts';
import { privateKeyFromSeed } from '../../../core/ledger/keyring.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';

function party(name: string, role: 'third-party' | 'operator'): LoadedKey {
  const k = newKeyFile({ party: name, role });
  return { keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, privateKey: privateKeyFromSeed(Buffer.from(k.privateKey, 'base64')) };
}

describe("a third party's command id cannot claim a ledger event's", { timeout: 60_000 }, () => {
  test('the agent still decides on the event whose id a command took first', async () => {
    const s = embeddedStack('cmd-ns');
    const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
    const rt = new Runtime({ ...s, site: 'ns', checkpoints: s.store, registry: exampleRegistry(), delivery: 'lockstep', identity });
    rt.add(tallyAgent());
    await rt.start();
    try {
      const mallory = party('mallory', 'third-party');
      await identity.admin.add(mallory);
      const claimed = randomUUID();
      const time = new Date(s.clock.now()).toISOString();
      const cmd = signWithKey({ id: claimed, type: 'example.tally.reset', version: 1, time, source: 'mallory', correlationId: claimed, causationId: null, data: { meter: 'm1', reason: 'pre-claim' } }, mallory);
      const reply = JSON.parse(Buffer.from((await s.bus.request('caco.ns.cmd.tally.reset', Buffer.from(JSON.stringify(cmd)), { timeoutMs: 10_000 })).data).toString('utf8')) as CommandReply;
      assert.equal(reply.ok, true, JSON.stringify(reply));
      const reset: Envelope[] = [];
      for await (const e of s.store.readAll()) if (e.type === 'example.total.reset') reset.push(e);
      assert.equal(reset.length, 1);
      assert.equal(reset[0]!.causationId, `mallory/${claimed}`, "the command's effects cite it under its party");

      // Later, an event with that very id (and time) reaches the ledger from elsewhere.
      await s.store.append('meter-m1', [{ id: claimed, type: 'example.meter.read', version: 1, time, source: 'meter', correlationId: 'c-1', causationId: null, data: { meter: 'm1', periodStart: time, energyKwh: 12.5 } }], 'any');
      await rt.settle();
      const totalled: Envelope[] = [];
      for await (const e of s.store.readAll()) if (e.type === 'example.energy.totalled') totalled.push(e);
      assert.equal(totalled.length, 1, 'the reading was decided on');
      assert.equal(totalled[0]!.causationId, claimed);
      assert.equal((totalled[0]!.data as { totalKwh: number }).totalKwh, 12.5);
    } finally {
      await rt.stop();
      await s.close();
    }
  });

  test("commandInputId: a third party's is its party and id; the site's own parties keep theirs", () => {
    assert.equal(commandInputId({ id: 'x', principal: { keyId: 'k', party: 'acme', role: 'third-party' } }), 'acme/x');
    for (const role of ['operator', 'admin', 'agent'] as const) assert.equal(commandInputId({ id: 'x', principal: { keyId: 'k', party: 'ops', role } }), 'x');
    assert.equal(commandInputId({ id: 'x' }), 'x');
    // Within the 128 characters of a causation id, whatever the lengths of party and id.
    const long = commandInputId({ id: 'i'.repeat(128), principal: { keyId: 'k', party: 'p'.repeat(128), role: 'third-party' } });
    assert.match(long, /^\/[0-9a-f]{64}$/);
    assert.notEqual(long, commandInputId({ id: 'i'.repeat(127), principal: { keyId: 'k', party: 'p'.repeat(128), role: 'third-party' } }));
  });
});
