import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseStored, type KeyRegistryStore } from './registry-store.ts';

/** The embedded default: one table in a SQLite file beside the site's keys. */
export class SqliteKeyRegistryStore implements KeyRegistryStore {
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS key_registry (key_id TEXT PRIMARY KEY, entry TEXT NOT NULL)');
  }

  async get(keyId: string): Promise<unknown> {
    const row = this.db.prepare('SELECT entry FROM key_registry WHERE key_id = ?').get(keyId) as { entry: string } | undefined;
    return row ? parseStored(row.entry) : undefined;
  }

  async put(keyId: string, entry: unknown): Promise<void> {
    this.db.prepare('INSERT INTO key_registry (key_id, entry) VALUES (?, ?) ON CONFLICT(key_id) DO UPDATE SET entry = excluded.entry').run(keyId, JSON.stringify(entry));
  }

  /** Write text as is (tests that tamper with the file). */
  putRaw(keyId: string, text: string): void {
    this.db.prepare('INSERT INTO key_registry (key_id, entry) VALUES (?, ?) ON CONFLICT(key_id) DO UPDATE SET entry = excluded.entry').run(keyId, text);
  }

  async list(): Promise<Array<{ keyId: string; value: unknown }>> {
    const rows = this.db.prepare('SELECT key_id, entry FROM key_registry ORDER BY key_id').all() as Array<{ key_id: string; entry: string }>;
    return rows.map((r) => ({ keyId: r.key_id, value: parseStored(r.entry) }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
