import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { buildContext, confirmRequest, publicKeyToBase64, searchRequest, selectRequest, signRequest } from '../../beckn/index.ts';
import { SIM_BAP } from '../../agents/grid-operator/index.ts';
import { bapBudgetFromEnv, seededSigningKey } from '../../agents/coordination/index.ts';
import { ConfigError } from '../../core/errors/index.ts';
import { flexibility, HOUR, startMarket, T0, TEST_BAP, type Market } from './harness.ts';
import { contextFor, postRaw, send, type Answer } from './client.ts';
import { expectOneRejection } from './rejection.ts';

/**
 * Issue 15.3 and 15.5: what an outside BAP found the BPP let through. Each refusal is a NACK
 * naming the field, one `beckn.request.rejected` on the ledger and no callback.
 */

const ITEM = 'flex-20260115-sp29-30';
const PROVIDER = 'dc-london-01';
const at = (h: number) => T0 + h * HOUR;
const choice = (kw: number) => ({ providerId: PROVIDER, itemId: ITEM, kw, fulfillmentId: `ful-${ITEM}` });

/** A refused request: one rejection on the ledger, no callback, and a NACK. */
async function expectRefused(m: Market, run: () => Promise<Answer>) {
  const r = await expectOneRejection(m, run);
  assert.equal(r.answer.body.message.ack.status, 'NACK');
  return r;
}

async function expectAck(m: Market, run: () => Promise<Answer>, callback: string): Promise<unknown> {
  const inbox = m.testBapInbox.length;
  const answer = await run();
  assert.deepEqual(answer.body, { message: { ack: { status: 'ACK' } } }, JSON.stringify(answer.body));
  await m.runtime.settle();
  for (let i = 0; i < 50 && m.testBapInbox.length === inbox; i++) await new Promise((r) => setTimeout(r, 20));
  const got = m.testBapInbox.slice(inbox);
  assert.deepEqual(got.map((r) => r.action), [callback]);
  return got[0]!.body;
}

