// test-file-timeout: 60
/**
 * Every BPP answers a search under the search's message id. The grid operator must weigh each
 * BPP's catalogue, not only the first to arrive: a second BPP's on_search was once queued under
 * the same command id as the first's and dropped as a duplicate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCatalog, buildContext, onSearchResponse, signRequest } from '../../beckn/index.ts';
import { SIM_BAP } from '../../agents/grid-operator/index.ts';
import { dataOf, HOUR, ofType, startMarket, stress, T0, TEST_BAP } from './harness.ts';

const at = (h: number) => T0 + h * HOUR;

test("a second BPP's on_search under the search's message id is weighed: the empty first catalogue does not hide the second's offer", async () => {
  const m = await startMarket();
  try {
    // The site's BPP has nothing for sale: its on_search comes back empty.
    await m.emit('grid.stress.expected', stress(at(4), at(6)));
    const search = m.recorded.find((r) => r.direction === 'sent' && r.action === 'search')?.body as { context: { message_id: string; transaction_id: string } } | undefined;
    assert.ok(search, 'the grid operator searched');
    assert.equal(m.recorded.filter((r) => r.direction === 'received' && r.action === 'on_search').length, 1, "the site's BPP answered");
    assert.equal(ofType(await m.events(), 'market.purchase.selected').length, 0);

    // A second BPP (registered: the test key, at its registered address) answers the same search.
    const catalog = buildCatalog(
      [{ windowStartMs: at(4), windowEndMs: at(5), kw: 1500, minKw: 100, priceGbpPerMwh: 90, noticeMin: 30, baselineMethod: 'scheduled-load-profile', penaltyGbpPerMwh: 108, location: { id: 'rival-site', name: 'Rival' } }],
      { id: 'rival', name: 'Rival flexibility' },
    );
    const context = buildContext({ action: 'on_search', bap: SIM_BAP, bpp: TEST_BAP, transactionId: search.context.transaction_id, messageId: search.context.message_id, nowMs: m.clock.now() });
    const text = JSON.stringify(onSearchResponse(context, catalog));
    const post = async () => {
      const sig = signRequest(text, m.testBapKey, m.clock.now() / 1000, 30);
      const res = await fetch(m.resolver.resolve(`${SIM_BAP.uri}/on_search`), { method: 'POST', headers: { 'content-type': 'application/json', authorization: sig.authorization }, body: text });
      return ((await res.json()) as { message: { ack: { status: string } } }).message.ack.status;
    };
    assert.equal(await post(), 'ACK');
    await m.runtime.settle();
    const selected = ofType(await m.events(), 'market.purchase.selected').map((e) => dataOf<{ bppId: string; items: Array<{ kw: number }> }>(e));
    assert.deepEqual(
      selected.map((s) => [s.bppId, s.items.map((i) => i.kw)]),
      [[TEST_BAP.id, [1000]]],
    );

    // The same answer again is one answer: acknowledged, nothing new decided.
    assert.equal(await post(), 'ACK');
    await m.runtime.settle();
    assert.equal(ofType(await m.events(), 'market.purchase.selected').length, 1);
  } finally {
    await m.close();
  }
});
