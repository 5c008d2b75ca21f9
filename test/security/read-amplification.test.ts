// test-file-timeout: 180
/**
 * `gw.read` needs no signature, and each read of a position part-way through a long stream
 * used to verify that stream from its first event: a state learnt further on was no help to a
 * reader starting before it (30,000 events: ~330 ms a read; 60,000: 6–8 s, the event loop
 * held). Now the site keeps each stream's verified state every `checkpointEvery` revisions and
 * where the last reader stopped: a read verifies at most that many of a stream's events before
 * its start, and no read does more work (events read and verified) than its budget, which
 * counts against the reader's rate in events. Nothing unverified is handed on: a metered read
 * continued to the end hands on exactly what a fresh reader does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { embeddedStack } from '../support/embedded.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { SiteIdentity } from '../../core/identity/index.ts';
import { SiteGateway } from '../../core/gateway/index.ts';
import { ReadMeter, VerifiedEventStore } from '../../core/store/verified-store.ts';
import { MemoryQuarantineStore } from '../../core/store/memory-quarantine.ts';
import { silentLogger } from '../../core/log/logger.ts';
import type { NewEvent } from '../../core/envelope/envelope.ts';
import { countingStore } from '../support/counting-store.ts';

let n = 0;
const ev = (type = 'ext.acme.thing.seen'): NewEvent => ({ id: `ra-${++n}`, type, version: 1, time: '2023-07-03T00:00:00.000Z', source: 'acme', correlationId: `c-${n}`, causationId: null, data: { n } });


type ReadReply = { ok: boolean; events?: { position: number; id: string }[]; nextPosition?: number; headPosition?: number; error?: { code: string; reason: string } };

async function site(seed: string, events: number, gw: { readEventRate?: { perSecond: number; burst: number } } = {}) {
  const s = embeddedStack(seed);
  // One event a commit, each signed: a long stream an outside party builds with appends.
  for (let i = 0; i < events; i++) await s.store.append('ext-acme', [ev()], 'any');
  const counted = countingStore(s.store);
  const store = new VerifiedEventStore(counted.store, { keys: s.keyring, quarantine: new MemoryQuarantineStore(), log: silentLogger(), checkpointEvery: 100 });
  const identity = SiteIdentity.ephemeral(s.keyring, s.clock);
  const gateway = new SiteGateway({ site: 'gw', bus: s.bus, store, registry: cacoRegistry(), identity, clock: s.clock, log: s.log, readRate: { perSecond: 1e6, burst: 1e6 }, ...gw });
  const read = gateway.endpoints().find((e) => e.name === 'read')!;
  const ask = async (body: unknown): Promise<ReadReply> => JSON.parse(Buffer.from(await read.handle(Buffer.from(JSON.stringify(body)))).toString()) as ReadReply;
  return { s, store, counted, ask, head: await s.store.headPosition() };
}

describe('a gw.read costs a bounded amount of verification, wherever it starts', () => {
  test('reads part-way through a 3,000-event stream: the first continues past its budget over a few reads, then each verifies at most the checkpoint spacing', async () => {
    const { s, counted, ask, head } = await site('read-amp', 3000);
    try {
      // The first read from near the head learns the stream's history, 2,500 events a read at most.
      let first: ReadReply | undefined;
      let reads = 0;
      for (;;) {
        const before = counted.streamEvents();
        first = await ask({ fromPosition: head - 2, limit: 1 });
        reads++;
        assert.equal(first.ok, true, JSON.stringify(first.error));
        assert.ok(counted.streamEvents() - before <= 2501, `a read verifies at most its budget of the stream's history (read ${counted.streamEvents() - before})`);
        if (first.events!.length > 0) break;
        // Not verified yet: nothing handed on, nothing skipped.
        assert.equal(first.nextPosition, head - 2);
        assert.ok(reads < 5, 'each read carries on from where the last one stopped');
      }
      assert.equal(reads, 2);
      assert.equal(first.events![0]!.position, head - 1);
      // Now reads further back, in any order: each verifies at most 100 events of the stream (and the read itself).
      for (const back of [10, 500, 2999, 1234, 10, 1500, 3]) {
        const before = counted.streamEvents();
        const r = await ask({ fromPosition: head - back, limit: 1 });
        const cost = counted.streamEvents() - before;
        assert.equal(r.ok, true);
        assert.equal(r.events![0]!.position, head - back + 1);
        assert.ok(cost <= 101, `a read ${back} events behind the head verified ${cost} events of the stream (at most the spacing of 100)`);
      }
    } finally {
      await s.close();
    }
  });

  test('the read rate counts events read and verified, not requests', async () => {
    const { s, ask, head } = await site('read-amp-rate', 1000, { readEventRate: { perSecond: 1, burst: 600 } });
    try {
      // A filtered read that matches nothing scans as far as its bucket allows, and says how far it got.
      const r1 = await ask({ fromPosition: 0, types: ['nothing.>'] });
      assert.equal(r1.ok, true);
      assert.deepEqual(r1.events, []);
      assert.ok(r1.nextPosition! > 0 && r1.nextPosition! < head, `moved on to ${r1.nextPosition} of ${head}`);
      // The bucket is spent: the next read is refused with the limit named.
      const r2 = await ask({ fromPosition: r1.nextPosition, types: ['nothing.>'] });
      assert.equal(r2.ok, false);
      assert.equal(r2.error!.code, 'rate-limited');
      assert.match(r2.error!.reason, /events a second/);
      // A second later one more event may be read.
      s.clock.advanceTo(s.clock.now() + 1000);
      const r3 = await ask({ fromPosition: r1.nextPosition, limit: 1 });
      assert.equal(r3.ok, true);
      assert.equal(r3.events!.length, 1);
    } finally {
      await s.close();
    }
  });

  test('property: metered reads of any budget continued to the end, pages and stream reads, from any start and in any order, hand on exactly what a fresh reader does (tampered rows included)', async () => {
    const s = embeddedStack('read-amp-prop');
    try {
      for (let i = 0; i < 120; i++) {
        const stream = ['ext-acme', 'ext-acme', 'job-a', 'job-b'][i % 4]!;
        await s.store.append(stream, Array.from({ length: 1 + (i % 3) }, () => ev()), 'any');
      }
      // A row changed in place, and a commit's signed head stripped of its signature.
      s.store.unsafeExec(`UPDATE events SET data = '{"n":-1}' WHERE stream = 'ext-acme' AND revision = 31`);
      s.store.unsafeExec(`UPDATE events SET sig = '', covers = NULL WHERE stream = 'job-b' AND revision = 40`);
      const head = await s.store.headPosition();
      const view = (every = 1000) => new VerifiedEventStore(s.store, { keys: s.keyring, quarantine: new MemoryQuarantineStore(), log: silentLogger(), checkpointEvery: every });
      const fresh = async (from: number) => {
        const ids: string[] = [];
        for await (const e of view().readAll({ from })) ids.push(e.id);
        return ids;
      };
      const metered = async (v: VerifiedEventStore, from: number, budget: number) => {
        const ids: string[] = [];
        let at = from;
        for (let reads = 0; at < head; reads++) {
          assert.ok(reads < 10_000, 'metered reads make progress');
          const meter = new ReadMeter(budget, at);
          let last = at;
          for await (const e of v.readAllMetered({ from: at }, meter)) {
            ids.push(e.id);
            last = e.position;
          }
          assert.ok(meter.spent <= budget, `spent ${meter.spent} of ${budget}`);
          at = Math.max(last, meter.settled);
          if (!meter.stopped) break;
        }
        return ids;
      };
      const streamIds = async (v: VerifiedEventStore, stream: string, from: number) => {
        const ids: string[] = [];
        for await (const e of v.readStream(stream, from)) ids.push(e.id);
        return ids;
      };
      const paged = async (v: VerifiedEventStore, from: number) => {
        const ids: string[] = [];
        for await (const e of v.readAll({ from, limit: 25 })) ids.push(e.id);
        const all = await fresh(from);
        return { ids, expected: all.slice(0, ids.length === 25 ? 25 : all.length) };
      };
      const action = fc.oneof(
        fc.record({ kind: fc.constant('metered' as const), from: fc.integer({ min: 0, max: head }), budget: fc.integer({ min: 8, max: 60 }) }),
        fc.record({ kind: fc.constant('paged' as const), from: fc.integer({ min: 0, max: head }) }),
        fc.record({ kind: fc.constant('stream' as const), stream: fc.constantFrom('ext-acme', 'job-a', 'job-b'), from: fc.integer({ min: 0, max: 100 }) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 15 }), fc.array(action, { minLength: 1, maxLength: 8 }), async (every, actions) => {
          const shared = view(every);
          for (const a of actions) {
            if (a.kind === 'metered') assert.deepEqual(await metered(shared, a.from, a.budget), await fresh(a.from), `metered from ${a.from}, budget ${a.budget}, checkpoints every ${every}`);
            else if (a.kind === 'paged') {
              const { ids, expected } = await paged(shared, a.from);
              assert.deepEqual(ids, expected, `a page from ${a.from}, checkpoints every ${every}`);
            } else assert.deepEqual(await streamIds(shared, a.stream, a.from), await streamIds(view(), a.stream, a.from), `${a.stream} from revision ${a.from}, checkpoints every ${every}`);
          }
        }),
        { numRuns: Number(process.env['READ_AMP_RUNS'] ?? 30) },
      );
    } finally {
      await s.close();
    }
  });
});