describe('intake hardening (issue 15)', { timeout: 60_000 }, () => {
  let m: Market;
  before(async () => {
    m = await startMarket({ gridOperator: false });
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }]));
  });
  after(async () => m.close());

  test('15.3: a bap_uri at another address than the registered one → NACK at context.bap_uri, nothing POSTed', async () => {
    let hit = 0;
    const stop = (await import('../../agents/coordination/index.ts')).startBecknHttpServer({
      actions: ['on_search'],
      pathPrefix: '/x',
      handler: async () => {
        hit++;
        return { statusCode: 200, headers: {}, body: { message: { ack: { status: 'ACK' } } } };
      },
    });
    const victim = await stop;
    try {
      for (const uri of [`${victim.origin}/x`, 'http://test-bap.caco.local:8080/beckn', 'https://test-bap.caco.local/beckn', 'http://127.0.0.1:4222/']) {
        const ctx = { ...contextFor(m, 'search'), bap_uri: uri };
        const { answer, rejected } = await expectRefused(m, () => send(m, 'search', searchRequest(ctx, {})));
        assert.equal(answer.status, 400);
        assert.equal(answer.body.error?.code, '30000');
        assert.equal(answer.body.error?.paths, 'context.bap_uri');
        assert.match(answer.body.error?.message ?? '', /not at the address registered for "test-bap\.caco\.local" \(http:\/\/test-bap\.caco\.local\)/);
        assert.equal(rejected.path, 'context.bap_uri');
      }
      assert.equal(hit, 0, 'the BPP never posted to the unregistered address');
    } finally {
      await victim.close();
    }
    // Another path at the registered origin is the BAP's own business.
    const ctx = { ...contextFor(m, 'search'), bap_uri: 'http://test-bap.caco.local/beckn' };
    await expectAck(m, () => send(m, 'search', searchRequest(ctx, {})), 'on_search');
  });

  test('15.3: a signer with no registered url gets a NACK saying so', async () => {
    const key = seededSigningKey('intake', 'no-url-bap.example.org');
    m.keys.add({ subscriber_id: key.subscriberId, key_id: key.uniqueKeyId, signing_public_key: publicKeyToBase64(key.privateKey) });
    const ctx = { ...contextFor(m, 'search'), bap_id: key.subscriberId, bap_uri: 'http://no-url-bap.example.org/beckn' };
    const { answer } = await expectRefused(m, () => send(m, 'search', searchRequest(ctx, {}), { key }));
    assert.equal(answer.body.error?.paths, 'context.bap_uri');
    assert.match(answer.body.error?.message ?? '', /no callback address is registered for "no-url-bap\.example\.org"/);
  });

  test('15.5: a message without ttl expires after the default 30 s', async () => {
    const stale = contextFor(m, 'search', { nowMs: m.clock.now() - 31_000 }) as Record<string, unknown>;
    delete stale['ttl'];
    const { answer, rejected } = await expectRefused(m, () => send(m, 'search', { context: stale, message: { intent: {} } }));
    assert.equal(answer.body.error?.paths, 'context.ttl');
    assert.match(rejected.reason, /PT30S, the default when none is given/);
    const fresh = contextFor(m, 'search') as Record<string, unknown>;
    delete fresh['ttl'];
    await expectAck(m, () => send(m, 'search', { context: fresh, message: { intent: {} } }), 'on_search');
  });

  test('15.5: dates absurdly far ahead are refused with the field', async () => {
    const future = contextFor(m, 'search', { nowMs: Date.parse('2099-01-01T00:00:00Z') });
    const a = await expectRefused(m, () => send(m, 'search', searchRequest(future, {})));
    assert.equal(a.answer.body.error?.paths, 'context.timestamp');
    assert.match(a.answer.body.error?.message ?? '', /ahead of this BPP's clock/);

    const body = searchRequest(contextFor(m, 'search'), {}) as unknown as { message: { intent: Record<string, unknown> } };
    body.message.intent.fulfillment = { stops: [{ type: 'start', time: { range: { start: '2099-06-01T17:00:00Z', end: '2099-06-01T18:00:00Z' } } }] };
    const b = await expectRefused(m, () => send(m, 'search', body));
    assert.equal(b.answer.body.error?.paths, 'message.intent.fulfillment.stops[0].time.range.start');
    assert.match(b.rejected.reason, /2099-06-01T17:00:00Z is more than 366 days ahead/);

    const long = contextFor(m, 'search', { ttl: 'P30D' });
    const c = await expectRefused(m, () => send(m, 'search', searchRequest(long, {})));
    assert.equal(c.answer.body.error?.paths, 'context.ttl');
  });

  test('a timestamp the schema lets through but that is no instant (seconds "60") is refused at context.timestamp; a week-long signature gets 401', async () => {
    // Before, it never expired: once the replay memory let go, the same signed bytes were acted on again.
    const leap = { ...contextFor(m, 'confirm'), timestamp: new Date(m.clock.now()).toISOString().slice(0, 17) + '60Z' };
    const body = JSON.stringify(confirmRequest(leap, choice(300)));
    const a = await expectRefused(m, () => send(m, 'confirm', body));
    assert.equal(a.answer.status, 400);
    assert.equal(a.answer.body.error?.paths, 'context.timestamp');
    assert.match(a.answer.body.error?.message ?? '', /is not a valid instant/);

    const text = JSON.stringify(confirmRequest(contextFor(m, 'confirm'), choice(300)));
    const week = signRequest(text, m.testBapKey, m.clock.now() / 1000, 7 * 86_400);
    const b = await expectRefused(m, () => postRaw(m, 'confirm', text, { authorization: week.authorization }));
    assert.equal(b.answer.status, 401);
    assert.match(b.answer.body.error?.message ?? '', /at most 86400 s is taken/);
  });

  test('free text or an interval that begins like a date-time is taken; a leap second in the body is refused at its path', async () => {
    // Before, a search whose label or tag read "2026-01-15T16:03:01 UTC" or an ISO interval was refused (400, "not a valid instant").
    const search = (time: Record<string, unknown>, note: string) => {
      const body = searchRequest(contextFor(m, 'search'), {}) as unknown as { message: { intent: Record<string, unknown> } };
      body.message.intent.fulfillment = { stops: [{ type: 'start', time }], tags: [{ descriptor: { code: 'notes' }, list: [{ descriptor: { code: 'note' }, value: note }] }] };
      return body;
    };
    await expectAck(m, () => send(m, 'search', search({ label: '2026-01-15T16:03:01 UTC' }, '2026-01-15T16:00:00Z/2026-01-15T17:00:00Z')), 'on_search');

    const leap = new Date(m.clock.now()).toISOString().slice(0, 17) + '60Z';
    const { answer, rejected } = await expectRefused(m, () => send(m, 'search', search({ label: 'opens', timestamp: leap }, 'none')));
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error?.paths, 'message.intent.fulfillment.stops[0].time.timestamp');
    assert.match(rejected.reason, /is not a valid instant/);
  });

  test('15.5: invalid UTF-8 and unpaired surrogates are refused, never echoed', async () => {
    const ctx = contextFor(m, 'init');
    const good = JSON.stringify({ context: ctx, message: { order: { provider: { id: PROVIDER }, items: [{ id: ITEM, quantity: { selected: { measure: { unit: 'kW', value: '100' } } } }], billing: { name: 'NAME' } } } });
    const [head, tail] = good.split('NAME') as [string, string];
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0x47, 0xff, 0xfe, 0x4f]), Buffer.from(tail)]);
    const sig = signRequest(bytes, m.testBapKey, m.clock.now() / 1000, 30);
    const a = await expectRefused(m, async () => {
      const res = await fetch(m.resolver.resolve('http://bpp.caco.local/beckn/init'), { method: 'POST', headers: { 'content-type': 'application/json', authorization: sig.authorization }, body: bytes });
      return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
    });
    assert.equal(a.answer.status, 400);
    assert.match(a.answer.body.error?.message ?? '', /not valid UTF-8 \(first bad byte at offset \d+\)/);

    const lone = good.replace('NAME', 'G\\ud800O').replace(ctx.message_id, crypto.randomUUID());
    const b = await expectRefused(m, () => send(m, 'init', lone));
    assert.equal(b.answer.body.error?.paths, 'message.order.billing.name');
    assert.match(b.answer.body.error?.message ?? '', /unpaired UTF-16 surrogate/);
  });

  test('15.4: the fields the outside BAP sent are taken, and only what CACO reads is echoed', async () => {
    const body = selectRequest(contextFor(m, 'select'), choice(100)) as unknown as { context: Record<string, unknown>; message: { order: Record<string, unknown> } };
    body.context.timestamp = new Date(m.clock.now()).toISOString().replace(/\.\d+Z$/, '+00:00');
    body.context.location = { country: { code: 'GBR' }, city: { code: 'std:020' }, map_url: 'http://internal.example/' };
    body.message.order.fulfillments = [{ id: `ful-${ITEM}`, customer: { person: { name: 'Control room' } }, stops: [{ type: 'start', time: { timestamp: '2026-01-15T14:00:00+00:00' } }] }];
    const cb = (await expectAck(m, () => send(m, 'select', body), 'on_select')) as { context: { location?: unknown } };
    assert.deepEqual(cb.context.location, { country: { code: 'GBR' }, city: { code: 'std:020' } }, 'map_url not echoed');

    const search = searchRequest(contextFor(m, 'search'), {}) as unknown as { message: { intent: Record<string, unknown> } };
    search.message.intent.payment = { type: 'POST-FULFILLMENT', collected_by: 'BAP' };
    await expectAck(m, () => send(m, 'search', search), 'on_search');
  });

  test('a signed body nested 300,000 levels deep → NACK 30000 naming the limit, not a 500 "internal error" (which tells the sender to retry)', async () => {
    const good = JSON.stringify(searchRequest(contextFor(m, 'search'), {}));
    const deep = good.replace('"message":{', `"message":{"x":${'['.repeat(300_000)}${']'.repeat(300_000)},`);
    const { answer, rejected } = await expectRefused(m, () => send(m, 'search', deep));
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error?.code, '30000');
    assert.match(answer.body.error?.message ?? '', /nested too deep: more than 32 levels of objects and arrays/);
    assert.equal(rejected.httpStatus, 400);
  });

  test('an unsigned body of only junk: one rejection, no callback', async () => {
    await expectRefused(m, () => postRaw(m, 'search', '\u0000', {}));
  });
});

