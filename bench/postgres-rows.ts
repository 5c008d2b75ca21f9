/**
 * The PostgreSQL rows of `npm run bench -- runtime`: append with appends in flight, append →
 * relay → handle end to end, and replay, each with this process's CPU per event. The ledger
 * goes into a schema of its own, dropped afterwards. Set CACO_BENCH_POSTGRES=0 to leave the
 * rows out; the server is CACO_DATABASE_URL (default postgres://root@127.0.0.1:5432/test),
 * and when it does not answer the rows are skipped with the reason.
 *
 * The runtime benchmark hands in its own measuring helpers, so every row is measured alike.
 */
import { MemoryBus } from '../core/bus/index.ts';
import type { Bus } from '../core/bus/index.ts';
import type { Keyring } from '../core/ledger/index.ts';
import type { CheckpointStore, EventStore } from '../core/store/index.ts';

/** What `measure` in bench/runtime.ts returns (the fields used here). */
export interface PgMeasured {
  ms: number;
  cpuUsPerEvent: number;
}

export interface PostgresRowsDeps<M extends PgMeasured> {
  readonly events: number;
  readonly batch: number;
  readonly keyring: Keyring;
  measure(events: number, fn: () => Promise<unknown>): Promise<M>;
  appendMany(store: EventStore, n: number, batch: number, window: number): Promise<void>;
  endToEnd(store: EventStore, checkpoints: CheckpointStore, bus: Bus, site: string, window: number): Promise<M>;
  replay(store: EventStore): Promise<M & { events: number; firstPass: M }>;
  replayRows(stack: string, r: M & { events: number; firstPass: M }): Record<string, unknown>;
  summary(n: number, m: M): Record<string, number>;
  row(stack: string, step: string, n: number, m: M): void;
}

/** Appends in flight for the main rows: several agents appending at once, sharing commits. */
const WINDOW = 64;
/** One appender awaiting each commit pays a full commit (fsync) per append: fewer events. */
const SEQUENTIAL_EVENTS = 1000;

export async function postgresRows<M extends PgMeasured>(d: PostgresRowsDeps<M>): Promise<Record<string, unknown>> {
  if (process.env['CACO_BENCH_POSTGRES'] === '0') return { skipped: 'CACO_BENCH_POSTGRES=0' };
  const url = process.env['CACO_DATABASE_URL'] || 'postgres://root@127.0.0.1:5432/test';
  const { PostgresEventStore } = await import('../core/store/postgres-store.ts');
  const schema = `bench_${process.pid}_${Date.now().toString(36)}`;
  let store;
  try {
    store = await PostgresEventStore.open({ connectionString: url, schema, keyring: d.keyring, pollMs: 50 });
  } catch (err) {
    const reason = `PostgreSQL rows skipped: ${err instanceof Error ? err.message : String(err)}`;
    console.log(reason);
    return { skipped: reason };
  }
  const bus = new MemoryBus();
  try {
    const seqN = Math.min(SEQUENTIAL_EVENTS, d.events);
    const sequential = await d.measure(seqN, () => d.appendMany(store, seqN, d.batch, 1));
    const append = await d.measure(d.events, () => d.appendMany(store, d.events, d.batch, WINDOW));
    const e2e = await d.endToEnd(store, store, bus, 'benchpg', WINDOW);
    const r = await d.replay(store);
    d.row('PostgreSQL ledger, 1 append in flight', 'append', seqN, sequential);
    const stack = `PostgreSQL ledger + in-process bus, ${WINDOW} appends in flight`;
    d.row(stack, 'append', d.events, append);
    d.row(stack, 'append → relay → handle', d.events, e2e);
    return { appendsInFlight: WINDOW, sequentialAppend: d.summary(seqN, sequential), append: d.summary(d.events, append), endToEnd: d.summary(d.events, e2e), ...d.replayRows(stack, r) };
  } finally {
    await bus.close();
    await store.destroy().catch(() => undefined);
    await store.close();
  }
}
