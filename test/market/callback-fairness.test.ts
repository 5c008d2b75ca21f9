import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import fc from 'fast-check';
import { publicKeyToBase64, searchRequest } from '../../beckn/index.ts';
import { CallbackQueue } from '../../agents/coordination/callback-queue.ts';
import { seededSigningKey } from '../../agents/coordination/index.ts';
import { dataOf, flexibility, HOUR, startMarket, T0 } from './harness.ts';
import { contextFor, send } from './client.ts';

/** Issue 15.2: one slow BAP must not delay the others. */

const never = () => new Promise<void>(() => undefined);

describe('callback queue', { timeout: 30_000 }, () => {
  test('a BAP whose endpoint never answers holds only its own queue', async () => {
    const q = new CallbackQueue({ maxInFlight: 4, maxQueuedPerBap: 10 });
    for (let i = 0; i < 3; i++) assert.ok(q.offer('http://slow', never).accepted);
    let ran = false;
    const o = q.offer('http://fast', async () => void (ran = true));
    assert.ok(o.accepted);
    await o.done;
    assert.equal(ran, true);
    assert.equal(q.pending('http://slow'), 3);
  });

  test('one POST in flight per BAP, in order; past the bound an offer is refused with the reason', async () => {
    const q = new CallbackQueue({ maxInFlight: 8, maxQueuedPerBap: 3 });
    const order: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const dones = [0, 1, 2].map((i) => {
      const o = q.offer('http://a', async () => {
        order.push(i);
        if (i === 0) await gate;
      });
      assert.ok(o.accepted);
      return o.done;
    });
    const refused = q.offer('http://a', async () => undefined);
    assert.equal(refused.accepted, false);
    assert.match(refused.accepted ? '' : refused.reason, /3 callbacks already waiting for http:\/\/a \(at most 3\)/);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(order, [0], 'the second waits for the first');
    release();
    await Promise.all(dones);
    assert.deepEqual(order, [0, 1, 2]);
    await q.idle();
    assert.equal(q.size, 0);
  });

  test('property: when the slots are all taken, turns go round the BAPs, not by queue length', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 5 }), async (lengths) => {
        const q = new CallbackQueue({ maxInFlight: 1, maxQueuedPerBap: 10 });
        const ran: string[] = [];
        let release!: () => void;
        const blocker = new Promise<void>((r) => (release = r));
        q.offer('blocker', () => blocker);
        lengths.forEach((n, b) => {
          for (let i = 0; i < n; i++) q.offer(`bap${b}`, async () => void ran.push(`bap${b}`));
        });
        release();
        await q.idle();
        // Round k serves every BAP with more than k callbacks, in arrival order.
        const expected: string[] = [];
        for (let k = 0; k < Math.max(...lengths); k++) lengths.forEach((n, b) => k < n && expected.push(`bap${b}`));
        assert.deepEqual(ran, expected);
      }),
      { numRuns: 50 },
    );
  });
});

describe('BPP: a BAP that never answers does not delay another BAP', { timeout: 60_000 }, () => {
  test("three callbacks to a black hole, then another BAP's on_search arrives at once; its backlog is bounded", async () => {
    const sockets = new Set<Socket>();
    const hole = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    const addr = hole.address();
    const holeOrigin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const m = await startMarket({ gridOperator: false, coordination: { callbackDelivery: 'background', callbackTimeoutMs: 10_000, maxPendingPerBap: 5 } });
    try {
      await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: T0 + 4 * HOUR, kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }]));
      const slow = seededSigningKey('fairness', 'slow-bap.example.org');
      const slowUri = 'http://slow-bap.caco.local/beckn';
      m.keys.add({ subscriber_id: slow.subscriberId, key_id: slow.uniqueKeyId, signing_public_key: publicKeyToBase64(slow.privateKey), url: slowUri });
      m.resolver.register(slowUri, holeOrigin);
      const slowSearch = () => send(m, 'search', searchRequest({ ...contextFor(m, 'search'), bap_id: slow.subscriberId, bap_uri: slowUri }, {}), { key: slow });
      for (let i = 0; i < 3; i++) assert.equal((await slowSearch()).body.message.ack.status, 'ACK');
      await m.runtime.settle();

      const started = performance.now();
      assert.equal((await send(m, 'search', searchRequest(contextFor(m, 'search'), {}))).body.message.ack.status, 'ACK');
      while (m.testBapInbox.length === 0 && performance.now() - started < 5_000) await new Promise((r) => setTimeout(r, 5));
      const tookMs = performance.now() - started;
      assert.deepEqual(m.testBapInbox.map((r) => r.action), ['on_search']);
      assert.ok(tookMs < 1_000, `the other BAP's on_search took ${Math.round(tookMs)} ms`);

      // The slow BAP's backlog is bounded: 5 in hand, the next request is refused and recorded.
      for (let i = 0; i < 2; i++) assert.equal((await slowSearch()).body.message.ack.status, 'ACK');
      await m.runtime.settle();
      const before = (await m.events()).length;
      const refused = await slowSearch();
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error?.code, '40000');
      assert.match(refused.body.error?.message ?? '', /5 requests and callbacks are in hand for http:\/\/slow-bap\.caco\.local\/beckn \(at most 5\); retry later/);
      await m.runtime.settle();
      const added = (await m.events()).slice(before);
      assert.deepEqual(added.map((e) => e.type), ['beckn.request.rejected']);
      assert.equal(dataOf<{ httpStatus: number }>(added[0]!).httpStatus, 429);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => hole.close(() => r()));
      await m.close();
    }
  });
});
