// test-file-timeout: 60
/**
 * A market-wide search shows its transaction id to every BPP, and item ids are guessable, so a
 * registered BPP the grid operator is not trading with could answer in that transaction: its
 * signed on_confirm was recorded as the order (with its order id), the real BPP's on_select was
 * then ignored, and it could report the order COMPLETED with its own settlement figures or
 * cancel it. The grid operator now takes the order steps only from the BPP it selected from.
 * (After the review's reproduction.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCatalog, buildContext, onSearchResponse, signRequest, type BecknSigningKey, type Participant } from '../../../beckn/index.ts';
import { SIM_BAP } from '../../../agents/grid-operator/index.ts';
import { startBecknHttpServer } from '../../../agents/coordination/index.ts';
import type { BecknCallbackAction } from '../../../schemas/beckn/index.ts';
import { BPP_ID, dataOf, HOUR, ofType, startMarket, stress, T0, TEST_BAP } from '../../market/harness.ts';

const at = (h: number) => T0 + h * HOUR;
const SITE_BPP: Participant = { id: BPP_ID, uri: 'http://bpp.caco.local/beckn' };

test('callbacks from a BPP the purchase is not with are ignored; the BPP it selected from still trades', async () => {
  const m = await startMarket();
  try {
    // The BPP the grid operator trades with: TEST_BAP's key and address, ACKing every request.
    const sentToA: string[] = [];
    const a = await startBecknHttpServer({
      actions: ['search', 'select', 'init', 'confirm', 'status', 'update', 'cancel', 'rating', 'support'],
      pathPrefix: '/beckn',
      handler: async (req) => (sentToA.push(req.action), { statusCode: 200, headers: {}, body: { message: { ack: { status: 'ACK' } } } }),
    });
    try {
      m.resolver.register(TEST_BAP.uri, a.origin);
      await m.emit('grid.stress.expected', stress(at(4), at(6)));
      const search = m.recorded.find((r) => r.direction === 'sent' && r.action === 'search')!.body as { context: { message_id: string; transaction_id: string } };
      const transactionId = search.context.transaction_id;
      const post = async (action: BecknCallbackAction, bpp: Participant, key: BecknSigningKey, message: unknown, messageId: string = crypto.randomUUID()) => {
        const context = buildContext({ action, bap: SIM_BAP, bpp, transactionId, messageId, nowMs: m.clock.now() });
        const text = JSON.stringify({ context, message });
        const sig = signRequest(text, key, m.clock.now() / 1000, 30);
        const res = await fetch(m.resolver.resolve(`${SIM_BAP.uri}/${action}`), { method: 'POST', headers: { 'content-type': 'application/json', authorization: sig.authorization }, body: text });
        assert.equal(((await res.json()) as { message: { ack: { status: string } } }).message.ack.status, 'ACK', `${action} from ${bpp.id} is taken at the door (it is signed by a registered BPP)`);
        await m.runtime.settle();
      };
      const fromA = (action: BecknCallbackAction, message: unknown, messageId?: string) => post(action, TEST_BAP, m.testBapKey, message, messageId);
      const fromB = (action: BecknCallbackAction, message: unknown) => post(action, SITE_BPP, m.bppKey, message);

      const catalog = buildCatalog(
        [{ windowStartMs: at(4), windowEndMs: at(5), kw: 1500, minKw: 100, priceGbpPerMwh: 90, noticeMin: 30, baselineMethod: 'scheduled-load-profile', penaltyGbpPerMwh: 108, location: { id: 'rival-site', name: 'Rival' } }],
        { id: 'rival', name: 'Rival flexibility' },
      );
      await fromA('on_search', onSearchResponse(buildContext({ action: 'on_search', bap: SIM_BAP, bpp: TEST_BAP, transactionId, messageId: search.context.message_id, nowMs: m.clock.now() }), catalog).message, search.context.message_id);
      const [sel] = ofType(await m.events(), 'market.purchase.selected').map((e) => dataOf<{ bppId: string; items: Array<{ itemId: string; estimatedGbp: number }> }>(e));
      assert.ok(sel, 'the grid operator selected from A');
      assert.equal(sel.bppId, TEST_BAP.id);
      const item = sel.items[0]!;
      const quote = { price: { currency: 'GBP', value: item.estimatedGbp.toFixed(2) } };

      // B forges A's order steps in that transaction: none of them is acted on.
      await fromB('on_confirm', { order: { id: 'ord-forged', status: 'ACTIVE', provider: { id: 'rival' }, items: [{ id: item.itemId }], quote } });
      await fromB('on_select', { order: { provider: { id: 'rival' }, items: [{ id: item.itemId }] } });
      assert.deepEqual(ofType(await m.events(), 'market.purchase.ordered'), [], 'an on_confirm from another BPP makes no order');
      assert.deepEqual(ofType(await m.events(), 'market.purchase.declined'), [], 'nor does its on_select decline the item');
      assert.equal([...m.gridOperator()!.purchases.values()][0]!.items.get(item.itemId)?.status, 'pending');

      // A's own steps still go through: on_select → init, on_confirm → the order.
      await fromA('on_select', { order: { provider: { id: 'rival' }, items: [{ id: item.itemId }], quote } });
      assert.ok(sentToA.includes('init'), 'A\'s on_select is answered with init');
      await fromA('on_confirm', { order: { id: 'ord-a', status: 'ACTIVE', provider: { id: 'rival' }, items: [{ id: item.itemId }], quote } });
      const ordered = ofType(await m.events(), 'market.purchase.ordered').map((e) => dataOf<{ orderId: string; committedGbp: number }>(e));
      assert.deepEqual(ordered.map((o) => [o.orderId, o.committedGbp]), [['ord-a', item.estimatedGbp]]);

      // B reports A's order complete with its own figures, and cancels it: neither is taken.
      const t = (code: string, value: string) => ({ descriptor: { code }, value });
      const completed = { order: { id: 'ord-a', status: 'COMPLETE', fulfillments: [{ id: 'f-1', state: { descriptor: { code: 'COMPLETED' } } }], tags: [{ descriptor: { code: 'settlement' }, list: [t('contracted-mwh', '1.000000'), t('delivered-mwh', '1.000000'), t('net-gbp', '-5000.00')] }] } };
      await fromB('on_status', completed);
      await fromB('on_cancel', { order: { id: 'ord-a', items: [{ id: item.itemId }] } });
      assert.deepEqual(ofType(await m.events(), 'market.delivery.reported'), []);
      assert.deepEqual(ofType(await m.events(), 'market.purchase.changed'), []);
      assert.equal(m.gridOperator()!.orders.get('ord-a')?.phase, 'ordered');
      assert.ok(!sentToA.includes('rating'), 'nothing is rated on B\'s word');

      // A's own report is taken.
      await fromA('on_status', completed);
      assert.equal(ofType(await m.events(), 'market.delivery.reported').length, 1);
      assert.equal(m.gridOperator()!.orders.get('ord-a')?.phase, 'completed');
    } finally {
      await a.close();
    }
  } finally {
    await m.close();
  }
});
