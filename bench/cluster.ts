/**
 * `npm run bench -- cluster`: the ledger on a real 3-node JetStream cluster (made from
 * deploy/nats) against one node, in the same run.
 *
 *   - append throughput: the same appends (batch, in-flight window) to a 3-replica ledger on
 *     the cluster and to a 1-replica ledger on a single server; the ratio is the price of
 *     replication;
 *   - recovery after a leader kill: one appender runs continuously while the ledger stream's
 *     leader is killed (SIGKILL); recovery is the time from the kill to the next acknowledged
 *     append. The node is restarted and the kill repeated; p50 and max over the kills;
 *   - soak (--soak-minutes N, default 0): the simulated site on the cluster, day after day, for
 *     N minutes of wall time, sampling memory and the simulated-to-wall speed.
 *
 * Options: --events N (default 20000) --batch N (4) --window N (32) --kills N (5)
 *          --soak-minutes N (0) --no-write
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../core/envelope/index.ts';
import { MemoryKeyring } from '../core/ledger/index.ts';
import { JetStreamEventStore } from '../core/store/index.ts';
import { loadConfig } from '../core/config/index.ts';
import { runSimulation } from '../sim/index.ts';
import { siteConfig } from '../agents/compute/jobs/index.ts';
import { NatsCluster } from '../deploy/local/index.ts';
import { NatsServerProcess } from '../deploy/local/index.ts';
import { benchFlags, numberFlag, percentile, printTable, wholeFlag, writeResults, type Cell } from './report.ts';
import { DAY_MS } from '../core/time/index.ts';

interface Args {
  events: number;
  batch: number;
  window: number;
  kills: number;
  soakMinutes: number;
  write: boolean;
}

/** The cluster benchmark's flags, checked before any server starts (a usage error is one line, exit 2). */
export function clusterArgs(argv: string[]): Args {
  const v = benchFlags(argv, {
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '4' },
    window: { type: 'string', default: '32' },
    kills: { type: 'string', default: '5' },
    'soak-minutes': { type: 'string', default: '0' },
    'no-write': { type: 'boolean', default: false },
  });
  // Counts: events, events per append and appends in flight are ≥ 1 (a batch of 0 divides by it).
  return {
    events: wholeFlag('events', v.events),
    batch: wholeFlag('batch', v.batch),
    window: wholeFlag('window', v.window),
    kills: wholeFlag('kills', v.kills, 0),
    soakMinutes: numberFlag('soak-minutes', v['soak-minutes'], 0),
    write: !v['no-write'],
  };
}

let seq = 0;
function event(): NewEvent {
  const n = ++seq;
  return {
    id: `cluster-bench-${process.pid}-${n}`,
    type: 'compute.job.started',
    version: 1,
    time: new Date(1_688_169_600_000 + n * 1000).toISOString(),
    source: 'compute',
    correlationId: `corr-${n % 997}`,
    causationId: null,
    data: { jobId: `job-${n % 5000}`, kw: 700 + (n % 100) },
  };
}

async function appendThroughput(servers: string, replicas: number, a: Args): Promise<{ evPerS: number; ms: number; cpuUsPerEvent: number }> {
  const store = await JetStreamEventStore.connect({ servers, site: `bench-${replicas}r-${process.pid}`, keyring: new MemoryKeyring('cluster-bench'), replicas });
  try {
    const appends = Math.ceil(a.events / a.batch);
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: a.window }, async (_, w) => {
        for (;;) {
          const i = next++;
          if (i >= appends) return;
          await store.append(`job-${w}-${i % 50}`, Array.from({ length: Math.min(a.batch, a.events - i * a.batch) }, event), 'any');
        }
      }),
    );
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { evPerS: Math.round(a.events / (ms / 1000)), ms: Math.round(ms), cpuUsPerEvent: Number(((cpu.user + cpu.system) / a.events).toFixed(1)) };
  } finally {
    await store.destroy().catch(() => undefined);
    await store.close();
  }
}

