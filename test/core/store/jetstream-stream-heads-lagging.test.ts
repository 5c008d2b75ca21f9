// test-file-timeout: 60
/**
 * The stream heads of a replicated ledger (what `caco audit verify` compares every stream's
 * last event with) come from a consumer, which answers from the replica it is placed on. One
 * resumed after a pause lags the leader: its last commit of a stream is an older one, and the
 * audit reported a recorded head that disagrees with the events. The store must check the
 * consumer's answer against the leader and ask again. The lag is faked at the library's
 * boundary (the consumer hands the previous commit instead of the newest), so the placement
 * a real cluster only sometimes makes is chosen by the test.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager, type Consumer, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { POSITIONS_PER_COMMIT } from '../../../core/store/jetstream-commit.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { JetStreamEventStore } from '../../../core/store/jetstream-store.ts';
import { natsSkip, natsUrl, uniqueToken } from '../../support/nats.ts';
import { newEvent } from '../../contract/store-contract.ts';
import { collect } from '../../contract/multi-writer.ts';

const skip = await natsSkip();

/** The store's private parts this test replaces: its replica count and its JetStream client. */
interface StoreInsides {
  replicaCount: number;
  js: JetStreamClient;
  nc: NatsConnection;
}

describe('JetStream stream heads on a replica behind the leader', { skip }, () => {
  const opened: JetStreamEventStore[] = [];
  after(async () => {
    for (const s of opened) await s.destroy().catch(() => undefined);
    for (const s of opened) await s.close();
  });

  test('are asked again until they include the leader\'s newest commit, never reported old', async () => {
    const store = await JetStreamEventStore.connect({ servers: natsUrl(), site: uniqueToken('heads-lag'), keyring: new MemoryKeyring('heads-lag') });
    opened.push(store);
    await store.append('job-a', [newEvent({ n: 1 })], 'no-stream');
    await store.append('job-b', [newEvent({ n: 2 })], 'no-stream');
    const a2 = await store.append('job-a', [newEvent({ n: 3 })], 0);
    const truth = await store.streamHeads();
    assert.deepEqual(truth.map((h) => [h.stream, h.revision]), [['job-a', 1], ['job-b', 0]]);
    assert.equal(truth[0]!.hash, a2.events[0]!.hash);

    // The consumers of the first two reads sit on a replica that has not applied the newest
    // commit (job-a's second): it hands job-a's first commit as that stream's last.
    const older = (await collect(store.readAll())).find((e) => e.stream === 'job-a' && e.revision === 0)!;
    const olderSeq = Math.floor(older.position / POSITIONS_PER_COMMIT);
    const insides = store as unknown as StoreInsides;
    const stored = await jetstreamManager(insides.nc).then((jsm) => jsm.streams.getMessage(store.streamName, { seq: olderSeq }));
    assert.ok(stored);
    const olderMsg = { seq: stored.seq, data: stored.data, subject: stored.subject, info: { pending: 0 } } as unknown as JsMsg;
    insides.replicaCount = 3;
    const real = insides.js;
    let lagging = 2;
    let created = 0;
    insides.js = {
      ...real,
      consumers: {
        ...real.consumers,
        get: async (...args: Parameters<JetStreamClient['consumers']['get']>) => {
          const c = await real.consumers.get(...args);
          created++;
          return lagging-- > 0 ? behindByOne(c, olderMsg) : c;
        },
      },
    } as JetStreamClient;

    const heads = await store.streamHeads();
    assert.deepEqual(heads, truth, 'the heads the leader holds, not a lagging replica\'s');
    assert.equal(created, 3, 'read again until a consumer had the leader\'s newest commit');
  });
});

/** A consumer on a replica one commit behind: for the stream's newest message it hands `older`. */
function behindByOne(c: Consumer, older: JsMsg): Consumer {
  return {
    delete: () => c.delete(),
    fetch: async (opts: Parameters<Consumer['fetch']>[0]) => {
      const held: JsMsg[] = [];
      for await (const m of await c.fetch(opts)) {
        held.push(m);
        if (m.info.pending === 0) break;
      }
      const newest = Math.max(...held.map((m) => m.seq));
      const out = held.map((m) => (m.seq === newest ? older : m));
      return (async function* () {
        yield* out;
      })();
    },
  } as unknown as Consumer;
}
