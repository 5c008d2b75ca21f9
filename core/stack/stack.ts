import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { distrustSchema, ledgerSchemaProblem } from '../store/sqlite-untrusted.ts';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors/errors.ts';
import type { Bus } from '../bus/bus.ts';
import { MemoryBus } from '../bus/memory-bus.ts';
import type { CacoConfig } from '../config/config.ts';
import type { CheckpointStore, EventStore } from '../store/event-store.ts';
import { REQUIRED_EVENT_COLUMNS, SqliteEventStore } from '../store/sqlite-store.ts';
import { FileKeyring, MemoryKeyring, type Keyring } from '../ledger/keyring.ts';
import { lazySnapshotStore, type SnapshotStore } from '../runtime/snapshot.ts';
import { createLogger } from '../log/logger.ts';
import { replicatedLedgerDefect } from '../store/nats-server-defects.ts';
import type { TableLedger } from '../store/table-ledger-continuity.ts';

/** The bus, store, checkpoints and keyring a configuration asks for, opened and ready. */
export interface Stack {
  readonly config: CacoConfig;
  readonly bus: Bus;
  readonly store: EventStore;
  readonly checkpoints: CheckpointStore;
  readonly keyring: Keyring;
  /** The site name the NATS resources carry (the config's, or `natsSite`). */
  readonly site: string;
  /** The SQLite ledger file, when the store is SQLite. */
  readonly sqlitePath?: string;
  /** Where the anchor file goes by default for a ledger that is not a file (PostgreSQL). */
  readonly anchorFile?: string;
  /** Where agents that opt in keep snapshots (SQLite table, JetStream KV bucket); none on KurrentDB yet. */
  readonly snapshots?: SnapshotStore;
  close(): Promise<void>;
}

export interface OpenStackOptions {
  /** Keep keys only in memory (tests, benchmarks). */
  readonly ephemeralKeys?: boolean;
  /** SQLite file to use instead of `<dataDir>/<site>/ledger.db`. */
  readonly sqlitePath?: string;
  /** Site name in NATS resources, when it must differ from the config's (isolated runs). */
  readonly natsSite?: string;
  /** Fail instead of creating an empty ledger (commands that only read). */
  readonly mustExist?: boolean;
  /** The keys folder, when it is not `<dataDir>/<site>/keys` (a stream's site that is not the config's). */
  readonly keysDir?: string;
  /**
   * A site that writes: refuse to open a ledger its checkpoints do not belong to
   * (core/store/ledger-continuity.ts for JetStream, table-ledger-continuity.ts for SQLite and
   * PostgreSQL); `init: true` starts a new one explicitly.
   */
  readonly ledgerContinuity?: { readonly init: boolean };
}

/** The start-up check of a table ledger (loaded only by the sites that run it). */
async function checkTableLedger(store: TableLedger, site: string, where: string, o: { readonly init: boolean }): Promise<void> {
  const { checkTableLedgerContinuity } = await import('../store/table-ledger-continuity.ts');
  await checkTableLedgerContinuity(store, site, where, o);
}

function creds(config: CacoConfig): { credentials?: string } {
  return config.natsCreds ? { credentials: config.natsCreds } : {};
}

/**
 * Why the file at `path` cannot be read as a CACO ledger (undefined when it can): not a
 * SQLite file, no events table, or an events table without the ledger's columns. Opened
 * read-only, so a file given to a reader is never changed by the check.
 */
