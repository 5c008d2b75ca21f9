import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { buildContext, confirmRequest, searchRequest, selectRequest, type Participant } from '../../beckn/index.ts';
import { SIM_BPP } from '../../agents/coordination/index.ts';
import { SIM_BAP } from '../../agents/grid-operator/index.ts';
import { dataOf, flexibility, HOUR, ofType, startMarket, T0, TEST_BAP, type Market } from './harness.ts';
import { send } from './client.ts';

/**
 * One BAP's requests never spoil another's: ids a BAP chooses (message_id, transaction_id) are
 * its own, and what it leaves behind does not fill what other BAPs need. The grid operator's key
 * (SIM_BAP) plays the second BAP; no grid operator agent runs.
 */

const at = (h: number) => T0 + h * HOUR;
const ITEM = 'flex-20260115-sp29-30';
const choice = (kw: number) => ({ providerId: 'dc-london-01', itemId: ITEM, kw });

describe('BAPs are isolated from each other', { timeout: 60_000 }, () => {
  let m: Market;
  before(async () => {
    m = await startMarket({ gridOperator: false });
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
  });
  after(async () => m.close());

  test('two BAPs that use one message_id are two requests: each is handled and answered', async () => {
    const mid = randomUUID();
    const a = searchRequest(buildContext({ action: 'search', bap: TEST_BAP, transactionId: randomUUID(), messageId: mid, nowMs: m.clock.now() }), {});
    const b = searchRequest(buildContext({ action: 'search', bap: SIM_BAP, transactionId: randomUUID(), messageId: mid, nowMs: m.clock.now() }), {});
    const before = (await m.events()).length;
    assert.equal((await send(m, 'search', a)).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    assert.equal((await send(m, 'search', b, { key: m.bapKey })).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const added = (await m.events()).slice(before);
    const targets = ofType(added, 'beckn.callback.scheduled').map((e) => dataOf<{ target: string }>(e).target).sort();
    assert.deepEqual(targets, [SIM_BAP.uri, TEST_BAP.uri], 'an on_search for each BAP; before, the second was dropped as a repeat of the first');
  });

  test('a BAP that sends another BAP\'s transaction_id gets an order of its own; the first BAP\'s draft stays its own', async () => {
    const tx = randomUUID();
    const ctx = <A extends 'select' | 'confirm'>(bap: Participant, action: A) => buildContext({ action, bap, bpp: SIM_BPP, transactionId: tx, messageId: randomUUID(), nowMs: m.clock.now() });
    assert.equal((await send(m, 'select', selectRequest(ctx(TEST_BAP, 'select'), choice(500)))).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const inTx = () => [...m.coordination().orders.values()].filter((o) => o.transactionId === tx);
    const [draft] = inTx();
    assert.ok(draft);
    assert.equal(draft.bapId, TEST_BAP.id);
    assert.equal((await send(m, 'confirm', confirmRequest(ctx(SIM_BAP, 'confirm'), choice(300)), { key: m.bapKey })).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    const mine = m.coordination().orders.get(draft.orderId)!;
    assert.deepEqual([mine.bapId, mine.phase, mine.kw], [TEST_BAP.id, 'selected', 500], 'the draft is untouched; before, the other BAP confirmed it as its own');
    const theirs = inTx().filter((o) => o.orderId !== draft.orderId);
    assert.deepEqual(theirs.map((o) => [o.bapId, o.phase, o.kw]), [[SIM_BAP.id, 'confirmed', 300]]);
  });
});
