// test-file-timeout: 30
/**
 * The BPP's NATS door subscribed without a bound: while its requests in hand were busy (64 at
 * once, a slow key lookup), every other request waited in the client's memory for as long as a
 * flood lasted (a helper's review). Now at most `maxPending` wait (and `maxPendingBytes`); past
 * them a request is answered 503 at once and recorded, as the HTTP door answers when it is full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../../core/bus/index.ts';
import { startBecknNatsServer } from '../../../agents/coordination/beckn-nats.ts';
import type { RefusedHttp } from '../../../agents/coordination/beckn-http.ts';
import { BECKN_STATUS_HEADER } from '../../../beckn/index.ts';

test('past maxPending waiting requests, a request is answered 503 at once and recorded; those waiting are answered once the door is free', async () => {
  const bus = new MemoryBus();
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const refused: RefusedHttp[] = [];
  const server = await startBecknNatsServer({
    bus,
    prefix: 'beckn.test',
    actions: ['search'],
    maxInFlight: 1,
    maxPending: 2,
    onRefused: (r) => void refused.push(r),
    handler: async () => {
      await gate;
      return { statusCode: 200, headers: {}, body: { message: { ack: { status: 'ACK' } } } };
    },
  });
  try {
    const statuses: string[] = [];
    const asked = Array.from({ length: 6 }, () => bus.request('beckn.test.search', Buffer.from('{}'), { timeoutMs: 5000 }).then((r) => void statuses.push(r.headers[BECKN_STATUS_HEADER] ?? '?')));
    // One in hand and at most two waiting (the bus counts the one being delivered among them):
    // the rest are answered at once, before the handler is free.
    const deadline = Date.now() + 3000;
    while (statuses.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    const shed = statuses.length;
    assert.ok(shed >= 3 && shed <= 4, `${shed} answered before the handler was free`);
    assert.deepEqual(statuses, Array.from({ length: shed }, () => '503'));
    assert.equal(refused.length, shed);
    assert.match(refused[0]!.reason, /busy: too many requests are waiting/);
    open();
    await Promise.all(asked);
    assert.deepEqual(statuses.slice(shed), Array.from({ length: 6 - shed }, () => '200'));
  } finally {
    open();
    await server.close();
    await bus.close();
  }
});
