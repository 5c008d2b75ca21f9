// test-file-timeout: 1200
/**
 * The ledger at 3 replicas on a real 3-node cluster (made from deploy/nats) while a simulated
 * day of the site runs on it, with one fault injected mid-run per test: the stream leader
 * killed, a follower killed, a whole node killed and restarted, the leader paused (SIGSTOP)
 * long enough for a new one to be elected. After each: no event lost or duplicated, the head
 * hash and the totals equal to the embedded reference run of the same seed, and the time the
 * site took to make progress again is reported.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { firstDifference, simulate } from './simulate-on.ts';
import { NatsCluster } from '../../deploy/local/nats-cluster.ts';
import { natsServerInstalled } from '../../deploy/local/nats-server.ts';
import { checkRawLedger } from './raw-ledger.ts';
import { retryWhileUnavailable } from '../../core/store/nats-retry.ts';

const FAULT_SLOT = 12;

const skip = natsServerInstalled() || process.env['CI'] === 'true' ? false : 'nats-server is not installed (apt-get install nats-server)';

interface Fault {
  readonly name: string;
  /** Runs at FAULT_SLOT; returns when the fault is in place (and, for transient faults, over). */
  inject(cluster: NatsCluster, stream: string): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FAULTS: Fault[] = [
  { name: 'the ledger stream leader is killed', inject: async (c, s) => c.kill(await c.leaderOf(s)) },
  {
    name: 'a follower is killed',
    inject: async (c, s) => {
      const leader = await c.leaderOf(s);
      await c.kill(c.names.find((n) => n !== leader)!);
    },
  },
  {
    name: 'the leader node is killed and restarted',
    inject: async (c, s) => {
      const leader = await c.leaderOf(s);
      await c.kill(leader);
      await sleep(3000);
      await c.restart(leader);
    },
  },
  {
    name: 'the leader is paused (SIGSTOP) long enough for a new leader, then resumed',
    inject: async (c, s) => {
      const leader = await c.leaderOf(s);
      c.pause(leader);
      await sleep(8000);
      c.resume(leader);
    },
  },
];

/** The site's ledger stream; asked again through an election (the machine may be busy). */
function ledgerStream(cluster: NatsCluster, site: string): Promise<string> {
  return retryWhileUnavailable(() => ledgerStreamOnce(cluster, site), { budgetMs: 30_000 });
}

async function ledgerStreamOnce(cluster: NatsCluster, site: string): Promise<string> {
  const nc = await connect({ servers: cluster.urls.split(','), timeout: 2000, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc);
    const prefix = `CACO_${site.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
    for await (const name of jsm.streams.names()) if (name.startsWith(prefix) && !name.endsWith('-ANCHOR')) return name;
    throw new Error(`no ledger stream starting with ${prefix} on the cluster`);
  } finally {
    await nc.close();
  }
}

describe('ledger at 3 replicas on a 3-node cluster, faults mid-run', { skip, timeout: 1_100_000 }, () => {
  let cluster: NatsCluster | undefined;
  let reference: Awaited<ReturnType<typeof simulate>>;

  before(async () => {
    reference = await simulate('fault-ref', { store: 'sqlite' }, '7');
    assert.ok(reference.ok && reference.events > 100, `a real reference run (${reference.events} events)`);
  });
  after(async () => {
    await cluster?.dispose();
  });

  for (const [i, fault] of FAULTS.entries()) {
    test(fault.name, { timeout: 240_000 }, async (t) => {
      // A fresh cluster per fault: each starts from three healthy nodes.
      await cluster?.dispose();
      cluster = await NatsCluster.start();
      const c = cluster;
      const site = `fault-${i}`;
      let faultAt = 0;
      let injected: Promise<string> | undefined;
      const run = await simulate(
        site,
        { store: 'jetstream', natsUrl: c.urls, replicas: 3 },
        '7',
        (slot) => {
          if (slot !== FAULT_SLOT || injected) return;
          faultAt = Date.now();
          injected = ledgerStream(c, site).then(async (s) => {
            await fault.inject(c, s);
            return s;
          });
        },
        { refold: true },
      );
      const stream = await injected;
      assert.ok(faultAt > 0 && stream !== undefined, 'the fault was injected');
      // What the server holds, read raw: a failure below then says whether the server lost
      // or reordered messages, or a reader misread them.
      const raw = await checkRawLedger(c.urls, stream);
      const rawLine = `server holds ${raw.events} events in ${raw.messages} messages; ${raw.breaks.length} breaks${raw.breaks.length ? ': ' + raw.breaks.slice(0, 5).join('; ') : ''}`;
      t.diagnostic(`${fault.name}: ${rawLine}`);
      assert.deepEqual(raw.breaks, [], `every ledger stream's revisions follow on, as the server holds them (${rawLine})`);
      assert.ok(run.ok, `the ledger verifies (${rawLine}; audit: ${run.problems})`);
      // Said in every message below: where this run's ledger first parts from the reference's.
      const parted = firstDifference(run, reference) || 'the same events in the same order';
      assert.equal(new Set(run.ids).size, run.ids.length, `no event is stored twice (${parted})`);
      assert.equal(run.events, reference.events, `no event is lost (${rawLine}; ${parted})`);
      assert.equal(run.head, reference.head, `the head hash equals the embedded run (${parted})`);
      assert.deepEqual(run.totals, reference.totals, `${parted}${isDeepStrictEqual(run.totals, run.totalsAgain) ? '' : `; read again, the same ledger gave ${JSON.stringify(run.totalsAgain)}: the first read of it was short`}`);
      // Recovery: from the fault to the next slot the site completed, against the usual slot time.
      const after = run.slotsAt.find((s) => s.at > faultAt);
      const gaps = run.slotsAt.slice(1).map((s, k) => s.at - run.slotsAt[k]!.at).sort((a, b) => a - b);
      const recoveryMs = after ? after.at - faultAt : NaN;
      t.diagnostic(`${fault.name}: site made progress again ${recoveryMs} ms after the fault (median slot ${gaps[Math.floor(gaps.length / 2)]} ms)`);
    });
  }
});
