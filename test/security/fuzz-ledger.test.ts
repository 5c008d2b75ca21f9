// test-file-timeout: 300
/**
 * Fuzz on the ledger subjects of a real NATS site: 2,000 seeded hostile messages published
 * straight to `caco.<site>.ledger.<stream>` (random bytes, random JSON, arrays of random
 * objects, well-formed commits with random fields, commits sealed by an unknown key and
 * chained on the real head, deep nesting, huge strings), interleaved with genuine appends.
 * The site must not crash or stop: every genuine reading is decided on once, in order, and
 * nothing else; every hostile message leaves a quarantine record with a reason, of at most
 * 1 KB; the readers stay healthy. (The shipped NATS permissions keep outsiders off these
 * subjects altogether: test/security/nats-permissions.test.ts. This is the defence behind it.)
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MemoryBus } from '../../core/bus/memory-bus.ts';
import { WallClock } from '../../core/clock/wall-clock.ts';
import { Uuid7Ids } from '../../core/ids/ids.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { sealBatch } from '../../core/ledger/seal.ts';
import { silentLogger } from '../../core/log/logger.ts';
import { defineAgent } from '../../core/runtime/agent.ts';
import { Runtime } from '../../core/runtime/runtime.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { encodeCommit, POSITIONS_PER_COMMIT } from '../../core/store/jetstream-commit.ts';
import type { NewEvent } from '../../core/envelope/envelope.ts';
import { exampleRegistry } from '../example/messages.ts';
import { eventually } from '../contract/bus-contract.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';

const INPUTS = 2000;
const skip = await natsSkip();
const attacker = new MemoryKeyring('fuzz-attacker');

function reading(kwh = 1): NewEvent {
  return { id: randomUUID(), type: 'example.meter.read', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'meter', correlationId: randomUUID(), causationId: null, data: { meter: 'main', periodStart: '2023-07-03T00:00:00.000Z', energyKwh: kwh } };
}

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** One hostile message body, and the ledger stream token it is published on. */
const hostile = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 512 }).map((b) => ({ kind: 'bytes', body: b })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: 'json', body: Buffer.from(JSON.stringify(v) ?? 'null') })),
  fc.array(fc.object({ maxDepth: 2 }), { minLength: 1, maxLength: 4 }).map((a) => ({ kind: 'objects', body: Buffer.from(JSON.stringify(a)) })),
  fc
    .record({ id: fc.string(), type: fc.string(), version: fc.integer(), time: fc.string(), source: fc.constantFrom('meter', 'compute', 'grid', 'evil'), stream: fc.string(), revision: fc.integer(), prevHash: fc.string({ unit: fc.constantFrom(...'0123456789abcdef') }), hash: fc.string({ unit: fc.constantFrom(...'0123456789abcdef') }), sig: fc.base64String(), data: fc.jsonValue({ maxDepth: 2 }) })
    .map((e) => ({ kind: 'fields', body: Buffer.from(JSON.stringify([e])) })),
  fc.integer({ min: 500, max: 5000 }).map((d) => ({ kind: 'deep', body: Buffer.from(nested(d)) })),
  fc.integer({ min: 10_000, max: 200_000 }).map((n) => ({ kind: 'huge', body: Buffer.from(JSON.stringify([{ id: 'x'.repeat(n) }])) })),
  fc.constant({ kind: 'forged', body: new Uint8Array(0) }),
);

describe('fuzz: hostile messages on ledger subjects', { skip, timeout: 280_000 }, () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  });

  test(`${INPUTS} seeded hostile messages among genuine appends: no crash, no silent stop, a bounded reason for each, genuine events decided once`, async () => {
    const site = uniqueToken('fuzzl');
    const keyring = new MemoryKeyring(`fuzz-${site}`);
    const store = await JetStreamEventStore.connect({ servers: natsUrl(), site, keyring });
    closers.push(async () => {
      await store.destroy();
      await store.close();
    });
    const outsider = await connect({ servers: natsUrl(), name: 'fuzzer' });
    closers.push(() => outsider.close());
    const js = jetstream(outsider);
    const bus = new MemoryBus();
    closers.push(() => bus.close());
    const decided: string[] = [];
    const evolved = new Set<string>();
    const clock = new WallClock();
    const rt = new Runtime({ site, store, checkpoints: store, bus, clock, ids: new Uuid7Ids(clock), registry: exampleRegistry(), keyring, log: silentLogger(), delivery: 'independent' });
    rt.add(
      defineAgent<number>({
        name: 'watcher',
        version: '1.0.0',
        categories: ['watch'],
        subscriptions: ['example.meter.read'],
        observes: ['example.meter.read'],
        initialState: () => 0,
        evolve: (n, e) => {
          evolved.add(e.id);
          return n + 1;
        },
        decide: (input) => {
          if (input.kind === 'event') decided.push(input.event.id);
          return [];
        },
      }),
    );
    await rt.start();
    closers.push(() => rt.stop());

    const inputs = fc.sample(hostile, { numRuns: INPUTS, seed: 20261202 });
    const streams = ['meter-main', 'meter-aux', 'grid-forecast', 'compute-job-1'];
    const genuine: string[] = [];
    let head = (await store.append('meter-main', [reading()], 'no-stream')).events[0]!;
    genuine.push(head.id);
    const hostileSeqs: number[] = [];
    const bytesPublished: number[] = [];
    for (const [i, h] of inputs.entries()) {
      const stream = streams[i % streams.length]!;
      // A forgery chained exactly on the real head of meter-main, signed by a key the site does not know.
      const body = h.kind === 'forged' ? encodeCommit(sealBatch('meter-main', [reading(999)], head, attacker)) : h.body;
      const subject = `caco.${site}.ledger.${h.kind === 'forged' ? 'meter-main' : stream}`;
      const ack = await js.publish(subject, body);
      hostileSeqs.push(ack.seq);
      bytesPublished.push(body.byteLength);
      if (i % 100 === 99) {
        head = (await store.append('meter-main', [reading()], 'any')).events[0]!;
        genuine.push(head.id);
      }
    }
    await eventually(() => decided.length >= genuine.length, 'the watcher to decide on every genuine reading', 120_000);
    await rt.settle();
    assert.deepEqual(decided, genuine, 'each genuine reading decided once, in order, and nothing else');
    for (const id of evolved) assert.ok(genuine.includes(id), `evolved on something that is not genuine: ${id}`);

    const health = rt.readerHealth();
    assert.ok(health.ok, JSON.stringify(health));
    const records = await store.quarantined();
    // Every hostile message has at least one record, with a reason, within its commit's positions.
    const bySeq = new Map<number, number>();
    for (const r of records) {
      assert.ok(r.reason.length > 0, 'a reason');
      const size = Buffer.byteLength(JSON.stringify(r));
      assert.ok(size <= 1024, `a quarantine record of ${size} bytes: ${JSON.stringify(r).slice(0, 200)}`);
      const seq = Math.floor(r.position / POSITIONS_PER_COMMIT);
      bySeq.set(seq, (bySeq.get(seq) ?? 0) + 1);
    }
    const missing = hostileSeqs.filter((s) => !bySeq.has(s));
    assert.deepEqual(missing, [], `hostile messages without a quarantine record (sequences): ${missing.slice(0, 10).join(', ')}`);
    process.stdout.write(`# ${INPUTS} hostile messages (${bytesPublished.reduce((a, b) => a + b, 0)} bytes), ${records.length} quarantine records, largest ${Math.max(...records.map((r) => Buffer.byteLength(JSON.stringify(r))))} bytes; ${genuine.length} genuine readings decided once\n`);
  });
});
