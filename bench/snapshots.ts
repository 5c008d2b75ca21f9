/**
 * `npm run bench -- snapshots [--events N] [--tail K] [--repeat R]`: how long an agent takes
 * to restore a stream of N events (default 100,000) from the whole ledger, and from a
 * snapshot taken K events (default 100) before the head, on the embedded stack. Both read
 * through verify-on-read, as the runtime's agents do. Writes bench/results/snapshots.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../core/envelope/index.ts';
import { MemoryBus } from '../core/bus/index.ts';
import { SimulatedClock } from '../core/clock/index.ts';
import { Uuid7Ids } from '../core/ids/index.ts';
import { MemoryKeyring } from '../core/ledger/index.ts';
import { silentLogger } from '../core/log/index.ts';
import { AgentHost } from '../core/runtime/index.ts';
import { defineAgent } from '../core/runtime/index.ts';
import { MemoryQuarantineStore } from '../core/store/index.ts';
import { SqliteSnapshotStore } from '../core/store/index.ts';
import { SqliteEventStore } from '../core/store/index.ts';
import { VerifiedEventStore } from '../core/store/index.ts';
import { Schema } from 'effect';
import { cacoRegistry, defineEvent, type MessageOf } from '../schemas/index.ts';
import { benchFlags, printTable, wholeFlag, writeResults, type Cell } from './report.ts';

interface Args {
  events: number;
  tail: number;
  repeat: number;
}

/** The snapshot benchmark's flags, checked before anything runs (a usage error is one line, exit 2). */
export function snapshotsArgs(argv: string[]): Args {
  const v = benchFlags(argv, { events: { type: 'string', default: '100000' }, tail: { type: 'string', default: '100' }, repeat: { type: 'string', default: '3' } });
  const events = wholeFlag('events', v.events);
  // A snapshot K events before the head: K below the stream's length.
  return { events, tail: wholeFlag('tail', v.tail, 0, events - 1), repeat: wholeFlag('repeat', v.repeat) };
}

interface Book {
  total: number;
  count: number;
}

const AGENT = 'bench-keeper';

/** The benchmark's own event: the keeper's stream holds nothing else. */
const AccountMoved = defineEvent('bench.account.moved', 1, 'An amount moved on an account (benchmark only)', Schema.Struct({ amount: Schema.Number, note: Schema.String }));

function event(i: number): NewEvent {
  return { id: randomUUID(), type: AccountMoved.type, version: AccountMoved.version, time: '2024-01-01T00:00:00.000Z', source: 'teller', correlationId: `c${i}`, causationId: null, data: { amount: i % 97, note: 'a realistic few dozen bytes of payload' } };
}

async function append(store: SqliteEventStore, from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) await store.append('acct-1', Array.from({ length: Math.min(500, n - i) }, (_, k) => event(from + i + k)), 'any');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round1 = (x: number) => Math.round(x * 10) / 10;

