/**
 * `npm run bench -- runtime [--events N] [--embedded-windows 1,64] [--signing main-thread,auto] [--repeat N] [--nats URL] [--skip-nats] [--skip-embedded]`
 *
 * Events/s for: ledger append; append → relay → handle end to end; replay into a
 * projection — on the embedded stack (SQLite + in-process bus) and on JetStream (local
 * server), with raw nats.js async JetStream publish as the baseline in the same run.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { MemoryBus } from '../core/bus/index.ts';
import type { Bus } from '../core/bus/index.ts';
import { JetStreamPublisher, SIGNING_MODES, SqliteEventStore, type SigningMode, type WalCheckpointMode } from '../core/store/index.ts';
import type { CheckpointStore, EventStore } from '../core/store/index.ts';
import { MemoryKeyring } from '../core/ledger/index.ts';
import { Relay } from '../core/runtime/index.ts';
import { silentLogger } from '../core/log/index.ts';
import { isOneOf, type NewEvent } from '../core/envelope/index.ts';
import { JobStarted } from '../schemas/index.ts';
import { formatNumber, benchFlags, oneOfFlag, printTable, wholeFlag, writeResults, type Cell } from './report.ts';
import { sqliteFloor, type FloorMeasured, type SqliteFloor } from './sqlite-floor.ts';

interface Args {
  events: number;
  batch: number;
  window: number;
  /** Appends in flight on the embedded stack, one row each: 1 = a single sequential appender. */
  embeddedWindows: number[];
  /** Where the embedded store signs, one set of rows each (see SqliteStoreOptions.signing). */
  signing: SigningMode[];
  /** Rounds of the embedded configurations, taken in turns; the median run is reported. */
  repeat: number;
  nats: string;
  skipNats: boolean;
  skipEmbedded: boolean;
}

/** The runtime benchmark's flags, checked before anything runs (a usage error is one line, exit 2). */
export function runtimeArgs(argv: string[]): Args {
  const v = benchFlags(argv, {
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '1' },
    window: { type: 'string', default: '256' },
    'embedded-windows': { type: 'string', default: '1,64' },
    signing: { type: 'string', default: 'main-thread,auto' },
    repeat: { type: 'string', default: '1' },
    nats: { type: 'string', default: process.env['NATS_URL'] ?? '127.0.0.1:4222' },
    'skip-nats': { type: 'boolean', default: false },
    'skip-embedded': { type: 'boolean', default: false },
  });
  const embeddedWindows = v['embedded-windows'].split(',').map((w) => wholeFlag('embedded-windows', w.trim()));
  const signing = v.signing.split(',').map((m) => oneOfFlag('signing', m.trim(), SIGNING_MODES));
  return {
    events: wholeFlag('events', v.events),
    batch: wholeFlag('batch', v.batch),
    window: wholeFlag('window', v.window),
    embeddedWindows,
    signing,
    repeat: wholeFlag('repeat', v.repeat),
    nats: v.nats,
    skipNats: v['skip-nats'],
    skipEmbedded: v['skip-embedded'],
  };
}

let seq = 0;
/** A realistic small event (~300 bytes of JSON). */
function event(): NewEvent {
  const n = ++seq;
  return {
    id: `bench-${process.pid}-${n}`,
    type: 'compute.job.started',
    version: 1,
    time: new Date(1_688_169_600_000 + n * 1000).toISOString(),
    source: 'compute',
    correlationId: `corr-${n % 997}`,
    causationId: `cause-${n}`,
    data: { jobId: `job-${n % 5000}`, at: new Date(1_688_169_600_000 + n * 1000).toISOString(), kw: 700 + (n % 100) },
  };
}

const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));

/**
 * The machine is shared, so wall-clock rates move with everyone else's load; the CPU this
 * process spent per event (user + system) is the steadier measure of our own cost.
 */
