import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseSnapshot, type AgentSnapshot, type SnapshotStore } from '../runtime/snapshot.ts';

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
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec('CREATE TABLE IF NOT EXISTS snapshots (agent TEXT PRIMARY KEY, record TEXT NOT NULL)');
    this.stmts = {
      get: this.db.prepare<[string], string>('SELECT record FROM snapshots WHERE agent = ?').pluck(true),
      put: this.db.prepare('INSERT INTO snapshots (agent, record) VALUES (?, ?) ON CONFLICT (agent) DO UPDATE SET record = excluded.record'),
    };
  }

  async load(agent: string): Promise<AgentSnapshot | undefined> {
    const t = this.stmts.get.get(agent);
    return t === undefined ? undefined : parseSnapshot(t, `snapshot of ${agent}`);
  }

  async save(s: AgentSnapshot): Promise<void> {
    this.stmts.put.run(s.agent, JSON.stringify(s));
  }

  /** For tests: run raw SQL against the table (e.g. to tamper with a snapshot). */
  unsafeExec(sql: string, ...params: unknown[]): void {
    this.db.prepare(sql).run(...params);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