describe('replay memory (issue 15.5: the 10,000-message limit)', { timeout: 60_000 }, () => {
  test('an accepted message is held to catch a replay; a BAP over its share (a tenth) gets 429 naming it, other BAPs do not', async () => {
    // 20 messages, 2 per BAP. Before, the memory was shared: one BAP filled it and every BAP got 429 for as long as its ttls (P1D: a day).
    const m = await startMarket({ gridOperator: false, coordination: { replayMemoryMessages: 20 } });
    try {
      const bodies = [0, 1].map(() => JSON.stringify(searchRequest(contextFor(m, 'search', { ttl: 'P1D' }), {})));
      for (const b of bodies) assert.equal((await send(m, 'search', b)).status, 200);
      await m.runtime.settle();
      const over = await send(m, 'search', searchRequest(contextFor(m, 'search', { ttl: 'P1D' }), {}));
      assert.equal(over.status, 429);
      assert.equal(over.body.error?.paths, 'context.bap_id');
      assert.match(over.body.error?.message ?? '', /2 of your accepted messages are held to catch a replay, the most one BAP may have .* at most 15 min\); retry at \S+ \(in 960 s\)/);
      assert.equal(over.headers.get('retry-after'), '960', 'the ttl the memory honours is capped at 15 min (plus 60 s)');
      const inbox = m.testBapInbox.length;
      const again = await send(m, 'search', bodies[0]!);
      assert.deepEqual(again.body, { message: { ack: { status: 'ACK' } } }, 'a replay still gets the first answer');
      await m.runtime.settle();
      assert.equal(m.testBapInbox.length, inbox, 'and no second effect');
      // Another BAP is not refused for what this one holds.
      const other = searchRequest(buildContext({ action: 'search', bap: SIM_BAP, transactionId: randomUUID(), messageId: randomUUID(), nowMs: m.clock.now() }), {});
      assert.equal((await send(m, 'search', other, { key: m.bapKey })).status, 200);
      // 16 min on, the P1D messages are let go: room again. A replay now is answered afresh but
      // still not acted on, since the agent drops a request it has handled.
      await m.advanceTo(m.clock.now() + 16 * 60_000);
      assert.equal((await send(m, 'search', searchRequest(contextFor(m, 'search'), {}))).status, 200);
      await m.runtime.settle();
      const later = m.testBapInbox.length;
      assert.equal((await send(m, 'search', bodies[1]!)).body.message.ack.status, 'ACK');
      await m.runtime.settle();
      assert.equal(m.testBapInbox.length, later, 'no second on_search');
    } finally {
      await m.close();
    }
  });

  test('when several BAPs together hold the whole memory, a new request gets 429 saying so and when to retry', async () => {
    const m = await startMarket({ gridOperator: false, coordination: { replayMemoryMessages: 2 } });
    try {
      const third = seededSigningKey('intake', 'third-bap.example.org');
      m.keys.add({ subscriber_id: third.subscriberId, key_id: third.uniqueKeyId, signing_public_key: publicKeyToBase64(third.privateKey), url: 'http://third-bap.example.org/beckn' });
      const search = (bap: { id: string; uri: string }) => searchRequest(buildContext({ action: 'search', bap, transactionId: randomUUID(), messageId: randomUUID(), nowMs: m.clock.now() }), {});
      assert.equal((await send(m, 'search', search(TEST_BAP))).status, 200);
      assert.equal((await send(m, 'search', search(SIM_BAP), { key: m.bapKey })).status, 200);
      await m.runtime.settle();
      const full = await send(m, 'search', search({ id: third.subscriberId, uri: 'http://third-bap.example.org/beckn' }), { key: third });
      assert.equal(full.status, 429);
      assert.equal(full.body.error?.paths, undefined, 'not the sender\'s doing: no field of its request');
      assert.match(full.body.error?.message ?? '', /the replay memory is full: 2 accepted messages of several BAPs are held .*; retry at \S+ \(in 90 s\)/);
      assert.equal(full.headers.get('retry-after'), '90', 'PT30S + 60 s');
    } finally {
      await m.close();
    }
  });
});

