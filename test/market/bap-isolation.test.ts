import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { buildContext, searchRequest } from '../../beckn/index.ts';
import { SIM_BAP } from '../../agents/grid-operator/index.ts';
import { dataOf, flexibility, HOUR, ofType, startMarket, T0, TEST_BAP, type Market } from './harness.ts';
import { send } from './client.ts';

/**
 * One BAP's requests never spoil another's: ids a BAP chooses (message_id, transaction_id) are
 * its own, and what it leaves behind does not fill what other BAPs need. The grid operator's key
 * (SIM_BAP) plays the second BAP; no grid operator agent runs.
 */

const at = (h: number) => T0 + h * HOUR;

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
});