interface Measured {
  ms: number;
  /** Every thread of this process (a signing worker included). */
  cpuUsPerEvent: number;
  /** The main thread alone, when /proc tells: the share that cannot move to the other core. */
  mainThreadCpuUsPerEvent?: number;
  /** nats-server CPU per event in the same interval, when its /proc entry is readable. */
  serverCpuUsPerEvent?: number;
  load1: number;
}

async function measure(events: number, fn: () => Promise<unknown>, serverPid?: number): Promise<Measured> {
  const s0 = serverPid ? procCpuUs(serverPid) : undefined;
  const m0 = mainThreadCpuUs();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const m1 = mainThreadCpuUs();
  const s1 = serverPid ? procCpuUs(serverPid) : undefined;
  const out: Measured = { ms, cpuUsPerEvent: round1((c.user + c.system) / events), load1: round1(loadavg()[0]!) };
  if (m0 !== undefined && m1 !== undefined) out.mainThreadCpuUsPerEvent = round1((m1 - m0) / events);
  if (s0 !== undefined && s1 !== undefined) out.serverCpuUsPerEvent = round1((s1 - s0) / events);
  return out;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** utime + stime of a process in µs, from /proc (Linux); undefined elsewhere. */
function procCpuUs(pid: number, file = `/proc/${pid}/stat`): number | undefined {
  try {
    const f = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** The main thread's utime + stime in µs (its task id is the pid); undefined off Linux. */
function mainThreadCpuUs(): number | undefined {
  return procCpuUs(process.pid, `/proc/self/task/${process.pid}/stat`);
}

/** The local nats-server's pid, found by the port it listens on (for its CPU per event). */
function natsServerPid(url: string): number | undefined {
  const port = Number(/:(\d+)\s*$/.exec(url)?.[1] ?? 4222);
  try {
    const inodes = new Set<string>();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
          const m = /^socket:\[(\d+)\]$/.exec(link);
          if (m && inodes.has(m[1]!)) return Number(pid);
        }
      } catch {
        // not ours to read
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}

/** Append `n` events in appends of `batch`, with up to `window` appends in flight (to different streams). */
async function appendMany(store: EventStore, n: number, batch: number, window: number): Promise<void> {
  const appends = Math.ceil(n / batch);
  let next = 0;
  const worker = async (w: number) => {
    for (;;) {
      const i = next++;
      if (i >= appends) return;
      const k = Math.min(batch, n - i * batch);
      await store.append(`job-${w}-${i % 50}`, Array.from({ length: k }, event), 'any');
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, window) }, (_, w) => worker(w)));
}

/** Append → relay → a bus subscriber that handles each event (parses it and counts). */
async function endToEnd(store: EventStore, checkpoints: CheckpointStore, bus: Bus, site: string, a: Args, window: number, serverPid?: number): Promise<Measured> {
  const n = a.events;
  let handled = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const sub = await bus.subscribe(`caco.${site}.evt.>`, (m) => {
    JSON.parse(Buffer.from(m.data).toString('utf8'));
    if (++handled === n) done();
  });
  const relay = new Relay({ store, checkpoints, bus, site, log: silentLogger(), name: `bench-relay-${process.pid}-${seq}`, checkpointEvery: 1000 });
  const from = await store.headPosition();
  await checkpoints.put(relay.name, from);
  await relay.start();
  const m = await measure(
    n,
    async () => {
      await appendMany(store, n, a.batch, window);
      await all;
    },
    serverPid,
  );
  await relay.stop();
  await sub.unsubscribe();
  return m;
}

const isStarted = isOneOf([JobStarted]);

/** Passes over the ledger after the first, whose median is the replay figure. */
const WARM_PASSES = 3;

type Replayed = Measured & { events: number; firstPass: Measured };

/**
 * Fold the whole log into a projection (events per type and energy per job), `1 + WARM_PASSES`
 * times. The first pass pays for compiling the read and decode path and for the server
 * loading what it just wrote (on this machine about twice the CPU per event of later passes
 * on a 40,000-event log); a site rebuilding a projection from a real ledger, millions of
 * events, spends almost all of its time in the state of the later passes. So the replay figure
 * is the median of the later passes, and the first pass is reported beside it.
 */
async function replay(store: EventStore, serverPid?: number): Promise<Replayed> {
  const passes: Array<Measured & { events: number }> = [];
  for (let i = 0; i <= WARM_PASSES; i++) passes.push(await replayOnce(store, serverPid));
  const { events: _, ...firstPass } = passes[0]!;
  return { ...medianBy(passes.slice(1), (p) => p.ms / Math.max(1, p.events)), firstPass };
}

/** The median warm pass of several rounds, with the median of their first passes. */
function medianReplay(rs: ReadonlyArray<Replayed>): Replayed {
  return { ...medianBy(rs, (r) => r.ms / Math.max(1, r.events)), firstPass: medianBy(rs, (r) => r.firstPass.ms).firstPass };
}

async function replayOnce(store: EventStore, serverPid?: number): Promise<Measured & { events: number }> {
  const perType = new Map<string, number>();
  const kwByJob = new Map<string, number>();
  let events = 0;
  const m = await measure(
    1,
    async () => {
      for await (const e of store.readAll()) {
        events++;
        perType.set(e.type, (perType.get(e.type) ?? 0) + 1);
        if (isStarted(e)) kwByJob.set(e.data.jobId, (kwByJob.get(e.data.jobId) ?? 0) + e.data.kw);
      }
    },
    serverPid,
  );
  // measure() divided by 1: the count is known only afterwards.
  const per = (x: number) => round1(x / Math.max(1, events));
  return { ...m, cpuUsPerEvent: per(m.cpuUsPerEvent), ...(m.mainThreadCpuUsPerEvent !== undefined ? { mainThreadCpuUsPerEvent: per(m.mainThreadCpuUsPerEvent) } : {}), ...(m.serverCpuUsPerEvent !== undefined ? { serverCpuUsPerEvent: per(m.serverCpuUsPerEvent) } : {}), events };
}

function summary(n: number, m: Measured): Record<string, number> {
  // perCpuS: the rate this process would reach with a core to itself (1e6 / CPU µs per event).
  return { perS: rate(n, m.ms), cpuUsPerEvent: m.cpuUsPerEvent, ...(m.mainThreadCpuUsPerEvent !== undefined ? { mainThreadCpuUsPerEvent: m.mainThreadCpuUsPerEvent } : {}), perCpuS: Math.round(1e6 / m.cpuUsPerEvent), ...(m.serverCpuUsPerEvent !== undefined ? { serverCpuUsPerEvent: m.serverCpuUsPerEvent } : {}), load1: m.load1 };
}

interface Target {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly goal: string;
  readonly met: boolean;
  readonly detail: string;
}

/** The median of `runs` by `key` (the middle one; the upper middle for an even count). */
function medianBy<T>(runs: ReadonlyArray<T>, key: (r: T) => number): T {
  return [...runs].sort((x, y) => key(x) - key(y))[Math.floor(runs.length / 2)]!;
}

/** A networked store's figures: each the median of the rounds, and the ratio to the raw publish of the same round. */
export interface NetworkedStackResult {
  raw: Measured;
  /** The same bytes through the ledger's own publisher (JetStreamPublisher). */
  lean: Measured;
  append: Measured;
  e2e: Measured;
  replay: Replayed;
  /** Append against the nats.js baseline (the target's), and against the same publish through the ledger's publisher. */
  ratio: { wallClock: number; clientCpu: number; serverCpu?: number; vsLeanPublishClientCpu: number };
  allRuns: { rawPerS: number[]; appendPerS: number[]; endToEndPerS: number[]; replayPerS: number[]; replayFirstPassPerS: number[] };
}

/**
 * JetStream: raw async publish of the same bytes (the baseline), then the ledger's append,
 * end to end and replay, on a new site each round; `--repeat` rounds, medians reported. The
 * append/raw ratios are taken within each round (same load) and their median reported.
 */
async function jetStreamRows(a: Args, keyring: MemoryKeyring): Promise<NetworkedStackResult> {
  const { JetStreamEventStore } = await import('../core/store/jetstream-store.ts');
  const { NatsBus, connectNats } = await import('../core/bus/nats-bus.ts');
  const nc = await connectNats({ servers: a.nats, name: 'caco-bench' });
  const jsm = await jetstreamManager(nc);
  const serverPid = natsServerPid(a.nats);
  type Round = { raw: Measured; lean: Measured; append: Measured; e2e: Measured; replay: Replayed };
  const rounds: Round[] = [];
  try {
    for (let rep = 0; rep < a.repeat; rep++) {
      const site = `bench${process.pid}r${rep}`;
      // Baseline: raw async JetStream publish of the same bytes, same window of in-flight publishes.
      const rawStream = `RAW_${site.toUpperCase()}`;
      await jsm.streams.add({ name: rawStream, subjects: [`raw.${site}.>`] });
      const js = jetstream(nc);
      const payloads = Array.from({ length: Math.ceil(a.events / a.batch) }, () => Buffer.from(JSON.stringify(Array.from({ length: a.batch }, () => ({ ...event(), prevHash: '0'.repeat(64), hash: 'f'.repeat(64), sig: 'x'.repeat(88), stream: 'job-1', revision: 0 })))));
      // Every payload published with `window` publishes in flight, each awaited before the next.
      const publishAll = (publish: (subject: string, payload: Uint8Array, msgID: string) => Promise<unknown>, label: string) => {
        let next = 0;
        return measure(
          a.events,
          () =>
            Promise.all(
              Array.from({ length: a.window }, async (_, w) => {
                for (;;) {
                  const i = next++;
                  if (i >= payloads.length) return;
                  await publish(`raw.${site}.job-${w}-${i % 50}`, payloads[i]!, `${label}-${rep}-${i}`);
                }
              }),
            ),
          serverPid,
        );
      };
      const raw = await publishAll((subject, payload, msgID) => js.publish(subject, payload, { msgID }), 'raw');
      // The same bytes through the publisher the ledger appends with (acknowledgements on one
      // reply subscription, core/store/jetstream-publisher.ts): the ledger's own overhead over
      // its transport, beside the nats.js baseline the target is set against.
      const publisher = new JetStreamPublisher(nc);
      const lean = await publishAll((subject, payload, msgID) => publisher.publish(subject, payload, { msgID }), 'lean');
      publisher.close();
      await jsm.streams.delete(rawStream);

      const store = await JetStreamEventStore.connect({ nc, site, keyring });
      const bus = new NatsBus(nc);
      try {
        const append = await measure(a.events, () => appendMany(store, a.events, a.batch, a.window), serverPid);
        const e2e = await endToEnd(store, store, bus, site, a, a.window, serverPid);
        const replayed = await replay(store, serverPid);
        rounds.push({ raw, lean, append, e2e, replay: replayed });
      } finally {
        await store.destroy().catch(() => undefined);
        await store.close();
      }
    }
  } finally {
    await nc.close();
  }
  const ratios = rounds.map((r) => ({
    wallClock: Number((r.append.ms / r.raw.ms).toFixed(3)),
    clientCpu: Number((r.append.cpuUsPerEvent / r.raw.cpuUsPerEvent).toFixed(3)),
    ...(r.append.serverCpuUsPerEvent !== undefined && r.raw.serverCpuUsPerEvent ? { serverCpu: Number((r.append.serverCpuUsPerEvent / r.raw.serverCpuUsPerEvent).toFixed(3)) } : {}),
    vsLeanPublishClientCpu: Number((r.append.cpuUsPerEvent / r.lean.cpuUsPerEvent).toFixed(3)),
  }));
  return {
    raw: medianBy(rounds, (r) => r.raw.ms).raw,
    lean: medianBy(rounds, (r) => r.lean.ms).lean,
    append: medianBy(rounds, (r) => r.append.ms).append,
    e2e: medianBy(rounds, (r) => r.e2e.ms).e2e,
    replay: medianReplay(rounds.map((r) => r.replay)),
    ratio: { ...medianBy(ratios, (r) => r.wallClock), clientCpu: medianBy(ratios, (r) => r.clientCpu).clientCpu, vsLeanPublishClientCpu: medianBy(ratios, (r) => r.vsLeanPublishClientCpu).vsLeanPublishClientCpu },
    allRuns: { rawPerS: rounds.map((r) => rate(a.events, r.raw.ms)), appendPerS: rounds.map((r) => rate(a.events, r.append.ms)), endToEndPerS: rounds.map((r) => rate(a.events, r.e2e.ms)), replayPerS: rounds.map((r) => rate(r.replay.events, r.replay.ms)), replayFirstPassPerS: rounds.map((r) => rate(r.replay.events, r.replay.firstPass.ms)) },
  };
}

/**
 * How fast this machine does the two things every append does, so absolute rates from
 * different machines can be compared (the median of 5 rounds of 2,000).
 */
function machineSpeed(): { ed25519SignUs: number; sha256EventUs: number } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const digest = createHash('sha256').update('calibrate').digest();
  const text = JSON.stringify(event()).padEnd(400, ' ');
  const per = (fn: () => void, n = 2000) => {
    const rounds: number[] = [];
    for (let r = 0; r < 5; r++) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) fn();
      const c = process.cpuUsage(c0);
      rounds.push((c.user + c.system) / n);
    }
    return round1(rounds.sort((x, y) => x - y)[2]!);
  };
  return { ed25519SignUs: per(() => sign(null, digest, privateKey)), sha256EventUs: per(() => createHash('sha256').update(text).digest('hex')) };
}

