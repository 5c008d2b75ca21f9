/**
 * The Bus contract: every adapter must pass exactly these tests. Each test works under its
 * own random subject root, so adapters on a shared server do not see each other's traffic.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus, BusMessage } from '../../core/bus/bus.ts';
import { NoRespondersError, TimeoutError } from '../../core/errors/errors.ts';
import { uniqueToken } from '../support/nats.ts';

export interface BusFactoryOptions {
  readonly onHandlerError?: (err: unknown, msg: BusMessage) => void;
}

export type BusFactory = (opts?: BusFactoryOptions) => Promise<Bus>;

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Wait until `cond()` holds, or fail naming what was awaited. */
export async function eventually(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const settle = (ms = 100) => new Promise((r) => setTimeout(r, ms));

/** [pattern, subject, matches] — checked through real subscriptions on every adapter. */
export const SUBJECT_CASES: ReadonlyArray<readonly [string, string, boolean]> = [
  ['a.b.c', 'a.b.c', true],
  ['a.b.c', 'a.b', false],
  ['a.b.c', 'a.b.c.d', false],
  ['a.b.c', 'a.b.x', false],
  ['a.*.c', 'a.b.c', true],
  ['a.*.c', 'a.x.c', true],
  ['a.*.c', 'a.b.d', false],
  ['a.*.c', 'a.c', false],
  ['a.*.c', 'a.b.b.c', false],
  ['a.*', 'a.b', true],
  ['a.*', 'a', false],
  ['a.*', 'a.b.c', false],
  ['a.>', 'a.b', true],
  ['a.>', 'a.b.c.d', true],
  ['a.>', 'a', false],
  ['a.>', 'b.a', false],
  ['*.b.>', 'x.b.c', true],
  ['*.b.>', 'x.b', false],
  ['*.b.>', 'x.b.c.d', true],
  ['*.b.>', 'x.c.d', false],
  ['*', 'a', true],
  ['*', 'a.b', false],
  ['>', 'a', true],
  ['>', 'a.b.c', true],
  ['a.*.*', 'a.b', false],
  ['a.*.*', 'a.b.c', true],
  ['a.*.>', 'a.b', false],
  ['a.*.>', 'a.b.c', true],
  ['*.*', 'ab.cd', true],
  ['ab', 'a', false],
  ['a', 'ab', false],
];

export function busContract(name: string, makeBus: BusFactory): void {
  describe(`Bus contract: ${name}`, () => {
    const opened: Bus[] = [];
    const open = async (opts?: BusFactoryOptions) => {
      const b = await makeBus(opts);
      opened.push(b);
      return b;
    };
    after(async () => {
      for (const b of opened) await b.close();
    });

    test('subject matching: a table of *, > and exact cases, through real subscriptions', async () => {
      const bus = await open();
      const root = uniqueToken('sm');
      // Each pattern is tested on its own root, so one pattern never sees another's subjects.
      const byPattern = new Map<string, Array<readonly [string, boolean]>>();
      for (const [p, s, m] of SUBJECT_CASES) {
        const list = byPattern.get(p) ?? [];
        list.push([s, m]);
        byPattern.set(p, list);
      }
      const got = new Map<string, string[]>();
      let expectedTotal = 0;
      let i = 0;
      const plan: Array<{ subjects: string[]; prefix: string }> = [];
      for (const [pattern, cases] of byPattern) {
        const prefix = `${root}.p${i++}`;
        const received: string[] = [];
        got.set(pattern, received);
        await bus.subscribe(`${prefix}.${pattern}`, (m) => {
          received.push(m.subject.slice(prefix.length + 1));
        });
        expectedTotal += cases.filter(([, m]) => m).length;
        plan.push({ prefix, subjects: cases.map(([s]) => s) });
      }
      for (const { prefix, subjects } of plan) for (const s of subjects) await bus.publish(`${prefix}.${s}`, enc(s));
      await bus.flush();
      await eventually(() => [...got.values()].reduce((n, r) => n + r.length, 0) >= expectedTotal, `${expectedTotal} matching deliveries`);
      await settle();
      for (const [pattern, cases] of byPattern) {
        const received = [...got.get(pattern)!].sort();
        const expected = cases.filter(([, m]) => m).map(([s]) => s).sort();
        assert.deepEqual(received, expected, `pattern "${pattern}"`);
      }
    });

    test('per-subject ordering: 1,000 messages arrive in order, handled one at a time', async () => {
      const bus = await open();
      const subject = `${uniqueToken('ord')}.x`;
      const seen: number[] = [];
      let inHandler = 0;
      let maxInHandler = 0;
      await bus.subscribe(subject, async (m) => {
        inHandler++;
        maxInHandler = Math.max(maxInHandler, inHandler);
        const n = Number(dec(m.data));
        // An await inside the handler: the next message must still wait for this one.
        if (n % 7 === 0) await new Promise((r) => setImmediate(r));
        seen.push(n);
        inHandler--;
      });
      for (let n = 0; n < 1000; n++) await bus.publish(subject, enc(String(n)));
      await bus.flush();
      await eventually(() => seen.length >= 1000, '1000 messages');
      assert.deepEqual(seen, Array.from({ length: 1000 }, (_, n) => n));
      assert.equal(maxInHandler, 1, 'handler ran concurrently with itself');
    });

    test('queue groups: each message goes to exactly one member; plain subscribers get all', async () => {
      const bus = await open();
      const subject = `${uniqueToken('qg')}.work`;
      const members = [[], [], []] as number[][];
      const plain: number[] = [];
      for (const m of members) await bus.subscribe(subject, (msg) => void m.push(Number(dec(msg.data))), { queue: 'workers' });
      await bus.subscribe(subject, (msg) => void plain.push(Number(dec(msg.data))));
      const N = 300;
      for (let n = 0; n < N; n++) await bus.publish(subject, enc(String(n)));
      await bus.flush();
      await eventually(() => plain.length >= N && members.reduce((a, m) => a + m.length, 0) >= N, 'all deliveries');
      await settle();
      const all = members.flat().sort((a, b) => a - b);
      assert.deepEqual(all, Array.from({ length: N }, (_, n) => n), 'every message exactly once across the group');
      assert.equal(plain.length, N);
      assert.ok(members.filter((m) => m.length > 0).length >= 2, `work spread over members: ${members.map((m) => m.length).join('/')}`);
    });

    test('request/reply: the reply carries data and headers', async () => {
      const bus = await open();
      const subject = `${uniqueToken('rr')}.echo`;
      await bus.subscribe(subject, async (m) => {
        await bus.respond(m, enc(`echo:${dec(m.data)}`), { headers: { 'X-Reply-To': m.headers['X-Req'] ?? 'none' } });
      });
      const reply = await bus.request(subject, enc('hi'), { timeoutMs: 2000, headers: { 'X-Req': 'r1' } });
      assert.equal(dec(reply.data), 'echo:hi');
      assert.equal(reply.headers['X-Reply-To'], 'r1');
    });

    test('request/reply: a request nobody answers fails with TimeoutError after its timeout', async () => {
      const bus = await open();
      const subject = `${uniqueToken('rt')}.silent`;
      await bus.subscribe(subject, () => {
        /* listens, never answers */
      });
      const t0 = Date.now();
      await assert.rejects(bus.request(subject, enc('?'), { timeoutMs: 200 }), (err: unknown) => err instanceof TimeoutError);
      const took = Date.now() - t0;
      assert.ok(took >= 150 && took < 2000, `took ${took} ms for a 200 ms timeout`);
    });

    test('request/reply: no subscriber at all fails with NoRespondersError, fast', async () => {
      const bus = await open();
      const t0 = Date.now();
      await assert.rejects(bus.request(`${uniqueToken('nr')}.nobody`, enc('?'), { timeoutMs: 3000 }), (err: unknown) => err instanceof NoRespondersError);
      assert.ok(Date.now() - t0 < 2500, 'no-responders must not wait for the timeout');
    });

    test('headers round-trip on publish, with the keys spelled as sent', async () => {
      const bus = await open();
      const subject = `${uniqueToken('hd')}.h`;
      const got: BusMessage[] = [];
      await bus.subscribe(subject, (m) => void got.push(m));
      const headers = { 'Nats-Msg-Id': '0190a1b2-0000-7000-8000-000000000001', 'caco-type': 'compute.job.submitted', traceparent: '00-abc-def-01' };
      await bus.publish(subject, enc('x'), { headers });
      await bus.publish(subject, enc('y'));
      await bus.flush();
      await eventually(() => got.length >= 2, 'two messages');
      assert.deepEqual(got[0]!.headers, headers);
      assert.deepEqual(got[1]!.headers, {});
      assert.equal(dec(got[0]!.data), 'x');
    });

    test('unsubscribe stops delivery; a failing handler does not stop its subscription', async () => {
      const errors: unknown[] = [];
      const bus = await open({ onHandlerError: (err) => void errors.push(err) });
      const subject = `${uniqueToken('us')}.u`;
      const got: string[] = [];
      const sub = await bus.subscribe(subject, (m) => {
        const s = dec(m.data);
        if (s === 'boom') throw new Error('handler failed');
        got.push(s);
      });
      await bus.publish(subject, enc('1'));
      await bus.publish(subject, enc('boom'));
      await bus.publish(subject, enc('2'));
      await bus.flush();
      await eventually(() => got.length >= 2, 'messages around the failure');
      assert.deepEqual(got, ['1', '2']);
      assert.equal(errors.length, 1);
      await sub.unsubscribe();
      await bus.publish(subject, enc('3'));
      await bus.flush();
      await settle();
      assert.deepEqual(got, ['1', '2']);
    });

    test('maxPending: while the handler is busy, at most that many wait; the rest go to onShed at once, counted; the queue is handled in order', async () => {
      const bus = await open();
      const subject = `${uniqueToken('mp')}.x`;
      const K = 20;
      const M = 500;
      let release: () => void = () => undefined;
      const busy = new Promise<void>((r) => (release = r));
      const handled: number[] = [];
      const shed: number[] = [];
      await bus.subscribe(
        subject,
        async (m) => {
          const n = Number(dec(m.data));
          if (n === 0) await busy;
          handled.push(n);
        },
        { maxPending: K, onShed: (m) => void shed.push(Number(dec(m.data))) },
      );
      // 0 is taken by the handler and held there; 1..K wait; the other M are shed.
      // (Not flushed: the in-process bus's flush waits for the handler, which is held.)
      for (let n = 0; n <= K + M; n++) await bus.publish(subject, enc(String(n)));
      await eventually(() => shed.length >= M, `${M} shed`);
      assert.deepEqual(shed, Array.from({ length: M }, (_, i) => K + 1 + i), 'the latest arrivals are shed, in order');
      assert.deepEqual(handled, []);
      release();
      await eventually(() => handled.length >= K + 1, `${K + 1} handled`);
      assert.deepEqual(handled, Array.from({ length: K + 1 }, (_, i) => i));
      // Room again: the next message is handled.
      await bus.publish(subject, enc('9999'));
      await bus.flush();
      await eventually(() => handled.length >= K + 2, 'the message after the flood');
      assert.equal(handled.at(-1), 9999);
      assert.equal(shed.length, M, 'nothing more shed');
    });

    test('maxPendingBytes: what waits is bounded in bytes; one message is always taken into an empty queue', async () => {
      const bus = await open();
      const subject = `${uniqueToken('mpb')}.x`;
      let release: () => void = () => undefined;
      const busy = new Promise<void>((r) => (release = r));
      const handled: string[] = [];
      const shed: string[] = [];
      await bus.subscribe(
        subject,
        async (m) => {
          const s = dec(m.data);
          if (s === 'hold') await busy;
          handled.push(s.slice(0, 4));
        },
        { maxPendingBytes: 1000, onShed: (m) => void shed.push(dec(m.data).slice(0, 4)) },
      );
      await bus.publish(subject, enc('hold'));
      await bus.publish(subject, enc(`big1${'x'.repeat(5000)}`));
      await bus.publish(subject, enc(`big2${'x'.repeat(5000)}`));
      await bus.publish(subject, enc(`sma1${'x'.repeat(100)}`));
      await eventually(() => shed.length >= 2, '2 shed');
      assert.deepEqual(shed, ['big2', 'sma1'], 'big1 fills the queue alone (it was empty); the rest do not fit');
      release();
      await eventually(() => handled.length >= 2, '2 handled');
      assert.deepEqual(handled, ['hold', 'big1']);
    });

    test('invalid subjects are rejected before anything is sent', async () => {
      const bus = await open();
      await assert.rejects(bus.publish('a.*.c', enc('x')));
      await assert.rejects(bus.publish('a..c', enc('x')));
      await assert.rejects(bus.subscribe('a.>.c', () => undefined));
    });
  });
}
