/**
 * `npm run bench -- runtime [--events N] [--nats URL] [--skip-nats]`
 *
 * Events/s for: ledger append; append → relay → handle end to end; replay into a
 * projection — on the embedded stack (SQLite + in-process bus) and on JetStream (local
 * server), with raw nats.js async JetStream publish as the baseline in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { MemoryBus } from '../core/bus/memory-bus.ts';
import type { Bus } from '../core/bus/bus.ts';
import { SqliteEventStore } from '../core/store/sqlite-store.ts';
import type { CheckpointStore, EventStore } from '../core/store/event-store.ts';
import { MemoryKeyring } from '../core/ledger/keyring.ts';
import { Relay } from '../core/runtime/relay.ts';
import { silentLogger } from '../core/log/logger.ts';
import type { NewEvent } from '../core/envelope.ts';
import { printTable, writeResults, type Cell } from './report.ts';

interface Args {
  events: number;
  batch: number;
  window: number;
  nats: string;
  skipNats: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { events: 20_000, batch: 1, window: 256, nats: process.env['NATS_URL'] ?? '127.0.0.1:4222', skipNats: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--events') (a.events = Number(v)), i++;
    else if (k === '--batch') (a.batch = Number(v)), i++;
    else if (k === '--window') (a.window = Number(v)), i++;
    else if (k === '--nats') (a.nats = String(v)), i++;
    else if (k === '--skip-nats') a.skipNats = true;
    else throw new Error(`unknown option ${k}; options: --events N --batch K --window W --nats URL --skip-nats`);
  }
  if (!(a.events > 0) || !(a.batch > 0)) throw new Error('--events and --batch must be positive');
  return a;
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

/** Append `n` events in appends of `batch`, with up to `window` appends in flight (to different streams). */
async function appendMany(store: EventStore, n: number, batch: number, window: number): Promise<number> {
  const t0 = performance.now();
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
  return performance.now() - t0;
}

/** Append → relay → a bus subscriber that handles each event (parses it and counts). */
async function endToEnd(store: EventStore, checkpoints: CheckpointStore, bus: Bus, site: string, n: number, batch: number, window: number): Promise<number> {
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
  const t0 = performance.now();
  await appendMany(store, n, batch, window);
  await all;
  const ms = performance.now() - t0;
  await relay.stop();
  await sub.unsubscribe();
  return ms;
}

/** Fold the whole log into a projection: events per type and energy per job. */
async function replay(store: EventStore): Promise<{ ms: number; events: number }> {
  const t0 = performance.now();
  const perType = new Map<string, number>();
  const kwByJob = new Map<string, number>();
  let events = 0;
  for await (const e of store.readAll()) {
    events++;
    perType.set(e.type, (perType.get(e.type) ?? 0) + 1);
    const d = e.data as { jobId: string; kw: number };
    kwByJob.set(d.jobId, (kwByJob.get(d.jobId) ?? 0) + d.kw);
  }
  return { ms: performance.now() - t0, events };
}