export async function main(argv: string[]): Promise<void> {
  const a = snapshotsArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'caco-bench-snap-'));
  const keyring = new MemoryKeyring('bench');
  const log = silentLogger();
  const inner = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring });
  const snapshots = new SqliteSnapshotStore(join(dir, 'ledger.db'));
  const bus = new MemoryBus();
  const clock = new SimulatedClock(Date.parse('2024-01-01T00:00:00Z'));
  const registry = cacoRegistry();
  const def = defineAgent<Book, MessageOf<typeof AccountMoved>>({
    name: AGENT,
    version: '1.0.0',
    categories: ['acct'],
    initialState: () => ({ total: 0, count: 0 }),
    evolve: (s, e) => {
      s.total += e.data.amount;
      s.count++;
      return s;
    },
    decide: () => [],
    // Taken once, by the first restore below (every = the stream's length before the tail).
    snapshot: { version: 1, every: a.events - a.tail },
  });
  // A fresh verified view per restore, as a restarted process has: no signatures cached.
  const host = (withSnapshots: boolean, verified = true) =>
    new AgentHost(def, {
      site: 'bench',
      store: verified ? new VerifiedEventStore(inner, { keys: keyring, quarantine: new MemoryQuarantineStore(), log }) : inner,
      checkpoints: inner,
      bus,
      clock,
      ids: new Uuid7Ids(clock),
      registry,
      log,
      submit: () => undefined,
      deadLetter: async () => undefined,
      ...(withSnapshots ? { snapshots: { store: snapshots, keyring } } : {}),
    });
  const load0 = loadavg().map(round1);
  try {
    await append(inner, 0, a.events - a.tail);
    const first = host(true);
    await first.restore();
    if (!first.restoreReport?.snapshotTaken) throw new Error('the first restore did not take a snapshot');
    await append(inner, a.events - a.tail, a.tail);

    const runs = { without: [] as number[], with: [] as number[], withoutCpu: [] as number[], withCpu: [] as number[], unverified: [] as number[], unverifiedCpu: [] as number[] };
    let check: { without?: Book; with?: Book; replayed?: number } = {};
    for (let r = 0; r < a.repeat; r++) {
      for (const withSnapshots of [false, true]) {
        const h = host(withSnapshots);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await h.restore();
        const ms = performance.now() - t0;
        const c = process.cpuUsage(c0);
        (withSnapshots ? runs.with : runs.without).push(ms);
        (withSnapshots ? runs.withCpu : runs.withoutCpu).push((c.user + c.system) / 1000);
        if (withSnapshots) check = { ...check, with: { ...h.state }, replayed: h.restoreReport!.replayed };
        else check = { ...check, without: { ...h.state } };
      }
      // For scale: the whole ledger folded without verify-on-read (what the fold and the
      // reads cost alone; the runtime never restores this way).
      const raw = host(false, false);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await raw.restore();
      runs.unverified.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      runs.unverifiedCpu.push((c.user + c.system) / 1000);
    }
    if (JSON.stringify(check.with) !== JSON.stringify(check.without)) throw new Error(`restores disagree: ${JSON.stringify(check)}`);
    if (check.with!.count !== a.events) throw new Error(`restored ${check.with!.count} events, expected ${a.events}`);
    const without = median(runs.without);
    const withSnap = median(runs.with);
    const ratio = without / withSnap;
    const rows: Array<Record<string, Cell>> = [
      { restore: `whole ledger (${a.events.toLocaleString('en-GB')} events)`, 'ms (median)': round1(without), 'CPU ms': round1(median(runs.withoutCpu)), 'events folded': a.events },
      { restore: `snapshot + ${a.tail} events after it`, 'ms (median)': round1(withSnap), 'CPU ms': round1(median(runs.withCpu)), 'events folded': check.replayed ?? null },
      { restore: 'whole ledger without verify-on-read (for scale)', 'ms (median)': round1(median(runs.unverified)), 'CPU ms': round1(median(runs.unverifiedCpu)), 'events folded': a.events },
    ];
    printTable(`agent restore of a ${a.events.toLocaleString('en-GB')}-event stream, embedded stack, verify-on-read (median of ${a.repeat}); load average ${load0.join(' ')} at start`, rows);
    console.log(`\nrestore ${a.events.toLocaleString('en-GB')}-event stream: with snapshot ${round1(withSnap)} ms vs without ${round1(without)} ms (${ratio.toFixed(1)}× faster; CPU ${round1(median(runs.withCpu))} ms vs ${round1(median(runs.withoutCpu))} ms)`);
    console.log('Most of the restore without a snapshot is verify-on-read checking each event\'s signature; the last row shows the fold and the reads alone.');
    writeResults('snapshots', {
      args: a,
      loadAverageAtStart: load0,
      loadAverageAtEnd: loadavg().map(round1),
      withoutSnapshotMs: round1(without),
      withSnapshotMs: round1(withSnap),
      ratio: Number(ratio.toFixed(2)),
      withoutSnapshotCpuMs: round1(median(runs.withoutCpu)),
      unverifiedWholeLedgerMs: round1(median(runs.unverified)),
      withSnapshotCpuMs: round1(median(runs.withCpu)),
      eventsFoldedWithSnapshot: check.replayed,
      allRuns: runs,
    });
  } finally {
    await snapshots.close();
    await inner.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