describe('a budget of accepted requests per BAP (CACO_BECKN_BAP_BUDGET)', { timeout: 60_000 }, () => {
  test('past its budget a BAP gets 429 naming it, with when to retry; the refusal is recorded; another BAP is not refused; a day on it is taken again', async () => {
    // Each accepted request is recorded with its callback (an on_search holds the catalogue):
    // with messages that expire at once, the replay memory alone let one BAP add gigabytes a day.
    const m = await startMarket({ gridOperator: false, coordination: { bapBudget: { count: 3, bytes: 1024 * 1024 } } });
    try {
      const search = () => searchRequest(contextFor(m, 'search'), {});
      for (let i = 0; i < 3; i++) assert.equal((await send(m, 'search', search())).status, 200, `request ${i + 1}`);
      await m.runtime.settle();
      const { answer } = await expectOneRejection(m, () => send(m, 'search', search()));
      assert.equal(answer.status, 429);
      assert.equal(answer.body.error?.paths, 'context.bap_id');
      assert.match(answer.body.error?.message ?? '', /^Business Error: 3 of your requests \(\d+ bytes\) were accepted in the last 24 h; a BAP may have 3 requests or 1048576 bytes accepted in 24 h \(CACO_BECKN_BAP_BUDGET\); retry at \S+ \(in \d+ s\)$/);
      assert.ok(Number(answer.headers.get('retry-after')) > 0);
      const other = searchRequest(buildContext({ action: 'search', bap: SIM_BAP, transactionId: randomUUID(), messageId: randomUUID(), nowMs: m.clock.now() }), {});
      assert.equal((await send(m, 'search', other, { key: m.bapKey })).status, 200, 'another BAP has its own budget');
      await m.advanceTo(m.clock.now() + 25 * HOUR);
      assert.equal((await send(m, 'search', search())).status, 200, 'the window has moved on');
    } finally {
      await m.close();
    }
  });
});

test('CACO_BECKN_BAP_BUDGET: unset is 5000:16MiB, off is none, a value is taken, a bad one is a ConfigError naming the variable', () => {
  assert.deepEqual(bapBudgetFromEnv({}), { count: 5000, bytes: 16 * 1024 * 1024 });
  assert.equal(bapBudgetFromEnv({ CACO_BECKN_BAP_BUDGET: 'off' }), undefined);
  assert.deepEqual(bapBudgetFromEnv({ CACO_BECKN_BAP_BUDGET: '100:1MiB' }), { count: 100, bytes: 1024 * 1024 });
  assert.throws(() => bapBudgetFromEnv({ CACO_BECKN_BAP_BUDGET: 'lots' }), (e: unknown) => e instanceof ConfigError && e.message.includes('CACO_BECKN_BAP_BUDGET') && e.message.includes('<requests>:<bytes> a BAP may have accepted in 24 h'));
});