export async function main(argv: string[]): Promise<void> {
  const a = runtimeArgs(argv);
  const rows: Array<Record<string, Cell>> = [];
  const loadAtStart = loadavg().map(round1);
  const results: Record<string, unknown> = { args: a, loadAverageAtStart: loadAtStart };
  const keyring = new MemoryKeyring('bench');
  const row = (stack: string, step: string, n: number, m: Measured) =>
    rows.push({ stack, step, 'ev/s': rate(n, m.ms), 'CPU µs/ev': m.cpuUsPerEvent, 'main thread CPU µs/ev': m.mainThreadCpuUsPerEvent ?? null, 'ev per CPU-s': Math.round(1e6 / m.cpuUsPerEvent), 'server CPU µs/ev': m.serverCpuUsPerEvent ?? null, load: m.load1 });
  /** The replay's rows and JSON: the warm figure, and the first pass beside it. */
  const replayRows = (stack: string, r: Replayed): Record<string, unknown> => {
    row(stack, `replay (${r.events} events; median of passes 2–${WARM_PASSES + 1})`, r.events, r);
    row(stack, 'replay, first pass', r.events, r.firstPass);
    return { replay: summary(r.events, r), replayFirstPass: summary(r.events, r.firstPass), replayedEvents: r.events };
  };

  // Embedded: SQLite file + in-process bus. Window 1 is one appender awaiting each append
  // (one SQLite commit per append); a wider window is several agents appending at once,
  // whose appends share a commit (group commit).
  // Signing: 'main-thread' signs each event in its append's turn; 'auto' and 'worker' sign in
  // a worker thread (see SqliteStoreOptions.signing), which is loaded before measuring.
  const embedded: Record<string, unknown> = {};
  // With --repeat N the configurations take turns N times (the machine's load drifts), and
  // each keeps the run with the median end-to-end rate; every run's rates are kept too.
  type EmbeddedRun = { append: Measured; e2e: Measured; replay: Replayed };
  // Each configuration: signing × appends in flight, with the store's checkpoint thread; and
  // the sequential appender once more with SQLite's own checkpoints in its commits, the
  // baseline the checkpoint thread is measured against in the same run.
  type EmbeddedConfig = { signing: SigningMode; window: number; walCheckpoints: WalCheckpointMode; key: string; stack: string };
  const configs: EmbeddedConfig[] = [];
  for (const signing of a.signing) for (const w of a.embeddedWindows) {
    configs.push({ signing, window: w, walCheckpoints: 'background', key: `${signing === 'main-thread' ? '' : `${signing}-signing-`}window${w}`, stack: `embedded, ${w} append${w === 1 ? '' : 's'} in flight, signing ${signing}` });
  }
  if (a.embeddedWindows.includes(1) && a.signing.includes('main-thread')) {
    configs.push({ signing: 'main-thread', window: 1, walCheckpoints: 'inline', key: 'inline-checkpoints-window1', stack: 'embedded, 1 append in flight, signing main-thread, checkpoints inline (SQLite\'s default)' });
  }
  const runs = new Map<string, EmbeddedRun[]>();
  let inlineE2ePerS: number | undefined;
  for (let rep = 0; rep < (a.skipEmbedded ? 0 : a.repeat); rep++) {
    for (const c of configs) {
      const dir = mkdtempSync(join(tmpdir(), 'caco-bench-'));
      const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring, pollMs: 5, signing: c.signing, walCheckpoints: c.walCheckpoints });
      await store.warmUp();
      const bus = new MemoryBus();
      const append = await measure(a.events, () => appendMany(store, a.events, a.batch, c.window));
      const e2e = await endToEnd(store, store, bus, 'bench', a, c.window);
      const r = await replay(store);
      runs.set(c.key, [...(runs.get(c.key) ?? []), { append, e2e, replay: r }]);
      await bus.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const c of a.skipEmbedded ? [] : configs) {
    const all = runs.get(c.key)!;
    // Each figure the median of its own runs.
    const append = medianBy(all, (x) => x.append.ms).append;
    const e2e = medianBy(all, (x) => x.e2e.ms).e2e;
    const r = medianReplay(all.map((x) => x.replay));
    const stack = `${c.stack}${a.repeat > 1 ? ` (median of ${a.repeat})` : ''}`;
    row(stack, 'append', a.events, append);
    row(stack, 'append → relay → handle', a.events, e2e);
    if (c.walCheckpoints === 'inline') inlineE2ePerS = rate(a.events, e2e.ms);
    embedded[c.key] = {
      appendsInFlight: c.window,
      signing: c.signing,
      walCheckpoints: c.walCheckpoints,
      append: summary(a.events, append),
      endToEnd: summary(a.events, e2e),
      ...replayRows(stack, r),
      ...(a.repeat > 1 ? { allRuns: { appendPerS: all.map((x) => rate(a.events, x.append.ms)), endToEndPerS: all.map((x) => rate(a.events, x.e2e.ms)) } } : {}),
    };
  }
  results['embedded'] = embedded;
  // The floor under those rows: SQLite alone storing the same rows (and, for a sequential
  // appender, one signature per commit), in this run (bench/sqlite-floor.ts).
  let floor: SqliteFloor | undefined;
  if (!a.skipEmbedded) {
    const dir = mkdtempSync(join(tmpdir(), 'caco-bench-floor-'));
    try {
      floor = await sqliteFloor(dir, a.events, Math.max(...a.embeddedWindows), event);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const floorRow = (step: string, f: FloorMeasured) => rows.push({ stack: 'SQLite alone, the store\'s schema (floor)', step, 'ev/s': f.perS, 'CPU µs/ev': f.cpuUsPerEvent, 'main thread CPU µs/ev': null, 'ev per CPU-s': Math.round(1e6 / f.cpuUsPerEvent), 'server CPU µs/ev': null, load: round1(loadavg()[0]!) });
    floorRow('1 row per transaction', floor.commitPerEvent);
    floorRow('+ 1 signature per transaction', floor.signedCommitPerEvent);
    floorRow(`${floor.groupCommit.groupSize} rows per transaction`, floor.groupCommit);
    results['sqliteFloor'] = floor;
  }

  let js: NetworkedStackResult | undefined;
  if (!a.skipNats) {
    js = await jetStreamRows(a, keyring);
    const stack = `JetStream ledger + NATS bus${a.repeat > 1 ? ` (median of ${a.repeat})` : ''}`;
    row(`raw nats.js JetStream publish${a.repeat > 1 ? ` (median of ${a.repeat})` : ''}`, 'publish (baseline)', a.events, js.raw);
    row(`raw publish through the ledger's publisher${a.repeat > 1 ? ` (median of ${a.repeat})` : ''}`, 'publish', a.events, js.lean);
    row(stack, 'append', a.events, js.append);
    row(stack, 'append → relay → handle', a.events, js.e2e);
    results['jetstream'] = { append: summary(a.events, js.append), endToEnd: summary(a.events, js.e2e), ...replayRows(stack, js.replay), ...(a.repeat > 1 ? { allRuns: js.allRuns } : {}) };
    results['rawJetStreamPublish'] = summary(a.events, js.raw);
    results['rawPublishThroughLedgerPublisher'] = summary(a.events, js.lean);
    results['ledgerAppendCostVsRawPublish'] = js.ratio;
  }
  // PostgreSQL rows (bench/postgres-rows.ts), measured with the same helpers.
  const { postgresRows } = await import('./postgres-rows.ts');
  results['postgres'] = await postgresRows({ events: a.events, batch: a.batch, keyring, measure, appendMany, endToEnd: (s, c, bus, site, w) => endToEnd(s, c, bus, site, a, w), replay, replayRows, summary, row });
  // KurrentDB where available (CACO_KURRENTDB_URL, or a Docker engine to start one on).
  const kurrent = await (await import('./_kurrentdb.ts')).kurrentDbTarget();
  if ('skip' in kurrent) results['kurrentdb'] = { skipped: kurrent.skip };
  else {
    const { KurrentDbEventStore } = await import('../core/store/kurrentdb-store.ts');
    const store = await KurrentDbEventStore.connect({ url: kurrent.url, site: `bench${process.pid}`, keyring, pollMs: 5 });
    try {
      const bus = new MemoryBus();
      const append = await measure(a.events, () => appendMany(store, a.events, a.batch, a.window));
      const e2e = await endToEnd(store, store, bus, 'bench', a, a.window);
      const r = await replay(store);
      const stack = 'KurrentDB ledger (one site log) + in-process bus';
      row(stack, 'append', a.events, append);
      row(stack, 'append → relay → handle', a.events, e2e);
      results['kurrentdb'] = { append: summary(a.events, append), endToEnd: summary(a.events, e2e), ...replayRows(stack, r) };
      await bus.close();
      await store.destroy().catch(() => undefined);
    } finally {
      await store.close();
      await kurrent.stop();
    }
  }
  const loadAtEnd = loadavg().map(round1);
  results['loadAverageAtEnd'] = loadAtEnd;

  printTable(`runtime benchmark: ${a.events.toLocaleString('en-GB')} events, ${a.batch} per append${a.skipNats ? '' : `, ${a.window} appends in flight on JetStream`}; load average ${loadAtStart.join(' ')} at start, ${loadAtEnd.join(' ')} at end`, rows);

  // The targets of issue 14, each met or not, with the CPU per event beside every rate.
  const targets: Target[] = [];
  if (js) {
    targets.push({ name: 'JetStream ledger append vs raw async publish, wall clock', value: js.ratio.wallClock, unit: '×', goal: '≤ 1.5×', met: js.ratio.wallClock <= 1.5, detail: `${rate(a.events, js.append.ms).toLocaleString('en-GB')} against ${rate(a.events, js.raw.ms).toLocaleString('en-GB')} ev/s` });
    targets.push({ name: 'JetStream ledger append vs raw async publish, client CPU', value: js.ratio.clientCpu, unit: '×', goal: '≤ 1.5×', met: js.ratio.clientCpu <= 1.5, detail: `${js.append.cpuUsPerEvent} against ${js.raw.cpuUsPerEvent} CPU µs/ev; ${js.ratio.vsLeanPublishClientCpu}× the same publish through the ledger's publisher (${js.lean.cpuUsPerEvent})` });
    targets.push({ name: 'JetStream end to end (append → relay → handle)', value: rate(a.events, js.e2e.ms), unit: 'ev/s', goal: '≥ 10,000 ev/s', met: rate(a.events, js.e2e.ms) >= 10_000, detail: `${js.e2e.cpuUsPerEvent} CPU µs/ev` });
    targets.push({ name: 'JetStream replay', value: rate(js.replay.events, js.replay.ms), unit: 'ev/s', goal: '≥ 100,000 ev/s', met: rate(js.replay.events, js.replay.ms) >= 100_000, detail: `${js.replay.cpuUsPerEvent} CPU µs/ev, median of passes 2–${WARM_PASSES + 1} over the ledger; the first pass ${rate(js.replay.events, js.replay.firstPass.ms).toLocaleString('en-GB')} ev/s (${js.replay.firstPass.cpuUsPerEvent} CPU µs/ev)` });
  }
  for (const v of Object.values(embedded)) {
    const e = v as { appendsInFlight: number; signing: string; walCheckpoints: WalCheckpointMode; endToEnd: { perS: number; cpuUsPerEvent: number } };
    // The baseline row is not a configuration the target is for.
    if (e.walCheckpoints === 'inline') continue;
    const w = `${e.appendsInFlight} in flight, signing ${e.signing}`;
    if (e.appendsInFlight > 1) targets.push({ name: `embedded end to end (${w})`, value: e.endToEnd.cpuUsPerEvent, unit: 'CPU µs/ev', goal: '≤ 50 CPU µs/ev', met: e.endToEnd.cpuUsPerEvent <= 50, detail: `${e.endToEnd.perS.toLocaleString('en-GB')} ev/s${floor ? `; SQLite alone stores ${floor.groupCommit.groupSize}-row commits at ${floor.groupCommit.cpuUsPerEvent} CPU µs/ev here` : ''}` });
    else targets.push({ name: `embedded end to end, one sequential appender (signing ${e.signing})`, value: e.endToEnd.perS, unit: 'ev/s', goal: '≥ 8,000 ev/s', met: e.endToEnd.perS >= 8_000, detail: `${e.endToEnd.cpuUsPerEvent} CPU µs/ev${floor ? `; the floor here, one SQLite commit + one signature per event, is ${floor.signedCommitPerEvent.perS.toLocaleString('en-GB')} ev/s (this is ${round1(floor.signedCommitPerEvent.perS / e.endToEnd.perS)}× slower)` : ''}${inlineE2ePerS ? `; with checkpoints inline (SQLite's default) ${inlineE2ePerS.toLocaleString('en-GB')} ev/s (signing main-thread), ${round1(e.endToEnd.perS / inlineE2ePerS)}× that` : ''}` });
  }
  const speed = machineSpeed();
  results['machineSpeed'] = speed;
  const load = loadavg().map(round1).join(' ');
  console.log(`\nthis machine: one ed25519 signature ${speed.ed25519SignUs} CPU µs, one SHA-256 of a 400-byte event ${speed.sha256EventUs} CPU µs (the absolute targets were set on a machine that signs in ~25 µs)`);
  console.log(`\ntargets (load average ${load}; wall-clock rates move with the machine's load, CPU µs per event much less):`);
  for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${formatNumber(t.value)} ${t.unit} (target ${t.goal}); ${t.detail}`);
  results['targets'] = targets;
  if ('skip' in kurrent) console.log(`  KurrentDB: skipped (${kurrent.skip})`);
  writeResults('runtime', results);
}