function ledgerFileProblem(path: string): string | undefined {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    return `cannot be opened as SQLite (${err instanceof Error ? err.message : String(err)})`;
  }
  try {
    distrustSchema(db);
    const hostile = ledgerSchemaProblem(db);
    if (hostile !== undefined) return hostile;
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get() === undefined) return 'has no events table';
    const have = new Set(db.prepare<[], { name: string }>('PRAGMA table_info(events)').all().map((c) => c.name));
    const missing = REQUIRED_EVENT_COLUMNS.filter((c) => !have.has(c));
    return missing.length ? `its events table is missing columns ${missing.join(', ')}` : undefined;
  } catch (err) {
    return `cannot be read as SQLite (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    db.close();
  }
}

export function siteDir(config: CacoConfig): string {
  return join(config.dataDir, config.site);
}

/** Open the configured adapters. NATS ones fail fast with a message naming the URL and the fix. */
export async function openStack(config: CacoConfig, opts: OpenStackOptions = {}): Promise<Stack> {
  // Keys live beside the ledger they sign, so a ledger file can be verified wherever it goes.
  // They are random, made on first use (0600), never derived from a simulation's seed: the
  // seed is printed, so anyone could recompute such a key and re-seal a changed event. A
  // seeded run stays deterministic because an event's hash does not cover its signature.
  // (A ledger in a server, PostgreSQL, JetStream or KurrentDB, follows the same rule: its keys
  // are beside the run's folder when it has one. A simulation on JetStream kept them in
  // <data-dir>/<site>/keys, a live site's of the same name, and printed a ledger.db that was not there.)
  const keyDir = opts.keysDir ?? (opts.sqlitePath ? join(dirname(opts.sqlitePath), 'keys') : join(siteDir(config), 'keys'));
  const keyring: Keyring = opts.ephemeralKeys ? new MemoryKeyring() : new FileKeyring(keyDir);
  const closers: Array<() => Promise<void>> = [];
  const site = opts.natsSite ?? config.site;
  try {
    let bus: Bus;
    if (config.bus === 'nats') {
      const { NatsBus } = await import('../bus/nats-bus.ts');
      const nb = await NatsBus.connect({ servers: config.natsUrl, name: `caco-${config.site}`, ...creds(config) });
      closers.push(() => nb.close());
      bus = nb;
    } else {
      const mb = new MemoryBus();
      closers.push(() => mb.close());
      bus = mb;
    }
    let store: EventStore & CheckpointStore;
    let sqlitePath: string | undefined;
    let snapshots: SnapshotStore | undefined;
    let anchorFile: string | undefined;
    if (config.store === 'postgres') {
      const [{ PostgresEventStore }, { checkDatabaseUrl, ledgerSchemaFor }] = await Promise.all([import('../store/postgres-store.ts'), import('../store/postgres-url.ts')]);
      const url = checkDatabaseUrl(config.databaseUrl);
      // One schema per site (per run for simulations, whose site name is their own), as JetStream has one stream per site.
      const pg = await PostgresEventStore.open({ connectionString: url, schema: ledgerSchemaFor(site), keyring, ...(opts.mustExist ? { mustExist: true } : {}) });
      closers.push(() => pg.close());
      store = pg;
      if (opts.ledgerContinuity) await checkTableLedger(pg, site, `PostgreSQL schema ${ledgerSchemaFor(site)}`, opts.ledgerContinuity);
      anchorFile = opts.sqlitePath ? join(dirname(opts.sqlitePath), 'anchor.jsonl') : join(siteDir(config), 'anchor.jsonl');
    } else if (config.store === 'jetstream') {
      const { JetStreamEventStore } = await import('../store/jetstream-store.ts');
      const site = opts.natsSite ?? config.site;
      let nc;
      if (opts.ledgerContinuity) {
        // Checked on the store's own connection, before the store creates anything.
        const [{ connectNats }, { checkLedgerContinuity }] = await Promise.all([import('../bus/nats-bus.ts'), import('../store/ledger-continuity.ts')]);
        const own = await connectNats({ servers: config.natsUrl, name: `caco-store-${config.site}`, ...creds(config) });
        closers.push(() => own.drain());
        await checkLedgerContinuity(own, site, opts.ledgerContinuity);
        nc = own;
      }
      const js = await JetStreamEventStore.connect({ servers: config.natsUrl, site, keyring, replicas: config.replicas, name: `caco-store-${config.site}`, ...creds(config), ...(nc ? { nc } : {}), ...(opts.mustExist ? { mustExist: true } : {}) });
      closers.push(() => js.close());
      store = js;
      // The stream's own replica count: one made earlier with more than this run asks for still has them.
      const defect = opts.mustExist ? undefined : replicatedLedgerDefect(js.nc.info?.version, js.replicas);
      if (defect) createLogger({ level: config.logLevel }).warn({ natsServer: js.nc.info?.version, replicas: js.replicas }, defect);
      if (!opts.mustExist) {
        snapshots = lazySnapshotStore(async () => {
          const [{ jetstreamManager }, { NatsSnapshotStore, snapshotBucketName }] = await Promise.all([import('@nats-io/jetstream'), import('../store/nats-snapshots.ts')]);
          return NatsSnapshotStore.open(await jetstreamManager(js.nc), { bucket: snapshotBucketName(site), replicas: config.replicas });
        });
      }
    } else if (config.store === 'kurrentdb') {
      if (!config.kurrentdbUrl) throw new ConfigError('--kurrentdb-url', 'is required with --store kurrentdb (or set CACO_KURRENTDB_URL), e.g. kurrentdb://127.0.0.1:2113?tls=false');
      const { KurrentDbEventStore } = await import('../store/kurrentdb-store.ts');
      const kd = await KurrentDbEventStore.connect({ url: config.kurrentdbUrl, site, keyring });
      closers.push(() => kd.close());
      store = kd;
      anchorFile = opts.sqlitePath ? join(dirname(opts.sqlitePath), 'anchor.jsonl') : join(siteDir(config), 'anchor.jsonl');
    } else {
      const path = opts.sqlitePath ?? join(siteDir(config), 'ledger.db');
      sqlitePath = path;
      if (opts.mustExist && !existsSync(path)) {
        throw opts.sqlitePath
          ? new ConfigError('--ledger', `no ledger at ${path}; give the path of an existing ledger.db (a run folder's, or <data-dir>/<site>/ledger.db)`)
          : new ConfigError('--data-dir', `no ledger at ${path}; run \`caco simulate\` first, or point --data-dir/--site at an existing ledger`);
      }
      // A reader must not turn some other file into an empty ledger that then "verifies".
      if (opts.mustExist) {
        const problem = ledgerFileProblem(path);
        if (problem !== undefined) throw new ConfigError('--ledger', `${path} is not a CACO ledger (a SQLite file with an events table of the ledger's columns): it ${problem}`);
      }
      // Signing moves to a worker thread when appends come in bursts; single appends stay on
      // this thread. The ledger is byte for byte the same either way. A command that only
      // reads (mustExist) opens the file read-only: a ledger given to it is evidence.
      const sq = new SqliteEventStore(opts.mustExist ? { path, keyring, readOnly: true } : { path, keyring, signing: 'auto' });
      closers.push(() => sq.close());
      store = sq;
      if (opts.ledgerContinuity && !opts.mustExist) await checkTableLedger(sq, site, `the ledger ${path}`, opts.ledgerContinuity);
      if (!opts.mustExist) {
        const snaps = lazySnapshotStore(async () => new (await import('../store/sqlite-snapshots.ts')).SqliteSnapshotStore(path));
        closers.push(() => snaps.close());
        snapshots = snaps;
      }
    }
    return {
      config,
      bus,
      store,
      checkpoints: store,
      keyring,
      site,
      ...(sqlitePath !== undefined ? { sqlitePath } : {}),
      ...(anchorFile !== undefined ? { anchorFile } : {}),
      ...(snapshots ? { snapshots } : {}),
      async close() {
        for (const c of closers.reverse()) await c();
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
