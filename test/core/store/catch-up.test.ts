// test-file-timeout: 60
/**
 * The catch-up loop behind the SQLite, PostgreSQL and KurrentDB subscriptions: catch-up and
 * live are one loop, so every event is delivered once, in order, whatever the interleaving of
 * appends and deliveries. A store whose short pages end at its head (SQLite) lets a live
 * subscription wait straight after such a page, without reading an empty page and the head.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LiveSignal, runCatchUpSubscription } from '../../../core/store/catch-up.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';

const envelope = (position: number): Envelope => ({ id: `e${position}`, type: 'test.thing.happened', version: 1, time: '2026-12-06T00:00:00.000Z', source: 'test', correlationId: `e${position}`, causationId: null, data: {}, stream: 'thing-1', revision: position - 1, position, hash: '', prevHash: '', sig: '' });

/** An in-memory log with the store side of the loop, counting the loop's queries. */
function log(shortPageIsHead: boolean) {
  const rows: Envelope[] = [];
  const live = new LiveSignal();
  const counts = { pages: 0, heads: 0 };
  return {
    rows,
    live,
    counts,
    append(n = 1) {
      for (let i = 0; i < n; i++) rows.push(envelope(rows.length + 1));
      live.notify();
    },
    subscribe(handler: (e: Envelope) => void | Promise<void>, pageSize = 1000) {
      return runCatchUpSubscription({
        from: 0,
        categories: undefined,
        readPage: async (from, limit) => {
          counts.pages++;
          return rows.slice(from, from + limit);
        },
        head: async () => {
          counts.heads++;
          return rows.length;
        },
        live,
        // Long, so a wake-up in these tests is an append, never the poll.
        pollMs: 60_000,
        handler,
        pageSize,
        shortPageIsHead,
      });
    },
  };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

for (const shortPageIsHead of [true, false]) {
  test(`200 live appends one at a time are each delivered once, in order (shortPageIsHead ${shortPageIsHead})`, async () => {
    const l = log(shortPageIsHead);
    const got: number[] = [];
    const sub = l.subscribe((e) => void got.push(e.position));
    try {
      await sub.caughtUp();
      const before = { ...l.counts };
      for (let i = 0; i < 200; i++) {
        l.append();
        await turn();
      }
      await sub.caughtUp();
      assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i + 1));
      const pages = l.counts.pages - before.pages;
      const heads = l.counts.heads - before.heads;
      if (shortPageIsHead) {
        // One read per append, no head query but caughtUp's own.
        assert.ok(pages <= 202, `${pages} page reads for 200 appends`);
        assert.ok(heads <= 2, `${heads} head reads for 200 appends`);
      } else {
        // The general loop reads an empty page and the head after each.
        assert.ok(pages >= 400, `${pages} page reads for 200 appends`);
        assert.ok(heads >= 200, `${heads} head reads for 200 appends`);
      }
    } finally {
      await sub.close();
    }
  });
}

test('any interleaving of appends, page sizes and slow handlers: each event once, in order, with the short-page shortcut', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ n: fc.integer({ min: 1, max: 7 }), turns: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 25 }),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      async (steps, pageSize, asyncHandler) => {
        const l = log(true);
        const got: number[] = [];
        // An async handler lets appends land while a page is being delivered.
        const sub = l.subscribe(asyncHandler ? async (e) => { await turn(); got.push(e.position); } : (e) => void got.push(e.position), pageSize);
        try {
          for (const s of steps) {
            l.append(s.n);
            for (let i = 0; i < s.turns; i++) await turn();
          }
          await sub.caughtUp();
          assert.deepEqual(got, Array.from({ length: l.rows.length }, (_, i) => i + 1));
        } finally {
          await sub.close();
        }
      },
    ),
    { numRuns: 150 },
  );
});
