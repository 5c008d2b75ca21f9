// test-file-timeout: 60
/**
 * Found by a helper's review, run there on the secured server: a NATS client chooses its reply
 * subject freely, and the site answered with its own permissions, which reach its key registry,
 * checkpoints and ledger. Twelve junk commands "answered" to `$KV.caco_<site>_keys.<key>` pushed
 * every signed entry of that key out of the bucket (it keeps 10 values): the key was gone. The
 * site now answers only inboxes (`_INBOX.…`, a third party's `_INBOX_<name>.…`); through the bus
 * and through the NATS services framework (whose `$SRV.PING` answers are its own).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, isReplySubject, MemoryBus, NatsBus } from '../../core/bus/index.ts';
import { serveAsServices } from '../../core/gateway/index.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';

const skip = await natsSkip();
const settle = () => new Promise((r) => setTimeout(r, 300));

test('isReplySubject: inboxes only', () => {
  for (const ok of ['_INBOX.abc', '_INBOX.abc.def', '_INBOX_acme.x1', '_INBOX_acme-2.x.y']) assert.equal(isReplySubject(ok), true, ok);
  for (const bad of ['$KV.caco_s_keys.operator', '$JS.API.STREAM.DELETE.x', 'caco.s.ledger.x', 'caco.s.cmd.compute.submit', '_INBOX', '_INBOX.', '_INBOX.a b', '_INBOX.*', '_INBOX.>', '_INBOXES.x', '_INBOX_.x', '_INBOX_Acme.x', '_INBOX..x', `_INBOX.${'x'.repeat(600)}`, '']) {
    assert.equal(isReplySubject(bad), false, bad);
  }
});

test('the in-process bus answers a request (its reply subject is an inbox)', async () => {
  const bus = new MemoryBus();
  await bus.subscribe('q.x', (m) => bus.respond(m, Buffer.from('yes')));
  assert.equal(Buffer.from((await bus.request('q.x', Buffer.from(''), { timeoutMs: 1000 })).data).toString(), 'yes');
});

describe('the site answers inboxes only', { skip, timeout: 45_000 }, () => {
  let raw: NatsConnection;
  before(async () => {
    raw = await connectNats({ servers: natsUrl(), name: 'reply-subjects-raw' });
  });
  after(async () => {
    await raw?.close();
  });

  /** Subjects the spy heard on, for every reply subject tried. */
  async function heard(site: string, send: (reply: string) => void): Promise<string[]> {
    const got: string[] = [];
    const traps = [`$KV.caco_${site}_keys.operator`, `caco.${site}.ledger.x`, `_INBOX.${site}.a`, `_INBOX_acme.${site}`];
    const subs = traps.map((t) => raw.subscribe(t, { callback: (_e, m) => void got.push(m.subject) }));
    try {
      await raw.flush();
      for (const t of traps) send(t);
      await raw.flush();
      await settle();
      return got.sort();
    } finally {
      for (const s of subs) s.unsubscribe();
    }
  }

  test('NatsBus.respond: to $KV and ledger subjects nothing is sent; to inboxes the answer is', async () => {
    const site = uniqueToken('reply');
    const bus = await NatsBus.connect({ servers: natsUrl(), name: 'reply-subjects-site' });
    try {
      let handled = 0;
      await bus.subscribe(`caco.${site}.cmd.compute.submit`, async (m) => {
        handled++;
        await bus.respond(m, Buffer.from('{"ok":false,"error":{"reason":"not a command envelope"}}'));
      });
      await bus.flush();
      const got = await heard(site, (reply) => raw.publish(`caco.${site}.cmd.compute.submit`, Buffer.from('{}'), { reply }));
      assert.equal(handled, 4, 'every request is handled');
      assert.deepEqual(got, [`_INBOX.${site}.a`, `_INBOX_acme.${site}`].sort());
    } finally {
      await bus.close();
    }
  });

  test("a refusal aimed at the site's own pending request is not sent; the site's requests to itself are answered", async () => {
    // The buyer receives the site's request (as a Beckn callback over NATS), so it sees the
    // site's reply inbox; it sends junk to the site's command subject with that inbox as reply,
    // then answers the request properly 200 ms later. The site's request must get the answer.
    const site = uniqueToken('own');
    const bus = await NatsBus.connect({ servers: natsUrl(), name: 'reply-subjects-own' });
    const buyer = raw.subscribe(`beckn.${site}.bap.on_confirm`, {
      callback: (_e, m) => {
        raw.publish(`caco.${site}.cmd.compute.submit`, Buffer.from('junk'), { reply: m.reply! });
        setTimeout(() => m.respond(Buffer.from('ACK')), 200);
      },
    });
    try {
      let refused = 0;
      await bus.subscribe(`caco.${site}.cmd.compute.submit`, async (m) => {
        refused++;
        await bus.respond(m, Buffer.from('REFUSED'));
      });
      await raw.flush();
      const answer = await bus.request(`beckn.${site}.bap.on_confirm`, Buffer.from('{"order":1}'), { timeoutMs: 3000 });
      assert.equal(refused, 1, 'the junk reached the command handler');
      assert.equal(Buffer.from(answer.data).toString(), 'ACK');
      // A request the site sends to its own subject (HTTP POST /jobs, the in-process grid operator) is still answered.
      const self = await bus.request(`caco.${site}.cmd.compute.submit`, Buffer.from('mine'), { timeoutMs: 3000 });
      assert.equal(Buffer.from(self.data).toString(), 'REFUSED');
    } finally {
      buyer.unsubscribe();
      await bus.close();
    }
  });

  test('services: $SRV.PING and an endpoint answer inboxes only', async () => {
    const site = uniqueToken('srv');
    const nc = await connectNats({ servers: natsUrl(), name: 'reply-subjects-services' });
    const services = await serveAsServices(nc, [{ name: `svc-${site}`, version: '1.0.0', description: 'test', metadata: {}, endpoints: [{ name: 'echo', subject: `caco.${site}.q.echo`, handle: async (d) => d }] }]);
    try {
      await nc.flush();
      const pings = await heard(site, (reply) => raw.publish(`$SRV.PING.svc-${site}`, Buffer.from(''), { reply }));
      assert.deepEqual(pings, [`_INBOX.${site}.a`, `_INBOX_acme.${site}`].sort());
      const echoes = await heard(site, (reply) => raw.publish(`caco.${site}.q.echo`, Buffer.from('{}'), { reply }));
      assert.deepEqual(echoes, [`_INBOX.${site}.a`, `_INBOX_acme.${site}`].sort());
      assert.equal(Buffer.from((await raw.request(`caco.${site}.q.echo`, Buffer.from('hi'), { timeout: 3000 })).data).toString(), 'hi', 'an ordinary request is answered');
    } finally {
      await services.stop();
      await nc.close();
    }
  });
});
