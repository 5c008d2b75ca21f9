/**
 * A quick probe of the JetStream ledger against raw nats.js JetStream publish (not one of the
 * listed benchmarks: the runner ignores files starting with "_").
 *
 *   nice -n 10 npx tsx bench/_nats-probe.ts [--events N] [--window W] [--streams S] [--batch K] [--own-server 1]
 *
 * With --own-server 1 it runs against a nats-server of its own (no one else's traffic) and
 * also reports the server's CPU time per step, read from /proc.
 */
import { readFileSync } from 'node:fs';
import { NatsServerProcess } from '../deploy/local/index.ts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../core/bus/index.ts';
import { JetStreamEventStore } from '../core/store/index.ts';
import { MemoryKeyring } from '../core/ledger/index.ts';
import type { NewEvent } from '../core/envelope/index.ts';

const args = new Map<string, number>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), Number(process.argv[i + 1]));
const N = args.get('events') ?? 20_000;
const W = args.get('window') ?? 256;
const S = args.get('streams') ?? 1000;
const B = args.get('batch') ?? 1;

let n = 0;
const event = (): NewEvent => {
  n++;
  return {
    id: `probe-${process.pid}-${n}`,
    type: 'compute.job.started',
    version: 1,
    time: new Date(1_688_169_600_000 + n * 1000).toISOString(),
    source: 'compute',
    correlationId: `corr-${n % 997}`,
    causationId: `cause-${n}`,
    data: { jobId: `job-${n % 5000}`, at: new Date(1_688_169_600_000 + n * 1000).toISOString(), kw: 700 + (n % 100) },
  };
};

const own = args.get('own-server') === 1 ? await NatsServerProcess.start() : undefined;
/** Server CPU ms (utime + stime) from /proc, when we run the server. */
const serverCpu = (): number => {
  const pid = own?.pid;
  if (!pid) return 0;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const cpu: Record<string, string> = {};
let cpuMark = process.cpuUsage();
let serverMark = serverCpu();
function lap(name: string): void {
  const u = process.cpuUsage(cpuMark);
  const s = serverCpu() - serverMark;
  cpu[name] = `client ${((u.user + u.system) / 1000).toFixed(0)} ms` + (own ? `, server ${s} ms` : '');
  cpuMark = process.cpuUsage();
  serverMark = serverCpu();
}

async function pool(count: number, window: number, fn: (i: number, w: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: window }, async (_, w) => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        await fn(i, w);
      }
    }),
  );
  return performance.now() - t0;
}

const nc = await connectNats({ name: 'caco-probe', ...(own ? { servers: own.url } : {}) });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const site = `probe${process.pid}`;
const appends = Math.ceil(N / B);
const rate = (k: number, ms: number) => Math.round(k / (ms / 1000)).toLocaleString('en-GB');

// Raw baseline: same bytes, same window, msg ids.
const raw = `RAW_${site.toUpperCase()}`;
await jsm.streams.add({ name: raw, subjects: [`raw.${site}.>`] });
const payloads = Array.from({ length: appends }, () => Buffer.from(JSON.stringify(Array.from({ length: B }, () => ({ ...event(), prevHash: '0'.repeat(64), hash: 'f'.repeat(64), sig: 'x'.repeat(88), stream: 'job-1', revision: 0 })))));
lap('setup');
const rawMs = await pool(appends, W, (i) => js.publish(`raw.${site}.job-${i % S}`, payloads[i]!, { msgID: `raw-${i}` }));
lap('raw');
await jsm.streams.delete(raw);

const store = await JetStreamEventStore.connect({ nc, site, keyring: new MemoryKeyring('probe') });
// Each worker owns its streams (as agents do), so appends do not wait on each other's locks.
const appendMs = await pool(appends, W, (i, w) => store.append(`job-${w}-${Math.floor(i / W) % Math.max(1, Math.floor(S / W))}`, Array.from({ length: B }, event), 'any'));
lap('append-new');
const again = await pool(appends, W, (i, w) => store.append(`job-${w}-${Math.floor(i / W) % Math.max(1, Math.floor(S / W))}`, Array.from({ length: B }, event), 'any'));

lap('append-cached');
let count = 0;
const t0 = performance.now();
for await (const e of store.readAll()) if (e.revision >= 0) count++;
const readMs = performance.now() - t0;
lap('readAll');

let subCount = 0;
const t1 = performance.now();
const sub = await store.subscribeAll(() => void subCount++);
await sub.caughtUp();
const subMs = performance.now() - t1;
lap('subscribeAll');
await sub.close();

console.log(`events ${N.toLocaleString('en-GB')}, ${B} per append, window ${W}, streams ~${S}`);
console.log(`raw js.publish          ${rate(N, rawMs)} ev/s`);
console.log(`ledger append (new)     ${rate(N, appendMs)} ev/s   ratio ${(appendMs / rawMs).toFixed(2)}×`);
console.log(`ledger append (cached)  ${rate(N, again)} ev/s   ratio ${(again / rawMs).toFixed(2)}×`);
console.log(`readAll replay          ${rate(count, readMs)} ev/s (${count} events)`);
console.log(`subscribeAll catch-up   ${rate(subCount, subMs)} ev/s (${subCount} events)`);
console.log('CPU per step:', cpu, `load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
await store.destroy();
await store.close();
await nc.close();
await own?.dispose();