export async function main(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const rows: Array<Record<string, Cell>> = [];
  const results: Record<string, unknown> = { args: a };
  const keyring = new MemoryKeyring('bench');

  // Embedded: SQLite file + in-process bus.
  {
    const dir = mkdtempSync(join(tmpdir(), 'caco-bench-'));
    const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring, pollMs: 5 });
    const bus = new MemoryBus();
    const appendMs = await appendMany(store, a.events, a.batch, 1);
    const e2eMs = await endToEnd(store, store, bus, 'bench', a.events, a.batch, 1);
    const r = await replay(store);
    rows.push({ stack: 'embedded (SQLite + memory bus)', 'append ev/s': rate(a.events, appendMs), 'end-to-end ev/s': rate(a.events, e2eMs), 'replay ev/s': rate(r.events, r.ms), 'replayed events': r.events });
    results['embedded'] = { appendPerS: rate(a.events, appendMs), endToEndPerS: rate(a.events, e2eMs), replayPerS: rate(r.events, r.ms), replayedEvents: r.events };
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  if (!a.skipNats) {
    const { JetStreamEventStore } = await import('../core/store/jetstream-store.ts');
    const { NatsBus, connectNats } = await import('../core/bus/nats-bus.ts');
    const site = `bench${process.pid}`;
    const nc = await connectNats({ servers: a.nats, name: 'caco-bench' });
    const jsm = await jetstreamManager(nc);
    try {
      // Baseline: raw async JetStream publish of the same bytes, same window of in-flight publishes.
      const rawStream = `RAW_${site.toUpperCase()}`;
      await jsm.streams.add({ name: rawStream, subjects: [`raw.${site}.>`] });
      const js = jetstream(nc);
      const payloads = Array.from({ length: a.events / a.batch }, () => Buffer.from(JSON.stringify(Array.from({ length: a.batch }, () => ({ ...event(), prevHash: '0'.repeat(64), hash: 'f'.repeat(64), sig: 'x'.repeat(88), stream: 'job-1', revision: 0, position: 0 })))));
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: a.window }, async (_, w) => {
          for (;;) {
            const i = next++;
            if (i >= payloads.length) return;
            await js.publish(`raw.${site}.job-${w}-${i % 50}`, payloads[i]!, { msgID: `raw-${i}` });
          }
        }),
      );
      const rawMs = performance.now() - t0;
      await jsm.streams.delete(rawStream);

      const store = await JetStreamEventStore.connect({ nc, site, keyring });
      const bus = new NatsBus(nc);
      const appendMs = await appendMany(store, a.events, a.batch, a.window);
      const e2eMs = await endToEnd(store, store, bus, site, a.events, a.batch, a.window);
      const r = await replay(store);
      const ratio = appendMs / rawMs;
      rows.push({ stack: 'raw nats.js JetStream publish (baseline)', 'append ev/s': rate(a.events, rawMs), 'end-to-end ev/s': null, 'replay ev/s': null, 'replayed events': null });
      rows.push({ stack: 'JetStream ledger + NATS bus', 'append ev/s': rate(a.events, appendMs), 'end-to-end ev/s': rate(a.events, e2eMs), 'replay ev/s': rate(r.events, r.ms), 'replayed events': r.events });
      results['jetstream'] = { appendPerS: rate(a.events, appendMs), endToEndPerS: rate(a.events, e2eMs), replayPerS: rate(r.events, r.ms), replayedEvents: r.events };
      results['rawJetStreamPublishPerS'] = rate(a.events, rawMs);
      results['ledgerAppendCostVsRawPublish'] = Number(ratio.toFixed(3));
      await jsm.streams.delete(store.streamName).catch(() => undefined);
      await jsm.streams.delete(`KV_caco_${site}_checkpoints`).catch(() => undefined);
      await store.close();
    } finally {
      await nc.close();
    }
  }

  printTable(`runtime benchmark: ${a.events.toLocaleString('en-GB')} events, ${a.batch} per append${a.skipNats ? '' : `, ${a.window} appends in flight on JetStream`}`, rows);
  if (results['ledgerAppendCostVsRawPublish'] !== undefined) {
    const r = results['ledgerAppendCostVsRawPublish'] as number;
    console.log(`\nJetStream ledger append costs ${r.toFixed(2)}× raw async JetStream publish (target ≤ 1.5×): ${r <= 1.5 ? 'met' : 'NOT met'}`);
  }
  const emb = results['embedded'] as { endToEndPerS: number; replayPerS: number };
  console.log(`embedded end to end ${emb.endToEndPerS.toLocaleString('en-GB')} ev/s (target ≥ 20,000): ${emb.endToEndPerS >= 20_000 ? 'met' : 'NOT met'}`);
  console.log(`embedded replay ${emb.replayPerS.toLocaleString('en-GB')} ev/s (target ≥ 200,000): ${emb.replayPerS >= 200_000 ? 'met' : 'NOT met'}`);
  const jsr = results['jetstream'] as { replayPerS: number } | undefined;
  if (jsr) console.log(`JetStream replay ${jsr.replayPerS.toLocaleString('en-GB')} ev/s (target ≥ 100,000): ${jsr.replayPerS >= 100_000 ? 'met' : 'NOT met'}`);
  writeResults('runtime', results);
}
