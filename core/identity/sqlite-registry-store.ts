import Database from 'better-sqlite3';
import { distrustSchema, untrustedSchemaProblem } from '../store/sqlite-untrusted.ts';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseStored, type KeyRegistryStore } from './registry-store.ts';
import { KeyRegistryError } from './key-registry.ts';

/** The embedded default: one table in a SQLite file beside the site's keys. */
export class SqliteKeyRegistryStore implements KeyRegistryStore {
  private readonly db: Database.Database;

  /**
   * @param readOnly for readers (`caco keys list`): the file must exist and hold the registry's
   *                 table; it is opened read-only and nothing about it is changed.
   */
  constructor(readonly path: string, opts: { readonly readOnly?: boolean } = {}) {
    if (opts.readOnly) {
      this.db = openReadOnly(path);
      return;
    }
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    distrustSchema(this.db);
    // Before anything is written, as the ledger's writer does: a trigger in the file ran on the
    // site's own put and deleted its admin entry (a helper's review); a recursive one would
    // hold caco run at full CPU.
    const hostile = untrustedSchemaProblem(this.db);
    if (hostile !== undefined) {
      this.db.close();
      throw new KeyRegistryError('--data-dir', `${path} is not a key registry CACO wrote: it ${hostile}; nothing was changed (restore it from a backup)`);
    }
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

  async keyIds(): Promise<string[]> {
    return (this.db.prepare('SELECT key_id FROM key_registry').all() as Array<{ key_id: string }>).map((r) => r.key_id);
  }

  async list(): Promise<Array<{ keyId: string; value: unknown }>> {
    const rows = this.db.prepare('SELECT key_id, entry FROM key_registry ORDER BY key_id').all() as Array<{ key_id: string; entry: string }>;
    return rows.map((r) => ({ keyId: r.key_id, value: parseStored(r.entry) }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function openReadOnly(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new KeyRegistryError('--data-dir', `${path} is not a key registry (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    distrustSchema(db);
    const hostile = untrustedSchemaProblem(db);
    if (hostile !== undefined) throw new KeyRegistryError('--data-dir', `${path} is not a key registry: it ${hostile}`);
    const columns = new Set(db.prepare<[], { name: string }>('PRAGMA table_info(key_registry)').all().map((c) => c.name));
    if (!columns.has('key_id') || !columns.has('entry')) throw new KeyRegistryError('--data-dir', `${path} is not a key registry (no key_registry table with key_id and entry)`);
  } catch (err) {
    db.close();
    throw err instanceof KeyRegistryError ? err : new KeyRegistryError('--data-dir', `${path} is not a key registry (${err instanceof Error ? err.message : String(err)})`);
  }
  return db;
}
