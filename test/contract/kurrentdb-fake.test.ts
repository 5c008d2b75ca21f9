// test-file-timeout: 300
/**
 * The EventStore contract run against the KurrentDB adapter over an in-process stand-in for
 * the server (test/support/fake-kurrentdb.ts), because no KurrentDB can run here. It checks
 * the adapter's logic — sealing, per-stream concurrency through the site log's expected
 * revision, positions, catch-up, checkpoints, retries across two writers — with the client's
 * own error classes; it says nothing about the wire or the real server (see
 * test/contract/kurrentdb-store.test.ts for the container run).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { isBatchSig, MAX_BATCH } from '../../core/ledger/index.ts';
import { ConcurrencyError } from '../../core/errors/errors.ts';
import { KurrentDbEventStore } from '../../core/store/kurrentdb-store.ts';
import { verifiedView } from '../../core/store/verified-store.ts';
import { silentLogger } from '../../core/log/index.ts';
import { FakeKurrentServer } from '../support/fake-kurrentdb.ts';
import { uniqueToken } from '../support/nats.ts';
import { assertChains, newEvent, storeContract } from './store-contract.ts';

const url = 'kurrentdb://fake:2113?tls=false';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

storeContract('KurrentDbEventStore over a stand-in server', async () => {
  const server = new FakeKurrentServer();
  const keyring = new MemoryKeyring('contract');
  const opts = { url, site: 'ct', keyring, pollMs: 20 };
  let current = await KurrentDbEventStore.connect({ ...opts, client: server.client() });
  return {
    get store() {
      return current;
    },
    keyring,
    async reopen() {
      await current.close();
      current = await KurrentDbEventStore.connect({ ...opts, client: server.client() });
      return current;
    },
    async dispose() {
      await current.close();
    },
  };
});

describe('KurrentDbEventStore over a stand-in server: an event put on the site log under an id an append will use', () => {
  test('is not answered as the append unless it verifies; a true retry still is', async () => {
    const server = new FakeKurrentServer();
    const keyring = new MemoryKeyring('preclaim');
    const opts = { url, site: 'pc', keyring, pollMs: 20 };
    const a = await KurrentDbEventStore.connect({ ...opts, client: server.client() });
    let b: KurrentDbEventStore | undefined;
    try {
      const e1 = newEvent({ kw: 1 });
      const first = await a.append('order-1', [e1], 'any');
      assert.equal((await a.append('order-1', [e1], 'any')).events[0]!.hash, first.events[0]!.hash, 'a true retry answers what is stored');
      // Someone with access to the server writes an event under a predictable id, through the store's own log writer.
      const predicted = `predicted-${uniqueToken()}`;
      const forged = { ...first.events[0]!, id: predicted, revision: 1, prevHash: first.events[0]!.hash, hash: 'f'.repeat(64), sig: 'AAAA', data: { kw: 999999 } };
      assert.ok(await (a as unknown as { writeToLog(e: unknown[], count: number): Promise<boolean> }).writeToLog([forged], 1));
      // A writer that reads the log afresh finds it under the id.
      b = await KurrentDbEventStore.connect({ ...opts, client: server.client() });
      await assert.rejects(b.append('order-1', [{ ...newEvent({ kw: 5 }), id: predicted }], 'any'), (err: Error) => {
        assert.equal(err.name, 'UnverifiedHeadError', `${err.name}: ${err.message}`);
        assert.match(err.message, /do not verify/);
        return true;
      });
    } finally {
      await b?.close();
      await a.close();
    }
  });
});

describe('KurrentDbEventStore over a stand-in server: a record on the site log that does not verify', () => {
  test('is not sealed on: the next append follows the last verified head, and readers take it and quarantine the forged one', async () => {
    // Before: a CACO-shaped record at revision 1000 became the stream's head; the next real
    // append was sealed at 1001 on it, every verified reader refused it, and an expected
    // revision of 0 failed against 1000 (a helper's review).
    const server = new FakeKurrentServer();
    const keyring = new MemoryKeyring('forged-head');
    const opts = { url, site: 'fh', keyring, pollMs: 20 };
    const a = await KurrentDbEventStore.connect({ ...opts, client: server.client() });
    let b: KurrentDbEventStore | undefined;
    try {
      const first = await a.append('s-1', [newEvent({ n: 1 })], 'no-stream');
      const forged = { ...first.events[0]!, id: `forged-${uniqueToken()}`, revision: 1000, prevHash: 'c'.repeat(64), hash: 'c'.repeat(64), sig: 'x', data: { n: 666 } };
      assert.ok(await (a as unknown as { writeToLog(e: unknown[], count: number): Promise<boolean> }).writeToLog([forged], 1));
      // This writer, and one that reads the log afresh, both seal on revision 0.
      const second = await a.append('s-1', [newEvent({ n: 2 })], 0);
      assert.equal(second.events[0]!.revision, 1);
      assert.equal(second.events[0]!.prevHash, first.events[0]!.hash);
      b = await KurrentDbEventStore.connect({ ...opts, client: server.client() });
      const third = await b.append('s-1', [newEvent({ n: 3 })], 1);
      assert.equal(third.events[0]!.revision, 2);
      const view = verifiedView(b, keyring, silentLogger());
      const read: number[] = [];
      for await (const e of view.readAll()) read.push((e.data as { n: number }).n);
      assert.deepEqual(read, [1, 2, 3], 'every real event verifies; the forged one does not');
    } finally {
      await b?.close();
      await a.close();
    }
  });
});

describe('KurrentDbEventStore over a stand-in server: two writers on one site log', () => {
  test('appends from two writers interleave with dense positions and one chain per stream; a lost race on the log is retried, a lost race on the stream is a ConcurrencyError', async () => {
    const server = new FakeKurrentServer();
    const keyring = new MemoryKeyring('two');
    const site = uniqueToken('tw').toLowerCase();
    const a = await KurrentDbEventStore.connect({ url, site, keyring, pollMs: 20, client: server.client() });
    const b = await KurrentDbEventStore.connect({ url, site, keyring, pollMs: 20, client: server.client() });
    try {
      const got: number[] = [];
      const sub = await b.subscribeAll((e) => void got.push(e.position));
      await Promise.all(
        [a, b].map(async (s, k) => {
          for (let i = 0; i < 30; i++) await s.append(`shared-${i % 3}`, [newEvent({ k, i }), newEvent({ k, i, second: true })], 'any');
        }),
      );
      assert.ok(server.conflicts > 0, 'the writers did race for the log');
      const all = await collect(a.readAll());
      assert.equal(all.length, 120);
      assert.deepEqual(all.map((e) => e.position), Array.from({ length: 120 }, (_, i) => i + 1), 'positions are 1..n without a gap');
      assertChains(all, keyring);
      assert.deepEqual(await b.streamHeads(), await a.streamHeads());
      await sub.caughtUp();
      assert.deepEqual(got, all.map((e) => e.position), 'the other writer\'s subscription saw every event once, in order');
      await sub.close();
      const head = (await a.streamHeads()).find((h) => h.stream === 'shared-0')!.revision;
      const race = await Promise.allSettled([a.append('shared-0', [newEvent()], head), b.append('shared-0', [newEvent()], head)]);
      assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
      const lost = race.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      assert.ok(lost.reason instanceof ConcurrencyError, String(lost.reason));
      // Events of the other writer are readable per stream at once (the index reads the log first).
      const s0 = await collect(b.readStream('shared-0'));
      assert.equal(s0.length, 41, "20 appends of two events, and the race's winner");
      assert.equal(s0.at(-1)!.revision, head + 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('appends made together are written as one group: one request, shared signatures, each member checked on its own', async () => {
    const server = new FakeKurrentServer();
    // A keyring that cannot sign for one source: a group holding it falls back to one by one.
    class NoKeyFor extends MemoryKeyring {
      override sign(source: string, bytes: Uint8Array): string {
        if (source === 'keyless') throw new Error('no private key for keyless');
        return super.sign(source, bytes);
      }
    }
    const keyring = new NoKeyFor('group');
    const client = server.client();
    let requests = 0;
    const appendToStream = client.appendToStream.bind(client);
    client.appendToStream = ((...args: Parameters<typeof appendToStream>) => {
      requests++;
      return appendToStream(...args);
    }) as typeof client.appendToStream;
    const s = await KurrentDbEventStore.connect({ url, site: 'grp', keyring, pollMs: 20, client });
    try {
      const seed = await s.append('g-0', [newEvent()], 'no-stream');
      requests = 0;
      // 40 appends in one turn on 4 streams, one expecting a revision it will not find, one
      // repeating the id of an event already stored (a retry: answered with the stored one).
      const results = await Promise.allSettled([
        ...Array.from({ length: 40 }, (_, i) => s.append(`g-${i % 4}`, [newEvent({ i }), newEvent({ i, second: true })], 'any')),
        s.append('g-1', [newEvent()], 7),
        s.append('g-0', [seed.events[0]!], 'any'),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 41);
      const refused = results[40]!;
      assert.ok(refused.status === 'rejected' && refused.reason instanceof ConcurrencyError, 'the member expecting revision 7 alone is refused');
      const retry = results[41]!;
      assert.ok(retry.status === 'fulfilled' && retry.value.events[0]!.position === seed.position, 'a retry is answered with the stored event');
      assert.ok(requests <= 2, `${requests} requests to KurrentDB for 40 appends (at most 64 to a group)`);
      const all = await collect(s.readAll());
      assert.equal(all.length, 81);
      assert.deepEqual(all.map((e) => e.position), Array.from({ length: 81 }, (_, i) => i + 1));
      assertChains(all, keyring);
      // A batch head's sig is `mb1:<index>/<size>:<proof>:<ed25519 signature>`; count the signatures.
      const sigs = new Set(all.filter((e) => e.sig !== '' && e.position > seed.position).map((e) => (isBatchSig(e.sig) ? e.sig.slice(e.sig.lastIndexOf(':') + 1) : e.sig)));
      assert.ok(sigs.size < 40 && sigs.size >= Math.ceil(40 / MAX_BATCH), `${sigs.size} signatures for 40 commits (shared, at most ${MAX_BATCH} heads to one)`);
      // The same stream twice in one group chains: the second member is sealed on the first's head.
      const [x, y] = await Promise.all([s.append('g-9', [newEvent()], 'no-stream'), s.append('g-9', [newEvent()], 0)]);
      assert.equal(y.events[0]!.prevHash, x.events[0]!.hash);
      // A member whose source cannot sign: it alone is refused, the rest of its group is written.
      const mixed = await Promise.allSettled([s.append('g-5', [newEvent()], 'any'), s.append('g-6', [newEvent({}, { source: 'keyless' })], 'any'), s.append('g-5', [newEvent()], 'any')]);
      assert.deepEqual(mixed.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
      assertChains(await collect(s.readAll()), keyring);
    } finally {
      await s.close();
    }
  });

  test('a checkpoint stream holding a negative or non-integer position is refused naming the checkpoint and the stream, as every store refuses it', async () => {
    // Before: -7 was taken, and the agent's reader failed at each start on "from: must be a position >= 0" (a helper's review).
    const server = new FakeKurrentServer();
    const s = await KurrentDbEventStore.connect({ url, site: 'rome', keyring: new MemoryKeyring('cp'), client: server.client() });
    try {
      await s.put('agent-x', 5);
      assert.equal(await s.get('agent-x'), 5);
      const stream = [...server.streams.keys()].find((k) => k.startsWith('caco-rome-checkpoint-'))!;
      for (const position of [-7, 1.5]) {
        await server.client().appendToStream(stream, { id: crypto.randomUUID(), type: 'checkpoint', contentType: 'application/json', data: { name: 'agent-x', position }, metadata: undefined });
        await assert.rejects(s.get('agent-x'), (e: Error) => /checkpoint "agent-x"/.test(e.message) && e.message.includes(stream) && /not a position \(an integer >= 0\)/.test(e.message), String(position));
      }
    } finally {
      await s.close();
    }
  });

  test('the KurrentDB layout: one site log with CACO fields in metadata, one checkpoint stream per name kept to its last event', async () => {
    const server = new FakeKurrentServer();
    const s = await KurrentDbEventStore.connect({ url, site: 'paris', keyring: new MemoryKeyring('lay'), client: server.client() });
    try {
      const r = await s.append('job-1', [newEvent({ a: 1 }, { causationId: 'c1' })], 'no-stream');
      await s.put('relay', r.position);
      assert.equal(s.logStream, 'caco-paris-ledger');
      const log = server.streams.get('caco-paris-ledger')!;
      assert.equal(log.length, 1);
      const meta = JSON.parse(log[0]!.metadata!) as Record<string, unknown>;
      assert.equal(meta['stream'], 'job-1');
      assert.equal(meta['revision'], 0);
      assert.equal(meta['$causationId'], 'c1');
      assert.equal(meta['hash'], r.events[0]!.hash);
      assert.equal(log[0]!.id, r.events[0]!.id);
      const cps = [...server.streams.keys()].filter((k) => k.startsWith('caco-paris-checkpoint-'));
      assert.equal(cps.length, 1);
      assert.deepEqual(server.streamMetadata.get(cps[0]!), { maxCount: 1 });
    } finally {
      await s.close();
    }
  });
});
