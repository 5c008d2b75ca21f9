import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { confirmRequest, selectRequest } from '../../beckn/index.ts';
import { flexibility, HOUR, meterRead, startMarket, T0, type Market } from './harness.ts';
import { contextFor, send } from './client.ts';

/**
 * Drafts (select or init, never confirmed) cost the agent state it scans on every order. Before,
 * none was ever dropped: 500 selects left 500 drafts and 500 order records for good. Now a BAP
 * holds at most `maxDraftsPerBap` drafts whose quotes are valid, and lapsed drafts are dropped.
 */

const at = (h: number) => T0 + h * HOUR;
const choice = (kw: number) => ({ providerId: 'dc-london-01', itemId: 'flex-20260115-sp29-30', kw });
const QUOTE_MS = 15 * 60_000;

describe('draft orders lapse', { timeout: 60_000 }, () => {
  let m: Market;
  before(async () => {
    m = await startMarket({ gridOperator: false, coordination: { maxDraftsPerBap: 3 } });
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 2000, costGbpPerMwh: 50, baselineKw: 9000 }]));
  });
  after(async () => m.close());

  const select = async (transactionId = randomUUID()) => {
    const r = await send(m, 'select', selectRequest(contextFor(m, 'select', { transactionId }), choice(100)));
    await m.runtime.settle();
    return r;
  };
  const drafts = () => [...m.coordination().orders.values()].filter((o) => o.phase === 'selected' || o.phase === 'initialized');

  test('past maxDraftsPerBap drafts with valid quotes, a select that starts another is refused (40000 at context.bap_id); the same drafts can still go on', async () => {
    const txs = [randomUUID(), randomUUID(), randomUUID()];
    for (const tx of txs) assert.equal((await select(tx)).body.message.ack.status, 'ACK');
    const refused = await select();
    assert.equal(refused.body.message.ack.status, 'NACK');
    assert.equal(refused.body.error?.code, '40000');
    assert.equal(refused.body.error?.paths, 'context.bap_id');
    assert.match(refused.body.error?.message ?? '', /has 3 draft orders whose quotes are still valid \(at most 3 per BAP\)/);
    assert.equal(drafts().length, 3);
    // A select that continues one of them is not a new draft; a confirm frees its place.
    assert.equal((await select(txs[0])).body.message.ack.status, 'ACK');
    assert.equal((await send(m, 'confirm', confirmRequest(contextFor(m, 'confirm', { transactionId: txs[1] }), choice(100)))).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    assert.equal((await select()).body.message.ack.status, 'ACK');
  });

  test('once their quotes have lapsed, drafts are dropped, order records and all; a confirmed order stays', async () => {
    await m.advanceTo(m.clock.now() + QUOTE_MS + 60_000);
    // Lapsed drafts no longer count: a new select is taken, and clears them.
    assert.equal((await select()).body.message.ack.status, 'ACK');
    assert.equal(drafts().length, 1, 'only the new draft is left');
    // Even with no select, a meter read (every half-hour) drops what has lapsed since.
    await m.advanceTo(m.clock.now() + QUOTE_MS + 60_000);
    await m.emit('site.meter.read', meterRead(m.clock.now() - 30 * 60_000, 9000));
    const s = m.coordination();
    assert.equal(drafts().length, 0);
    assert.equal(s.drafts.size, 1, 'the confirmed order keeps its key (a second confirm is refused)');
    assert.deepEqual([...s.orders.values()].map((o) => o.phase), ['confirmed']);
  });

  test('a confirm after its quote lapsed is refused (40003, select again) before and after the lapsed draft is dropped; before, once dropped it bought at the current terms', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await select(a);
    await select(b);
    await m.advanceTo(m.clock.now() + QUOTE_MS + 60_000);
    const confirm = (transactionId: string) => send(m, 'confirm', confirmRequest(contextFor(m, 'confirm', { transactionId }), choice(100)));
    // Nothing has come since: the lapsed drafts are still in the state.
    const early = await confirm(a);
    // A meter read drops them; the same confirm is answered the same way.
    await m.emit('site.meter.read', meterRead(m.clock.now() - 30 * 60_000, 9000));
    assert.equal(drafts().length, 0, 'the lapsed drafts are dropped');
    const late = await confirm(b);
    await m.runtime.settle();
    for (const answer of [early, late]) {
      assert.equal(answer.body.message.ack.status, 'NACK');
      assert.equal(answer.body.error?.code, '40003');
      assert.match(answer.body.error?.message ?? '', /the quote expired 60 s ago; select again/);
    }
    assert.deepEqual([...m.coordination().orders.values()].map((o) => o.phase), ['confirmed'], 'no order was opened');
    // Selecting again is how to go on: a new draft, confirmed.
    assert.equal((await select(b)).body.message.ack.status, 'ACK');
    assert.equal((await confirm(b)).body.message.ack.status, 'ACK');
    await m.runtime.settle();
    assert.deepEqual([...m.coordination().orders.values()].map((o) => o.phase), ['confirmed', 'confirmed']);
  });
});
