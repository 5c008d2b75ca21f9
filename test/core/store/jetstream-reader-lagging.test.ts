// test-file-timeout: 30
/**
 * A range read of a replicated stream must not end short when its consumer is placed on a
 * replica that lags the leader (one just resumed after a SIGSTOP, as the cluster fault test
 * does): the consumer says "nothing more" at the replica's last message, and the reader must
 * ask the leader before it believes that. Faked here with a pull-consumer double, so the
 * placement (the thing a real 3-node cluster only does sometimes) is chosen by the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { readRange } from '../../../core/store/jetstream-reader.ts';

const STREAM = 'CACO_LAG';

/** A stream whose leader holds 1..leaderLast and whose lagging replica holds 1..replicaLast. */
function cluster(leaderLast: number, replicaLast: number, laggingCreations: number, o: { stallFirst?: boolean; getTimeouts?: number; staleNextAnswers?: number } = {}) {
  let creations = 0;
  let stale = o.staleNextAnswers ?? 0;
  let timeouts = o.getTimeouts ?? 0;
  let onMsg: ((err: Error | null, m: Msg) => void) | undefined;
  const consumers = new Map<string, { held: number; next: number; dseq: number }>();
  const nc = {
    subscribe(_inbox: string, opts: { callback: (err: Error | null, m: Msg) => void }) {
      onMsg = opts.callback;
      return { unsubscribe() {} };
    },
    publish(subject: string, data: string) {
      const name = subject.split('.').at(-1)!;
      const c = consumers.get(name)!;
      // A consumer that never answers (lost on a node that went away): the reader's stall timer.
      if (o.stallFirst && name === 'c1') return;
      const { batch } = JSON.parse(data) as { batch: number };
      setImmediate(() => {
        let sent = 0;
        for (; sent < batch && c.next <= c.held; sent++, c.next++) {
          const seq = c.next;
          const reply = `$JS.ACK.${STREAM}.${name}.1.${seq}.${++c.dseq}.0.${c.held - seq}`;
          onMsg?.(null, { subject: 'lag.a', data: new TextEncoder().encode(String(seq)), reply } as unknown as Msg);
        }
        // What a real pull answers when it ends owing messages: 404 with none left to give.
        if (sent < batch) onMsg?.(null, { subject: '', data: new Uint8Array(), reply: '', headers: { code: 404, get: () => String(batch - sent) } } as unknown as Msg);
      });
    },
  };
  const jsm = {
    consumers: {
      async add(_stream: string, cfg: { opt_start_seq: number }) {
        const held = creations++ < laggingCreations ? replicaLast : leaderLast;
        const name = `c${creations}`;
        consumers.set(name, { held, next: cfg.opt_start_seq, dseq: 0 });
        return { name, num_pending: Math.max(0, held - cfg.opt_start_seq + 1) };
      },
      async delete() {
        return true;
      },
    },
    streams: {
      // STREAM.MSG.GET: the leader answers.
      async getMessage(_stream: string, q: { seq: number; next_by_subj?: string }) {
        // Through an election the leader's answer times out before it comes.
        if (timeouts > 0) {
          timeouts--;
          throw Object.assign(new Error('timeout'), { name: 'TimeoutError' });
        }
        // A leader resumed from a pause answers "next on the subject" from where it stopped,
        // as the replica, until it learns of the new term; a get by sequence is the leader's.
        if (q.next_by_subj !== undefined && stale > 0) {
          stale--;
          return q.seq <= replicaLast ? { seq: q.seq, subject: 'lag.a' } : null;
        }
        return q.seq <= leaderLast ? { seq: q.seq, ...(o.staleNextAnswers !== undefined ? { subject: 'lag.a' } : {}) } : null;
      },
    },
  };
  return { nc: nc as unknown as NatsConnection, jsm: jsm as unknown as JetStreamManager, creations: () => creations };
}

async function readAll(c: ReturnType<typeof cluster>, endSeq: number, stallMs = 2000): Promise<number[]> {
  const seqs: number[] = [];
  for await (const chunk of readRange({ nc: c.nc, jsm: c.jsm, stream: STREAM, filter: 'lag.>', startSeq: 1, endSeq, batch: 16, stallMs })) {
    for (const m of chunk) seqs.push(m.seq);
  }
  return seqs;
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('a consumer on a lagging replica does not end the read short: the leader is asked, and the rest is read', async () => {
  const c = cluster(100, 60, 1);
  assert.deepEqual(await readAll(c, 100), upTo(100));
  assert.equal(c.creations(), 2, 'the consumer was re-created once, after the lagging one ended at 60');
});

test('a replica that lags for several creations is waited for, not believed', async () => {
  const c = cluster(50, 20, 3);
  assert.deepEqual(await readAll(c, 50), upTo(50));
});

test('a range whose last messages are gone on the leader too ends where the leader ends, without a re-read', async () => {
  const c = cluster(40, 40, 0);
  assert.deepEqual(await readAll(c, 45), upTo(40));
  assert.equal(c.creations(), 1);
});

test('a stalled consumer whose first message the leader cannot answer for (a time-out in an election) is re-created, not stepped over as gone', async () => {
  const c = cluster(30, 30, 0, { stallFirst: true, getTimeouts: 1 });
  assert.deepEqual(await readAll(c, 30, 200), upTo(30));
});

test('a "nothing more" from a node behind, while the range\'s last message is there, is asked again, not believed', async () => {
  // The consumer on the resumed replica ends at 60 and the stale "leader" agrees twice; the
  // message at the end of the range is still there: before, the read ended at 60, silently.
  const c = cluster(100, 60, 2, { staleNextAnswers: 2 });
  assert.deepEqual(await readAll(c, 100), upTo(100));
});

