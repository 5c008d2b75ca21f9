import Database from 'better-sqlite3';
import { refuseForeignLedger } from './sqlite-store.ts';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkSnapshotSize, MAX_SNAPSHOT_BYTES, parseSnapshot, type AgentSnapshot, type SnapshotStore } from '../runtime/snapshot.ts';

/**
 * Agent snapshots in a SQLite table (the embedded stack keeps them in the ledger's own file,
 * on a connection of their own). One row per agent, replaced by each new snapshot.
 */
export class SqliteSnapshotStore implements SnapshotStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    try {
      // The ledger's own file: refused as the event store refuses it, before anything is written.
      refuseForeignLedger(this.db, path, { writes: true });
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec('CREATE TABLE IF NOT EXISTS snapshots (agent TEXT PRIMARY KEY, record TEXT NOT NULL)');
    this.stmts = {
      // The size first: a row someone made huge is refused before it is read (MAX_SNAPSHOT_BYTES).
      // octet_length (SQLite 3.43+) reads the size from the record header; length(CAST(… AS
      // BLOB)) would load the value to measure it.
      get: this.db.prepare<[number, string], { bytes: number; record: string | null }>('SELECT octet_length(record) AS bytes, CASE WHEN octet_length(record) <= ? THEN record END AS record FROM snapshots WHERE agent = ?'),
      put: this.db.prepare('INSERT INTO snapshots (agent, record) VALUES (?, ?) ON CONFLICT (agent) DO UPDATE SET record = excluded.record'),
    };
  }

  async load(agent: string): Promise<AgentSnapshot | undefined> {
    const row = this.stmts.get.get(MAX_SNAPSHOT_BYTES, agent);
    if (row === undefined) return undefined;
    checkSnapshotSize(row.bytes, `snapshot of ${agent}`);
    // Null only past the bound the query was given, which the check above refuses.
    return parseSnapshot(row.record ?? '', `snapshot of ${agent}`);
  }

  async save(s: AgentSnapshot): Promise<void> {
    const record = JSON.stringify(s);
    checkSnapshotSize(Buffer.byteLength(record, 'utf8'), `snapshot of ${s.agent}`);
    this.stmts.put.run(s.agent, record);
  }

  /** For tests: run raw SQL against the table (e.g. to tamper with a snapshot). */
  unsafeExec(sql: string, ...params: unknown[]): void {
    this.db.prepare(sql).run(...params);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