/** One appender; each kill of the stream leader is timed to the next acknowledged append. */
async function leaderKills(cluster: NatsCluster, kills: number): Promise<number[]> {
  const store = await JetStreamEventStore.connect({ servers: cluster.urls, site: `bench-kill-${process.pid}`, keyring: new MemoryKeyring('cluster-bench'), replicas: 3 });
  const recoveries: number[] = [];
  let stop = false;
  // When the last acknowledged append was sent: an acknowledgement already on its way at the
  // kill does not count as recovery; the first append sent after the kill does.
  let lastAckSentAt = 0;
  let lastAck = Date.now();
  const appender = (async () => {
    let rev: number | 'no-stream' = 'no-stream';
    while (!stop) {
      const sentAt = Date.now();
      const r = await store.append('kill-test', [event()], rev);
      rev = r.nextExpected;
      lastAck = Date.now();
      lastAckSentAt = sentAt;
    }
  })();
  try {
    for (let k = 0; k < kills; k++) {
      await new Promise((r) => setTimeout(r, 2000));
      const leader = await cluster.leaderOf(store.streamName);
      const killedAt = Date.now();
      await cluster.kill(leader);
      // Wait for the first acknowledgement after the kill (bounded: a failure is reported, not waited on for ever).
      const deadline = killedAt + 120_000;
      while (lastAckSentAt < killedAt && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (lastAckSentAt < killedAt) throw new Error(`no append acknowledged within 120 s after killing ${leader}`);
      recoveries.push(lastAck - killedAt);
      console.log(`  kill ${k + 1}/${kills}: ${leader} killed, appends resumed after ${lastAck - killedAt} ms`);
      await cluster.restart(leader);
      await cluster.waitReady();
    }
  } finally {
    stop = true;
    await appender.catch((err: unknown) => console.error(`appender: ${err instanceof Error ? err.message : String(err)}`));
    await store.destroy().catch(() => undefined);
    await store.close();
  }
  return recoveries;
}

interface SoakSample {
  wallS: number;
  simDays: number;
  rssMb: number;
  heapMb: number;
}

async function soak(cluster: NatsCluster, minutes: number): Promise<{ samples: SoakSample[]; simDays: number; speedup: number; events: number }> {
  const endAt = Date.now() + minutes * 60_000;
  const t0 = Date.now();
  const samples: SoakSample[] = [];
  let simDays = 0;
  let events = 0;
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({ wallS: Math.round((Date.now() - t0) / 1000), simDays, rssMb: Math.round(m.rss / 1e6), heapMb: Math.round(m.heapUsed / 1e6) });
  };
  const timer = setInterval(sample, 10_000);
  sample();
  try {
    for (let day = 0; Date.now() < endAt; day++) {
      const dir = mkdtempSync(join(tmpdir(), 'caco-soak-'));
      const config = loadConfig({ env: { CACO_SITE: `soak-${day}`, CACO_BUS: 'memory', CACO_STORE: 'jetstream', NATS_URL: cluster.urls, CACO_REPLICAS: '3', LOG_LEVEL: 'error' } });
      try {
        const run = await runSimulation({ config: { ...config, dataDir: dir }, seed: String(day), fromMs: Date.parse('2023-07-03T00:00:00Z') + (day % 60) * DAY_MS, days: 1, site: siteConfig(), outDir: join(dir, 'run'), baselines: false });
        events += run.audit.events;
        if (!run.audit.ok) throw new Error(`soak day ${day}: the ledger does not verify`);
        await (run.stack.store as { destroy?: () => Promise<void> }).destroy?.();
        await run.close();
        simDays++;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    clearInterval(timer);
    sample();
  }
  const wallS = (Date.now() - t0) / 1000;
  return { samples, simDays, speedup: Math.round((simDays * 86_400) / wallS), events };
}

export async function main(argv: string[]): Promise<void> {
  const a = clusterArgs(argv);
  const load0 = loadavg()[0]!;
  const single = await NatsServerProcess.start();
  const cluster = await NatsCluster.start();
  const results: Record<string, unknown> = { options: a };
  try {
    const one = await appendThroughput(single.url, 1, a);
    const three = await appendThroughput(cluster.urls, 3, a);
    const rows: Record<string, Cell>[] = [
      { ledger: 'one node, 1 replica', 'ev/s': one.evPerS, 'client CPU µs/ev': one.cpuUsPerEvent, 'wall ms': one.ms },
      { ledger: '3-node cluster, 3 replicas', 'ev/s': three.evPerS, 'client CPU µs/ev': three.cpuUsPerEvent, 'wall ms': three.ms },
    ];
    printTable(`Ledger append, ${a.events} events in appends of ${a.batch}, ${a.window} in flight (load ${load0.toFixed(2)})`, rows);
    const ratio = Number((three.evPerS / one.evPerS).toFixed(3));
    console.log(`3-replica cluster / single node: ${ratio}×`);
    results['append'] = { singleNode: one, cluster3: three, clusterToSingleRatio: ratio };

    if (a.kills > 0) {
      console.log(`\nLeader kills (${a.kills}), one appender running:`);
      const rec = await leaderKills(cluster, a.kills);
      const r = { kills: rec.length, recoveryMs: rec, p50Ms: percentile(rec, 50), maxMs: Math.max(...rec) };
      printTable('Recovery after killing the ledger stream leader', [{ kills: r.kills, 'p50 ms': r.p50Ms, 'max ms': r.maxMs }]);
      results['leaderKill'] = r;
    }

    if (a.soakMinutes > 0) {
      console.log(`\nSoak: the simulated site on the cluster for ${a.soakMinutes} min ...`);
      const s = await soak(cluster, a.soakMinutes);
      const first = s.samples[1] ?? s.samples[0]!;
      const last = s.samples[s.samples.length - 1]!;
      printTable(`Soak (${a.soakMinutes} min)`, [
        { 'simulated days': s.simDays, events: s.events, 'sim/wall speed': `${s.speedup}×`, 'RSS MB start→end': `${first.rssMb}→${last.rssMb}`, 'heap MB start→end': `${first.heapMb}→${last.heapMb}` },
      ]);
      results['soak'] = { minutes: a.soakMinutes, ...s, rssGrowthMb: last.rssMb - first.rssMb, heapGrowthMb: last.heapMb - first.heapMb, lag: 'lockstep: every step waits until every subscriber has handled what was appended, so lag at a step boundary is 0 by construction' };
    }
    results['loadAverage'] = { start: Number(load0.toFixed(2)), end: Number(loadavg()[0]!.toFixed(2)) };
    if (a.write) writeResults('cluster', results);
  } finally {
    await cluster.dispose();
    await single.dispose();
  }
}

