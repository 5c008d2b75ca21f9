/**
 * A reader that starts part-way through the log learns each stream's verified state before
 * its start. It used to verify every stream it met from its first event, on every read, so a
 * paged catch-up (`gw.read`, 500 events a page) re-verified the whole history of each stream
 * per page. Readers now carry on from what an earlier reader learnt: the same verdicts, with
 * only the stream's events after that state read again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { embeddedStack } from '../../support/embedded.ts';
import { VerifiedEventStore } from '../../../core/store/verified-store.ts';
import { MemoryQuarantineStore } from '../../../core/store/memory-quarantine.ts';
import { silentLogger } from '../../../core/log/logger.ts';
import type { EventStore } from '../../../core/store/event-store.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';

let n = 0;
const ev = (data: unknown = { n }): NewEvent => ({ id: `vl-${++n}`, type: 'test.thing.happened', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'compute', correlationId: 'c', causationId: null, data });

/** `inner` with a count of the events its readStream hands out. */
function counting(inner: EventStore): { store: EventStore; streamEvents: () => number } {
  let count = 0;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'readStream') {
        return async function* (...args: Parameters<EventStore['readStream']>) {
          for await (const e of target.readStream(...args)) {
            count++;
            yield e;
          }
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, streamEvents: () => count };
}

describe('readers starting part-way carry on from what earlier readers learnt', { timeout: 60_000 }, () => {
  test('property: from any start, in any order of reads, a shared view hands on exactly what a fresh one does (tampered rows included)', async () => {
    const s = embeddedStack('verified-learnt');
    try {
      for (let i = 0; i < 80; i++) {
        const stream = ['grid', 'job-a', 'job-b'][i % 3]!;
        await s.store.append(stream, Array.from({ length: 1 + (i % 3) }, () => ev()), 'any');
      }
      // A row changed in place, and a commit's signed head stripped of its signature.
      s.store.unsafeExec(`UPDATE events SET data = '{"n":-1}' WHERE stream = 'grid' AND revision = 20`);
      s.store.unsafeExec(`UPDATE events SET sig = '', covers = NULL WHERE stream = 'job-b' AND revision = 35`);
      const head = await s.store.headPosition();
      const view = () => new VerifiedEventStore(s.store, { keys: s.keyring, quarantine: new MemoryQuarantineStore(), log: silentLogger() });
      const read = async (v: VerifiedEventStore, from: number) => {
        const ids: string[] = [];
        for await (const e of v.readAll({ from, limit: 25 })) ids.push(e.id);
        return ids;
      };
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 0, max: head }), { minLength: 1, maxLength: 12 }), async (starts) => {
          const shared = view();
          for (const from of starts) assert.deepEqual(await read(shared, from), await read(view(), from), `from ${from}`);
        }),
        { numRuns: 40 },
      );
    } finally {
      await s.close();
    }
  });

  test('the second of two reads further on reads only the stream events in between (each starting inside a commit)', async () => {
    const s = embeddedStack('verified-learnt-cost');
    try {
      for (let i = 0; i < 80; i++) await s.store.append('grid', Array.from({ length: 5 }, () => ev()), 'any');
      const head = await s.store.headPosition();
      const { store, streamEvents } = counting(s.store);
      const v = new VerifiedEventStore(store, { keys: s.keyring, quarantine: new MemoryQuarantineStore(), log: silentLogger() });
      const page = async (from: number) => {
        let got = 0;
        for await (const _ of v.readAll({ from, limit: 10 })) got++;
        return got;
      };
      const positions: number[] = [];
      for await (const e of s.store.readAll()) positions.push(e.position);
      assert.equal(await page(positions[297]!), 10);
      const first = streamEvents();
      assert.ok(first >= 297, `the first read learns the stream's 298 events before its start (read ${first})`);
      assert.equal(await page(positions[347]!), 10);
      const second = streamEvents() - first;
      assert.ok(second <= 55, `the second read, 50 events further on, reads ${second} events of the stream (was all 348)`);
      assert.ok(head > positions[347]!);
    } finally {
      await s.close();
    }
  });
});
