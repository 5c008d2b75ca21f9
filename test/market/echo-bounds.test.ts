import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { searchRequest } from '../../beckn/index.ts';
import { flexibility, HOUR, startMarket, T0, type Market } from './harness.ts';
import { contextFor, send, type Answer } from './client.ts';
import { expectOneRejection } from './rejection.ts';

/**
 * A registered BAP's strings reach the ledger: what the BPP echoes (billing, context location
 * and key, support ref_id) is part of the on_* callback, recorded whole as
 * `beckn.callback.scheduled`. They were unbounded, so one signed init with a 900 KB billing
 * name put a 900 KB event on the ledger, and a bap_uri over the 2,048 characters a callback
 * target may have was ACKed and then lost (the agent could not record its callback). Now a
 * string over 2,048 characters anywhere in a request is a NACK 30000 naming its path.
 */

const ITEM = 'flex-20260115-sp29-30';
const PROVIDER = 'dc-london-01';
const at = (h: number) => T0 + h * HOUR;
const long = (c: string, n: number) => c.repeat(n);
const initBody = (m: Market, billing: Record<string, string>) => ({
  context: contextFor(m, 'init'),
  message: { order: { provider: { id: PROVIDER }, items: [{ id: ITEM, quantity: { selected: { measure: { unit: 'kW', value: '100' } } } }], billing } },
});

async function expectLongRefused(m: Market, run: () => Promise<Answer>, path: string): Promise<void> {
  const { answer, rejected } = await expectOneRejection(m, run);
  assert.equal(answer.status, 400);
  assert.equal(answer.body.error?.code, '30000');
  assert.equal(answer.body.error?.paths, path);
  assert.match(answer.body.error?.message ?? '', /longer than 2048 characters/);
  assert.equal(rejected.path, path);
}

describe('strings a BAP sends are bounded before they can reach the ledger', { timeout: 60_000 }, () => {
  let m: Market;
  before(async () => {
    m = await startMarket({ gridOperator: false });
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }]));
  });
  after(async () => m.close());

  test('a 300,000-character billing name (echoed in on_init) → NACK 30000 at message.order.billing.name, one rejection, nothing else', () =>
    expectLongRefused(m, () => send(m, 'init', initBody(m, { name: long('N', 300_000) })), 'message.order.billing.name'));

  test('a bap_uri longer than a callback target may be → NACK at context.bap_uri, not an ACK whose callback is lost', () =>
    expectLongRefused(m, () => send(m, 'search', searchRequest({ ...contextFor(m, 'search'), bap_uri: `http://test-bap.caco.local/beckn/${long('a', 5_000)}` }, {})), 'context.bap_uri'));

  test('echoed context fields and support.ref_id → NACK with the path', async () => {
    await expectLongRefused(m, () => send(m, 'search', searchRequest({ ...contextFor(m, 'search'), location: { city: { code: long('c', 500_000) }, country: { code: 'GBR' } } }, {})), 'context.location.city.code');
    await expectLongRefused(m, () => send(m, 'search', searchRequest({ ...contextFor(m, 'search'), key: long('k', 3_000) }, {})), 'context.key');
    await expectLongRefused(m, () => send(m, 'support', { context: contextFor(m, 'support'), message: { support: { ref_id: long('r', 500_000) } } }), 'message.support.ref_id');
  });

  test('strings at the limit are taken, and the callback recorded for them stays small', async () => {
    const before = (await m.events()).length;
    const at2048 = { name: long('N', 2_048), phone: long('1', 2_048), tax_id: long('T', 2_048), email: `${long('e', 2_000)}@example.org` };
    const a = await send(m, 'init', initBody(m, at2048));
    assert.deepEqual(a.body, { message: { ack: { status: 'ACK' } } }, JSON.stringify(a.body).slice(0, 300));
    await m.runtime.settle();
    const added = (await m.events()).slice(before);
    assert.ok(added.some((e) => e.type === 'beckn.callback.scheduled'));
    for (const e of added) assert.ok(JSON.stringify(e).length < 32 * 1024, `${e.type} is ${JSON.stringify(e).length} bytes`);
  });

  test('a 1 MB search of 14,000 bad tag groups → a NACK that names its first problem and stays small, one rejection', async () => {
    // Listing every problem was 42,000 paths: 0.6 s of the BPP's event loop and a 1.9 MB NACK (a helper's review).
    const tags = Array.from({ length: 14_000 }, () => ({ descriptor: { code: '' }, list: [{ descriptor: { code: '' }, value: 1 }] }));
    const body = { context: contextFor(m, 'search'), message: { intent: { tags } } };
    assert.ok(JSON.stringify(body).length > 1_000_000);
    const { answer, rejected } = await expectOneRejection(m, () => send(m, 'search', body));
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error?.code, '30000');
    assert.ok(JSON.stringify(answer.body).length < 2_048, `NACK of ${JSON.stringify(answer.body).length} bytes`);
    assert.equal(answer.body.error?.paths?.split(',').length, 1, answer.body.error?.paths);
    assert.match(answer.body.error?.paths ?? '', /^message\.intent\.tags\[0\]/);
    assert.equal(rejected.path, answer.body.error?.paths);
  });
});
