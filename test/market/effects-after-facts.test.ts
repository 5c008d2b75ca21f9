import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { publicKeyToBase64, searchRequest } from '../../beckn/index.ts';
import { seededSigningKey, startBecknHttpServer, type BecknHttpServer } from '../../agents/coordination/index.ts';
import { dataOf, flexibility, HOUR, startMarket, stress, T0 } from './harness.ts';
import { contextFor, send } from './client.ts';

/** Issue 12.3 on the BPP: a callback leaves after its fact is stored, is retried, and keeps its message id. */

describe('BPP callbacks from the ledger', { timeout: 60_000 }, () => {
  test('a BAP that fails twice gets the on_search on the third try, with one message id and Idempotency-Key throughout', async () => {
    const received: Array<{ messageId: string; idempotencyKey: string | undefined; answered: number }> = [];
    let bap: BecknHttpServer | undefined;
    const m = await startMarket({ gridOperator: false });
    try {
      bap = await startBecknHttpServer({
        actions: ['on_search'],
        pathPrefix: '/beckn',
        handler: async (req) => {
          const body = JSON.parse(req.body.toString('utf8')) as { context: { message_id: string } };
          const answered = received.length < 2 ? 503 : 200;
          received.push({ messageId: body.context.message_id, idempotencyKey: req.headers['idempotency-key'] as string | undefined, answered });
          return answered === 200
            ? { statusCode: 200, headers: {}, body: { message: { ack: { status: 'ACK' } } } }
            : { statusCode: 503, headers: {}, body: { message: { ack: { status: 'NACK' } }, error: { code: '50000', message: 'busy' } } as never };
        },
      });
      const key = seededSigningKey('flaky', 'flaky-bap.example.org');
      const uri = 'http://flaky-bap.caco.local/beckn';
      m.keys.add({ subscriber_id: key.subscriberId, key_id: key.uniqueKeyId, signing_public_key: publicKeyToBase64(key.privateKey), url: uri });
      m.resolver.register(uri, bap.origin);
      await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: T0 + 4 * HOUR, kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }]));

      const ctx = { ...contextFor(m, 'search'), bap_id: key.subscriberId, bap_uri: uri };
      assert.equal((await send(m, 'search', searchRequest(ctx, {}), { key })).body.message.ack.status, 'ACK');
      await m.runtime.settle();

      assert.deepEqual(
        received.map((r) => r.answered),
        [503, 503, 200],
      );
      assert.deepEqual(new Set(received.map((r) => r.messageId)), new Set([ctx.message_id]));
      assert.deepEqual(new Set(received.map((r) => r.idempotencyKey)), new Set([ctx.message_id]));
      const events = (await m.events()).filter((e) => e.type === 'beckn.callback.scheduled' || e.type.startsWith('outbox.effect.'));
      assert.deepEqual(
        events.map((e) => e.type),
        ['beckn.callback.scheduled', 'outbox.effect.sent'],
      );
      assert.ok(events[0]!.position < events[1]!.position, 'the fact is stored before the outcome');
      assert.equal(dataOf<{ action: string }>(events[0]!).action, 'on_search');
      assert.deepEqual(
        [dataOf<{ attempts: number }>(events[1]!).attempts, dataOf<{ ack: string }>(events[1]!).ack, dataOf<{ messageId: string }>(events[1]!).messageId],
        [3, 'ACK', ctx.message_id],
      );
    } finally {
      await m.close();
      await bap?.close();
    }
  });

  test("the grid operator learns the BPP's NACK from the ledger: the search is a fact, then its outcome, then the decline", async () => {
    let bpp: BecknHttpServer | undefined;
    const bppUri = 'http://refusing-bpp.caco.local/beckn';
    const m = await startMarket({ gridOperatorConfig: { bppUri } });
    try {
      bpp = await startBecknHttpServer({
        actions: ['search'],
        pathPrefix: '/beckn',
        handler: async () => ({ statusCode: 200, headers: {}, body: { message: { ack: { status: 'NACK' } }, error: { code: '30000', message: 'closed for the day' } } as never }),
      });
      m.resolver.register(bppUri, bpp.origin);
      await m.emit('grid.stress.expected', stress(T0 + 4 * HOUR, T0 + 5 * HOUR));
      const ev = (await m.events()).filter((e) => e.stream.startsWith('purchase-') || e.stream === 'effects-grid-operator');
      assert.deepEqual(
        ev.map((e) => e.type),
        ['market.purchase.searched', 'beckn.request.scheduled', 'outbox.effect.sent', 'market.purchase.declined'],
      );
      assert.equal(dataOf<{ ack: string }>(ev[2]!).ack, 'NACK');
      assert.equal(ev[3]!.causationId, ev[2]!.id, 'the decline is a decision on the outcome');
      assert.equal(dataOf<{ reason: string }>(ev[3]!).reason, 'the BPP refused the search');
    } finally {
      await m.close();
      await bpp?.close();
    }
  });
});
