// test-file-timeout: 120
/**
 * Replies of the gateway served as NATS services: a reply larger than the server's max_payload
 * cannot be published. A catch-up read over large facts must still answer (a shorter page the
 * reader continues from), and a reply that cannot be sent must not end the site's process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Schema } from 'effect';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../../core/bus/nats-bus.ts';
import { serveAsServices } from '../../../core/gateway/index.ts';
import { gatewaySite, loadedKey, signWithKey } from './support.ts';
import { natsSkip, natsUrl, uniqueToken } from '../../support/nats.ts';

const skip = await natsSkip();

describe('gateway replies over NATS services and the size of a NATS message', { skip, timeout: 90_000 }, () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  let nc: NatsConnection;

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    nc = await connectNats({ servers: natsUrl(), name: 'gateway-reply-size' });
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await nc?.close();
  });

  test('a read over facts that together exceed max_payload answers with a page that fits, and the reader continues to the head', async () => {
    const site = uniqueToken('gwsize');
    const g = await gatewaySite('gw-size', { site, queries: { huge: { description: 'test only: an answer larger than any NATS message', request: Schema.Struct({}), answer: () => ({ blob: 'x'.repeat(2 * 1024 * 1024) }) } } });
    let services: Awaited<ReturnType<typeof serveAsServices>> | undefined;
    try {
      services = await serveAsServices(nc, [{ name: 'caco-gateway', version: '1.0.0', description: 'test', metadata: { site }, endpoints: g.gateway.endpoints(), queue: 'caco-gateway' }]);
      const k = loadedKey('bulky');
      await g.identity.admin.add(k);
      const ann = JSON.parse(Buffer.from(await g.gateway.endpoints()[0]!.handle(Buffer.from(JSON.stringify(signWithKey({ name: 'bulky', version: '1', publishes: ['ext.bulky.blob.read'], schemas: { 'ext.bulky.blob.read': { type: 'object' } } }, k))))).toString()) as { ok: boolean };
      assert.equal(ann.ok, true, JSON.stringify(ann));
      // 24 facts of ~60 KB: each within the 64 KB a request may have, 1.4 MB together.
      for (let i = 0; i < 24; i++) {
        const r = await g.gateway.append(Buffer.from(JSON.stringify(signWithKey({ id: `b${i}`, type: 'ext.bulky.blob.read', version: 1, data: { blob: `${i}`.padEnd(60_000, '.') } }, k))));
        assert.equal(r.ok, true, JSON.stringify(r));
      }
      const seen: number[] = [];
      let from = 0;
      for (let pages = 0; pages < 30; pages++) {
        const res = await nc.request(`caco.${site}.gw.read`, Buffer.from(JSON.stringify({ fromPosition: from })), { timeout: 5_000 });
        assert.ok(res.data.byteLength <= nc.info!.max_payload, `a reply of ${res.data.byteLength} bytes`);
        const page = JSON.parse(Buffer.from(res.data).toString('utf8')) as { ok: boolean; events: Array<{ position: number; type: string }>; nextPosition: number; headPosition: number };
        assert.equal(page.ok, true, JSON.stringify(page).slice(0, 300));
        for (const e of page.events) if (e.type === 'ext.bulky.blob.read') seen.push(e.position);
        if (page.nextPosition >= page.headPosition) break;
        assert.ok(page.nextPosition > from, 'each page moves the reader on');
        from = page.nextPosition;
      }
      assert.equal(seen.length, 24, 'every fact read once');
      assert.equal(new Set(seen).size, 24);

      // A reply that cannot be sent at all is an error reply, not the end of the process.
      const huge = await nc.request(`caco.${site}.q.huge`, Buffer.from('{}'), { timeout: 5_000 });
      assert.equal(huge.headers?.get('Nats-Service-Error-Code'), '500');
      assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection');
    } finally {
      await services?.stop();
      await g.close();
    }
  });
});
