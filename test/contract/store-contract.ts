/**
 * The EventStore (+ CheckpointStore) contract: every adapter must pass exactly these tests.
 * Each test opens a fresh, empty store from the factory and disposes of it afterwards.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { GENESIS_HASH, MAX_COVERS, type Envelope, type NewEvent } from '../../core/envelope/envelope.ts';
import { ConcurrencyError, InvalidArgumentError } from '../../core/errors/errors.ts';
import type { Keyring } from '../../core/ledger/keyring.ts';
import { hashEvent } from '../../core/ledger/seal.ts';
import { ChainVerifier } from '../../core/ledger/chain-verifier.ts';
import type { CheckpointStore, EventStore } from '../../core/store/event-store.ts';
import { eventually } from './bus-contract.ts';

export type ContractStore = EventStore & CheckpointStore;

export interface StoreHandle {
  readonly store: ContractStore;
  readonly keyring: Keyring;
  /** Close the store and open it again on the same data, as a restarted process would. */
  reopen(): Promise<ContractStore>;
  /** Close and delete everything the handle created. */
  dispose(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreHandle>;

let counter = 0;
export function newEvent(data: unknown = { n: counter }, over: Partial<NewEvent> = {}): NewEvent {
  counter++;
  return {
    id: randomUUID(),
    type: 'test.thing.happened',
    version: 1,
    time: '2024-01-01T00:00:00.000Z',
    source: 'contract-agent',
    correlationId: 'corr-1',
    causationId: null,
    data,
    ...over,
  };
}

const batch = (n: number, tag = 'b') => Array.from({ length: n }, (_, i) => newEvent({ tag, i }));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Every stream chains: revisions 0..n, prevHash = hash of the one before, hashes recompute, signatures verify. */
export function assertChains(events: ReadonlyArray<Envelope>, keyring: Keyring): void {
  const byStream = new Map<string, Envelope[]>();
  for (const e of events) {
    const l = byStream.get(e.stream) ?? [];
    l.push(e);
    byStream.set(e.stream, l);
  }
  for (const [stream, list] of byStream) {
    list.sort((a, b) => a.revision - b.revision);
    list.forEach((e, i) => {
      assert.equal(e.revision, i, `${stream}: revisions are 0..n without a gap`);
      assert.equal(e.prevHash, i === 0 ? GENESIS_HASH : list[i - 1]!.hash, `${stream}@${i}: prevHash links to the previous hash`);
      assert.equal(hashEvent(e), e.hash, `${stream}@${i}: hash recomputes`);
    });
    // Signatures are per commit (one append): each event is proven by its own signature or
    // by its commit's signed head, which must follow it.
    const v = new ChainVerifier(keyring);
    const judged = [...list.flatMap((e) => v.push(e)), ...v.flush()];
    assert.equal(judged.length, list.length, `${stream}: every event decided`);
    for (const j of judged) assert.deepEqual(j.verdict, { ok: true }, `${stream}@${j.event.revision}: event checks (its signature or its commit's)`);
    assert.ok(list[list.length - 1]!.sig !== '', `${stream}: the last event of a stream is a signed commit head`);
  }
}

export function storeContract(name: string, open: StoreFactory): void {
  describe(`EventStore contract: ${name}`, () => {
    const withStore = (title: string, fn: (h: StoreHandle) => Promise<void>, opts: { timeout?: number } = {}) =>
      test(title, { timeout: opts.timeout ?? 30_000 }, async () => {
        const h = await open();
        try {
          await fn(h);
        } finally {
          await h.dispose();
        }
      });

    withStore('append to a new stream: revisions from 0, positions increasing, readStream returns them', async ({ store }) => {
      assert.equal(await store.headPosition(), 0);
      const r = await store.append('job-1', batch(3), 'no-stream');
      assert.equal(r.events.length, 3);
      assert.deepEqual(r.events.map((e) => e.revision), [0, 1, 2]);
      assert.equal(r.nextExpected, 2);
      assert.equal(r.position, r.events[2]!.position);
      assert.ok(r.events[0]!.position > 0 && r.events[0]!.position < r.events[1]!.position && r.events[1]!.position < r.events[2]!.position);
      const read = await collect(store.readStream('job-1'));
      assert.deepEqual(read, r.events);
      assert.deepEqual(await collect(store.readStream('job-1', 2)), [r.events[2]]);
      assert.deepEqual(await collect(store.readStream('job-404')), []);
      assert.equal(await store.headPosition(), r.position);
    });

    withStore('readStream: a stream longer than a page, whole and from any revision, in order; a reader that stops early stops', async ({ store }) => {
      // SQLite and PostgreSQL read a stream a page (512 rows) at a time, so a reader that stops
      // early (the relay's commit proof) no longer reads the rest of the stream each time.
      const all: Envelope[] = [];
      for (let i = 0; i < 12; i++) all.push(...(await store.append('long-1', batch(100), 'any')).events);
      await store.append('long-2', batch(3), 'no-stream');
      assert.deepEqual((await collect(store.readStream('long-1'))).map((e) => e.revision), all.map((e) => e.revision));
      for (const from of [0, 511, 512, 513, 1024, 1199, 1200]) assert.deepEqual(await collect(store.readStream('long-1', from)), all.slice(from), `from ${from}`);
      const firstTwo: number[] = [];
      for await (const e of store.readStream('long-1', 700)) if (firstTwo.push(e.revision) === 2) break;
      assert.deepEqual(firstTwo, [700, 701]);
    });

    withStore('an append of more events than one commit signature covers (MAX_COVERS) is refused, naming the field, and stores nothing; one of exactly MAX_COVERS is kept and verifies', async ({ store, keyring }) => {
      // A helper's review: SQLite and PostgreSQL took 1,025 and more, and every reader and the
      // audit then refused all of them as not covered by a signature.
      await assert.rejects(store.append('bulk-1', batch(MAX_COVERS + 1), 'any'), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'events' && /at most 1024/.test(e.message));
      assert.equal(await store.headPosition(), 0, 'nothing stored');
      const r = await store.append('bulk-1', batch(MAX_COVERS), 'no-stream');
      assert.equal(r.events.length, MAX_COVERS);
      assertChains(await collect(store.readAll()), keyring);
    }, { timeout: 60_000 });

    withStore('expected revision: no-stream, any, exact; a wrong one raises ConcurrencyError and writes nothing', async ({ store }) => {
      await store.append('acct-1', batch(2), 'no-stream');
      const head = await store.headPosition();
      await assert.rejects(store.append('acct-1', batch(1), 'no-stream'), (e: unknown) => e instanceof ConcurrencyError && e.actual === 1);
      await assert.rejects(store.append('acct-1', batch(1), 0), (e: unknown) => e instanceof ConcurrencyError && e.actual === 1);
      await assert.rejects(store.append('acct-1', batch(1), 5), ConcurrencyError);
      await assert.rejects(store.append('acct-2', batch(1), 0), (e: unknown) => e instanceof ConcurrencyError && e.actual === 'no-stream');
      assert.equal(await store.headPosition(), head, 'a rejected append stored nothing');
      assert.equal((await collect(store.readStream('acct-1'))).length, 2);
      assert.deepEqual(await collect(store.readStream('acct-2')), []);
      const r1 = await store.append('acct-1', batch(1), 1);
      assert.equal(r1.nextExpected, 2);
      const r2 = await store.append('acct-1', batch(2), 'any');
      assert.equal(r2.nextExpected, 4);
      const r3 = await store.append('acct-3', batch(1), 'any');
      assert.equal(r3.nextExpected, 0);
    });

    withStore('20 concurrent appends with the same expected revision: exactly one wins, nothing extra is stored', async ({ store }) => {
      await store.append('race-1', batch(1), 'no-stream');
      const attempts = Array.from({ length: 20 }, (_, k) => store.append('race-1', batch(2, `k${k}`), 0));
      const results = await Promise.allSettled(attempts);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1, 'exactly one append wins');
      assert.equal(lost.length, 19);
      for (const l of lost) assert.ok(l.reason instanceof ConcurrencyError, `loser got ${String(l.reason)}`);
      const events = await collect(store.readStream('race-1'));
      assert.equal(events.length, 3, 'one initial event + the winner\'s two');
      // The same with expected no-stream on a fresh stream.
      const fresh = await Promise.allSettled(Array.from({ length: 20 }, () => store.append('race-2', batch(1), 'no-stream')));
      assert.equal(fresh.filter((r) => r.status === 'fulfilled').length, 1);
      assert.equal((await collect(store.readStream('race-2'))).length, 1);
    });

    withStore('concurrent appends with expected any all land, each revision exactly once', async ({ keyring, store }) => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, k) => store.append('busy-1', batch(1 + (k % 3), `k${k}`), 'any')));
      const events = await collect(store.readStream('busy-1'));
      assert.equal(events.length, results.reduce((n, r) => n + r.events.length, 0));
      assertChains(events, keyring);
    });

    withStore('re-appending the same event ids stores them once and returns the stored events', async ({ store }) => {
      const evs = batch(3);
      const first = await store.append('order-1', evs, 'no-stream');
      const again = await store.append('order-1', evs, 'no-stream');
      assert.deepEqual(again.events, first.events);
      assert.equal(again.nextExpected, first.nextExpected);
      await store.append('order-1', batch(1), 'any');
      // A late retry, after someone else has appended, still answers with what was stored.
      const late = await store.append('order-1', evs, 2);
      assert.deepEqual(late.events, first.events);
      const stored = await collect(store.readStream('order-1'));
      assert.equal(stored.length, 4);
      assert.equal(new Set(stored.map((e) => e.id)).size, 4);
      // A "retry" that is not the same append is refused, not silently merged.
      await assert.rejects(store.append('order-1', [evs[0]!, newEvent()], 'any'), InvalidArgumentError);
      await assert.rejects(store.append('order-2', [evs[0]!], 'any'), InvalidArgumentError);
      // Nor is a part of the stored append, from its start or to its end.
      await assert.rejects(store.append('order-1', [evs[0]!], 'any'), InvalidArgumentError);
      await assert.rejects(store.append('order-1', [evs[1]!, evs[2]!], 'any'), InvalidArgumentError);
      assert.equal((await collect(store.readStream('order-1'))).length, 4);
      assert.deepEqual(await collect(store.readStream('order-2')), []);
    });

    withStore('a part of a stored append is refused as a retry, in the same turn as that append and after a restart', async (h) => {
      const [b, a, c] = batch(3) as [NewEvent, NewEvent, NewEvent];
      // Made in one turn: a store that commits appends together checks the later ones against an append not yet committed (or signed).
      const turn = await Promise.allSettled([h.store.append('part-1', [b, a], 'no-stream'), h.store.append('part-1', [b], 'any'), h.store.append('part-1', [a], 'any'), h.store.append('part-1', [b, a], 'any')]);
      assert.deepEqual(turn.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      for (const r of turn) if (r.status === 'rejected') assert.ok(r.reason instanceof InvalidArgumentError, `refused with ${String(r.reason)}`);
      const stored = (await collect(h.store.readStream('part-1'))).map((e) => e.id);
      assert.deepEqual(stored, [b.id, a.id]);
      // The retry answers what was stored, signatures and all (though the append it repeats was signed after it was checked).
      if (turn[3].status === 'fulfilled' && turn[0].status === 'fulfilled') assert.deepEqual(turn[3].value.events, turn[0].value.events);
      await h.store.append('part-2', [c, newEvent()], 'no-stream');
      // A restarted process knows nothing of the appends but what it reads.
      // Each part asked first of a stream it has not read: from inside an append, and its first event alone.
      const store = await h.reopen();
      await assert.rejects(store.append('part-1', [a], 'any'), InvalidArgumentError);
      await assert.rejects(store.append('part-1', [b], 'any'), InvalidArgumentError);
      await assert.rejects(store.append('part-2', [c], 'any'), InvalidArgumentError);
      assert.deepEqual((await store.append('part-1', [b, a], 'any')).events.map((e) => e.id), stored);
      assert.deepEqual((await collect(store.readStream('part-1'))).map((e) => e.id), stored);
      assert.equal((await collect(store.readStream('part-2'))).length, 2);
    });

    withStore('a failed append writes nothing: bad input, and a failure while sealing the third event', async ({ store }) => {
      await store.append('atom-1', batch(1), 'no-stream');
      const head = await store.headPosition();
      const dupId = newEvent();
      await assert.rejects(store.append('atom-1', [newEvent(), dupId, dupId], 'any'), InvalidArgumentError);
      await assert.rejects(store.append('atom-1', [newEvent(), newEvent(), newEvent(1, { version: 0 })], 'any'), InvalidArgumentError);
      await assert.rejects(store.append('bad.name', batch(1), 'any'), InvalidArgumentError);
      await assert.rejects(store.append('atom-1', [], 'any'), InvalidArgumentError);
      // NaN is not JSON: refused before anything is sealed, naming where it is.
      await assert.rejects(store.append('atom-1', [newEvent(), newEvent(), newEvent({ x: Number.NaN })], 'any'), (err: Error) => err instanceof InvalidArgumentError && err.message.includes('events[2].data.x'));
      assert.equal(await store.headPosition(), head);
      assert.equal((await collect(store.readStream('atom-1'))).length, 1);
      const after = await store.append('atom-1', batch(1), 0);
      assert.equal(after.nextExpected, 1, 'the stream goes on from where it was');
    });

    withStore('envelope ids that are not 1-128 printable ASCII characters (a CR/LF, a NUL, a space, 129 characters) are refused naming the field, and nothing is stored', async ({ store }) => {
      await store.append('ids-1', batch(1), 'no-stream');
      const head = await store.headPosition();
      const bad: Array<[string, Partial<NewEvent>]> = [
        ['correlationId', { correlationId: 'tx\r\nInjected: 1' }],
        ['correlationId', { correlationId: 'évil\u0000tx' }],
        ['causationId', { causationId: 'a b' }],
        ['source', { source: 'x'.repeat(129) }],
        ['id', { id: 'id with space' }],
        ['correlationId', { correlationId: '' }],
      ];
      for (const [field, over] of bad) {
        await assert.rejects(store.append('ids-1', [newEvent(), newEvent(undefined, over)], 'any'), (err: Error) => err instanceof InvalidArgumentError && err.message.includes(`events[1].${field}`) && err.message.includes('printable ASCII'), JSON.stringify(over));
      }
      assert.equal(await store.headPosition(), head);
      // 128 printable characters, every one of them, is an id.
      const longest = Array.from({ length: 128 }, (_, i) => String.fromCharCode(33 + (i % 94))).join('');
      await store.append('ids-1', [newEvent(undefined, { correlationId: longest, causationId: longest })], 0);
      assert.equal((await collect(store.readStream('ids-1'))).at(-1)!.correlationId, longest);
    });

    withStore('fields and data that JSON would change are refused up front, naming the field, and nothing is stored', async ({ store }) => {
      await store.append('plain-1', batch(1), 'no-stream');
      const head = await store.headPosition();
      class Reading {
        constructor(readonly kw: number) {}
      }
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic['self'] = cyclic;
      // Each would be hashed as given but stored (and audited) as JSON turns it: an event that fails its own audit.
      const cases: Array<[string, NewEvent]> = [
        ['events[0].data.at', newEvent({ at: new Date(0) })],
        // eslint-disable-next-line no-sparse-arrays -- the hole is what this case refuses
        ['events[0].data.xs[1]', newEvent({ xs: [1, , 3] })],
        ['events[0].data.m', newEvent({ m: new Map([[1, 2]]) })],
        ['events[0].data.r', newEvent({ r: new Reading(5) })],
        ['events[0].data.self', newEvent(cyclic)],
        ['events[0].data.n', newEvent({ n: 10n })],
        ['events[0].data.f', newEvent({ f: () => 1 })],
        ['events[0].data.x', newEvent({ x: Number.POSITIVE_INFINITY })],
        ['events[0].data', newEvent(undefined, { data: undefined })],
        ['events[0].time', newEvent(1, { time: new Date(0) as unknown as string })],
        ['events[0].causationId', newEvent(1, { causationId: undefined as unknown as null })],
        ['events[0].correlationId', newEvent(1, { correlationId: 7 as unknown as string })],
      ];
      for (const [field, e] of cases) {
        await assert.rejects(store.append('plain-1', [e], 'any'), (err: Error) => {
          assert.ok(err instanceof InvalidArgumentError, `${field}: ${String(err)}`);
          assert.ok(err.message.includes(field), `${field} named in: ${err.message}`);
          return true;
        });
      }
      assert.equal(await store.headPosition(), head);
      // What JSON keeps as it is still goes in: undefined members are dropped on both sides, null and nesting kept.
      const ok = await store.append('plain-1', [newEvent({ a: undefined, b: null, c: [1, { d: 'x' }], e: Object.assign(Object.create(null) as object, { f: 2 }) })], 0);
      assert.deepEqual((await collect(store.readStream('plain-1', 1)))[0]!.data, { b: null, c: [1, { d: 'x' }], e: { f: 2 } });
      assert.equal(ok.nextExpected, 1);
    });

    withStore('a type no subject can carry, a time or type a text column would change, and a version past 32 bits are refused, naming the field; an append in the same turn is stored', async ({ store }) => {
      await store.append('kept-1', batch(1), 'no-stream');
      const head = await store.headPosition();
      const cases: Array<[string, NewEvent]> = [
        ['events[0].type', newEvent(1, { type: 'site.a b' })],
        ['events[0].type', newEvent(1, { type: 'site.*' })],
        ['events[0].type', newEvent(1, { type: 'site..x' })],
        ['events[0].type', newEvent(1, { type: 'a\u0000b' })],
        // A lone surrogate is stored as U+FFFD by a UTF-8 column: the event would not match its hash.
        ['events[0].type', newEvent(1, { type: 'x.\ud800.y' })],
        ['events[0].time', newEvent(1, { time: '2023-07-01T00:00:00\u0000Z' })],
        ['events[0].time', newEvent(1, { time: '2023-07-01T00:00:00\ud800Z' })],
        ['events[0].version', newEvent(1, { version: 2 ** 31 })],
      ];
      for (const [field, e] of cases) {
        // Made in the same turn as a good append to another stream: only the bad one is refused.
        const [bad, good] = await Promise.allSettled([store.append('kept-1', [e], 'any'), store.append('kept-2', batch(1), 'any')]);
        assert.equal(bad.status, 'rejected', `${field}: ${JSON.stringify(e.type)} ${JSON.stringify(e.time)} ${e.version}`);
        const err = (bad as PromiseRejectedResult).reason as Error;
        assert.ok(err instanceof InvalidArgumentError, `${field}: ${String(err)}`);
        assert.ok(err.message.includes(field), `${field} named in: ${err.message}`);
        assert.equal(good.status, 'fulfilled', `the append beside it: ${good.status === 'rejected' ? String((good as PromiseRejectedResult).reason) : ''}`);
      }
      assert.equal((await collect(store.readStream('kept-1'))).length, 1, 'nothing of the refused appends is stored');
      assert.equal((await collect(store.readAll({ from: head }))).length, cases.length);
      const largest = await store.append('kept-1', [newEvent(1, { version: 2 ** 31 - 1 })], 0);
      assert.equal((await collect(store.readStream('kept-1', 1)))[0]!.version, 2 ** 31 - 1);
      assert.equal(largest.nextExpected, 1);
    });

    withStore('readAll: global order across streams, from (exclusive), limit, categories', async ({ store }) => {
      const appended: Envelope[] = [];
      for (let k = 0; k < 12; k++) {
        const stream = k % 3 === 0 ? `job-${k % 2}` : `grid-${k % 2}`;
        appended.push(...(await store.append(stream, batch(1 + (k % 4), `k${k}`), 'any')).events);
      }
      const all = await collect(store.readAll());
      assert.deepEqual(all.map((e) => e.id), appended.map((e) => e.id), 'readAll is append order');
      assert.deepEqual(all, appended, 'readAll returns what append returned');
      for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position);
      const mid = all[7]!.position;
      assert.deepEqual((await collect(store.readAll({ from: mid }))).map((e) => e.id), all.slice(8).map((e) => e.id));
      assert.deepEqual((await collect(store.readAll({ from: mid, limit: 3 }))).map((e) => e.id), all.slice(8, 11).map((e) => e.id));
      assert.deepEqual((await collect(store.readAll({ categories: ['job'] }))).map((e) => e.id), all.filter((e) => e.stream.startsWith('job-')).map((e) => e.id));
      // A reader that takes unreadable rows (verify-on-read's) gets the same events, from any point.
      const none = () => assert.fail('no row here is unreadable');
      assert.deepEqual(await collect(store.readAll({ categories: ['job'], onUnreadable: none })), await collect(store.readAll({ categories: ['job'] })));
      assert.deepEqual(await collect(store.readAll({ from: mid, categories: ['grid'], limit: 2, onUnreadable: none })), all.slice(8).filter((e) => e.stream.startsWith('grid-')).slice(0, 2));
      assert.deepEqual(await collect(store.readAll({ from: all[all.length - 1]!.position })), []);
      assert.equal(await store.headPosition(), all[all.length - 1]!.position);
    });

    withStore('subscribeAll: catch-up across the live boundary, appending while it catches up — no gap, no duplicate', async ({ store }) => {
      for (let k = 0; k < 40; k++) await store.append(`cu-${k % 5}`, batch(5, `pre${k}`), 'any');
      const got: Envelope[] = [];
      const sub = await store.subscribeAll(async (e) => {
        got.push(e);
        // A slow handler keeps the subscription in catch-up while new events arrive.
        if (got.length % 10 === 0) await new Promise((r) => setTimeout(r, 1));
      });
      const writer = (async () => {
        for (let k = 0; k < 40; k++) {
          await store.append(`cu-${k % 7}`, batch(5, `live${k}`), 'any');
          if (k % 10 === 0) await new Promise((r) => setTimeout(r, 2));
        }
      })();
      assert.ok(got.length < 400, 'the writer ran while the subscription was still catching up');
      await writer;
      await eventually(() => got.length >= 400, '400 events', 20_000);
      await sub.caughtUp();
      await new Promise((r) => setTimeout(r, 100));
      await sub.close();
      const all = await collect(store.readAll());
      assert.equal(all.length, 400);
      assert.deepEqual(got.map((e) => e.id), all.map((e) => e.id), 'delivered exactly the log, in order');
      assert.equal(sub.position, all[all.length - 1]!.position);
    }, { timeout: 60_000 });

    withStore('subscribeAll from a checkpoint resumes exactly after it; caughtUp; categories', async ({ store }) => {
      for (let k = 0; k < 10; k++) await store.append(k % 2 ? `ship-${k}` : `job-${k}`, batch(3, `c${k}`), 'any');
      const all = await collect(store.readAll());
      const cp = all[13]!.position;
      await store.put('agent:resume', cp);
      assert.equal(await store.get('agent:resume'), cp);
      const got: Envelope[] = [];
      const sub = await store.subscribeAll((e) => void got.push(e), { from: await store.get('agent:resume') });
      await sub.caughtUp();
      assert.deepEqual(got.map((e) => e.id), all.slice(14).map((e) => e.id));
      assert.equal(sub.position, all[all.length - 1]!.position);
      // Live delivery after catching up.
      const more = await store.append('job-99', batch(2, 'late'), 'no-stream');
      await eventually(() => got.length === all.length - 14 + 2, 'two live events');
      assert.deepEqual(got.slice(-2).map((e) => e.id), more.events.map((e) => e.id));
      await sub.close();
      const jobs: Envelope[] = [];
      const sub2 = await store.subscribeAll((e) => void jobs.push(e), { categories: ['job'] });
      await sub2.caughtUp();
      assert.deepEqual(jobs.map((e) => e.id), [...all, ...more.events].filter((e) => e.stream.startsWith('job-')).map((e) => e.id));
      assert.equal(sub2.position, more.position, 'position advances past events of other categories');
      await sub2.close();
    });

    withStore('a subscription whose handler fails stops, and caughtUp reports the failure', async ({ store }) => {
      await store.append('fail-0', batch(3), 'no-stream');
      const got: string[] = [];
      const sub = await store.subscribeAll((e) => {
        if (e.revision === 1) throw new Error('handler broke');
        got.push(e.id);
      });
      await assert.rejects(sub.caughtUp(), /handler broke/);
      assert.equal(got.length, 1);
      assert.equal(sub.status?.().state, 'failed');
      await sub.close();
    });

    withStore("with handlerFailures 'retry' a failing handler is retried from the subscription's own position after a back-off: nothing skipped, nothing doubled", async ({ store }) => {
      await store.append('retry-1', batch(3), 'no-stream');
      const got: number[] = [];
      const errors: Array<{ attempt: number; fatal: boolean; position: number }> = [];
      let failures = 0;
      const sub = await store.subscribeAll(
        (e) => {
          if (e.revision === 1 && failures < 2) {
            failures++;
            throw new Error('handler broke');
          }
          got.push(e.revision);
        },
        { handlerFailures: 'retry', onError: (_err, info) => errors.push(info) },
      );
      await sub.caughtUp();
      assert.deepEqual(got, [0, 1, 2]);
      assert.deepEqual(errors.map((x) => [x.attempt, x.fatal]), [[1, false], [2, false]]);
      assert.equal(sub.status?.().state, 'running');
      await sub.close();
      assert.equal(sub.status?.().state, 'closed');
    });

    withStore("with handlerFailures 'retry' a handler that keeps failing gives up after giveUpAfterMs: reported fatal, status failed, caughtUp rejects", async ({ store }) => {
      await store.append('fail-1', batch(3), 'no-stream');
      const got: string[] = [];
      const fatal: boolean[] = [];
      const sub = await store.subscribeAll(
        (e) => {
          if (e.revision === 1) throw new Error('handler broke');
          got.push(e.id);
        },
        { handlerFailures: 'retry', giveUpAfterMs: 300, onError: (_err, info) => fatal.push(info.fatal) },
      );
      await assert.rejects(sub.caughtUp(), /handler broke/);
      assert.equal(got.length, 1);
      assert.ok(fatal.length >= 2 && fatal.at(-1) === true && fatal.slice(0, -1).every((f) => !f), JSON.stringify(fatal));
      assert.equal(sub.status?.().state, 'failed');
      assert.match(sub.status?.().error ?? '', /handler broke/);
      await sub.close();
    });

    withStore('checkpoints: absent is 0, put/get, overwrite, names with any characters', async ({ store }) => {
      assert.equal(await store.get('never-written'), 0);
      await store.put('relay', 42);
      await store.put('agent:compute/1 x.y', 7);
      await store.put('relay', 99);
      assert.equal(await store.get('relay'), 99);
      assert.equal(await store.get('agent:compute/1 x.y'), 7);
      assert.equal(await store.get('agent:compute/1 x'), 0);
    });

    withStore('the hash chain links on every stream; streamHeads names each stream\'s last revision and hash', async ({ keyring, store }) => {
      for (let k = 0; k < 9; k++) await store.append(`chain-${k % 3}`, batch(1 + (k % 3), `h${k}`), 'any');
      const all = await collect(store.readAll());
      assertChains(all, keyring);
      const heads = await store.streamHeads();
      const expected = ['chain-0', 'chain-1', 'chain-2'].map((s) => {
        const last = all.filter((e) => e.stream === s).at(-1)!;
        return { stream: s, revision: last.revision, hash: last.hash };
      });
      assert.deepEqual(heads, expected);
    });

    withStore('property: random batches appended to random streams always chain and verify', async ({ keyring, store }) => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.array(fc.jsonValue({ maxDepth: 2 }), { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 8 }),
          async (plan) => {
            run++;
            const mine: Envelope[] = [];
            for (const [s, datas] of plan) {
              const r = await store.append(`prop${run}-${s}`, datas.map((d) => newEvent(d)), 'any');
              mine.push(...r.events);
            }
            const read: Envelope[] = [];
            for (let s = 0; s < 3; s++) read.push(...(await collect(store.readStream(`prop${run}-${s}`))));
            assert.equal(read.length, mine.length);
            assertChains(read, keyring);
            // What was read back is what was sealed (a JSON round trip keeps the hash).
            const byId = new Map(mine.map((e) => [e.id, e]));
            for (const e of read) assert.equal(e.hash, byId.get(e.id)!.hash);
          },
        ),
        { numRuns: 15, seed: 20240601 },
      );
    }, { timeout: 120_000 });

    withStore('closing the store ends its subscriptions: no reads of the closed store retried, the subscription closed, its waiters released', async (h) => {
      const store = h.store;
      await store.append('cl-1', batch(2), 'no-stream');
      const errors: unknown[] = [];
      const sub = await store.subscribeAll(() => undefined, { onError: (err) => void errors.push(err) });
      await sub.caughtUp();
      await h.reopen();
      // Before, a subscription on SQLite or PostgreSQL read the closed store, failed, and retried
      // with a back-off for up to two minutes, its timers keeping the process alive.
      await new Promise((r) => setTimeout(r, 400));
      assert.deepEqual(errors.map(String), [], 'no read of the closed store failed');
      if (sub.status) assert.equal(sub.status().state, 'closed');
      await sub.caughtUp();
      await sub.close();
    });

    withStore('closing the store stops a subscription that is waiting out a back-off, at once', async (h) => {
      const store = h.store;
      await store.append('cb-1', batch(1), 'no-stream');
      let failures = 0;
      const sub = await store.subscribeAll(
        () => {
          failures++;
          throw new Error('this handler always fails');
        },
        { handlerFailures: 'retry', onError: () => undefined },
      );
      // Four failures: the next back-off is 800 ms or more.
      const deadline = Date.now() + 10_000;
      while (failures < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(failures >= 4, `${failures} failures`);
      await h.reopen();
      // Before, it went on waiting out its back-off (up to 5 s), keeping the process alive.
      await new Promise((r) => setTimeout(r, 100));
      if (sub.status) assert.equal(sub.status().state, 'closed');
      const closing = Date.now();
      await sub.close();
      assert.ok(Date.now() - closing < 300, `close took ${Date.now() - closing} ms`);
    });

    withStore('restart: events, heads and checkpoints survive a reopen; a subscription resumes from its checkpoint', async (h) => {
      const r1 = await h.store.append('rs-1', batch(3), 'no-stream');
      await h.store.put('sub', r1.events[1]!.position);
      await h.store.append('rs-2', batch(2), 'no-stream');
      const reopened = await h.reopen();
      // A process that has not seen rs-2 yet appends with "any": it must land after what is there.
      const any = await reopened.append('rs-2', batch(1), 'any');
      assert.equal(any.events[0]!.revision, 2);
      await assert.rejects(reopened.append('rs-2', batch(1), 'no-stream'), ConcurrencyError);
      assertChains(await collect(reopened.readStream('rs-2')), h.keyring);
      assert.deepEqual(await collect(reopened.readStream('rs-1')), r1.events);
      assert.equal(await reopened.get('sub'), r1.events[1]!.position);
      const r2 = await reopened.append('rs-1', batch(1), 2);
      assert.equal(r2.events[0]!.prevHash, r1.events[2]!.hash, 'the chain continues across the restart');
      const got: Envelope[] = [];
      const sub = await reopened.subscribeAll((e) => void got.push(e), { from: await reopened.get('sub') });
      await sub.caughtUp();
      await sub.close();
      assert.deepEqual(got.map((e) => e.id), (await collect(reopened.readAll({ from: r1.events[1]!.position }))).map((e) => e.id));
      assert.equal(got.at(-1)!.id, r2.events[0]!.id);
    });
  });
}
