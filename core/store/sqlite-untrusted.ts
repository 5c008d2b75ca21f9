import type Database from 'better-sqlite3';

/**
 * Reading a SQLite file someone else wrote (a ledger or key registry handed to `caco audit`,
 * `caco explain`, the dashboard). Its schema is code the reader runs: a view may hold a
 * recursive query, an FTS virtual table may read through such a view, and a 24 KB file so made
 * kept `caco audit verify` at full CPU for good, or filled the disk with SQLite's temporary
 * files at gigabytes a minute. A CACO file holds only ordinary tables and their indexes; one
 * with a view, a trigger or a virtual table is refused before anything is read from it, and
 * functions the schema calls are limited to those without side effects (trusted_schema off).
 */
export function distrustSchema(db: Database.Database): void {
  db.pragma('trusted_schema = OFF');
}

/** Why the file's schema is not one CACO writes (undefined when it holds only tables and indexes). */
export function untrustedSchemaProblem(db: Database.Database): string | undefined {
  const rows = db.prepare<[], { type: string; name: string; sql: string | null }>('SELECT type, name, sql FROM sqlite_master').all();
  for (const r of rows) {
    const name = JSON.stringify(String(r.name).slice(0, 64));
    if (r.type === 'view') return `holds a view (${name}), which CACO never writes`;
    if (r.type === 'trigger') return `holds a trigger (${name}), which CACO never writes`;
    if (r.type === 'table' && r.sql !== null && /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(r.sql)) return `holds a virtual table (${name}), which CACO never writes`;
  }
  // SQLite's own word for each table, whatever its CREATE text says: a virtual table's text
  // can be rewritten (CREATE /**/ VIRTUAL TABLE) past the test above, and still loads.
  for (const t of db.prepare<[], { name: string; type: string }>('PRAGMA main.table_list').all()) {
    if (t.type !== 'table') return `holds a ${t.type} table (${JSON.stringify(String(t.name).slice(0, 64))}), which CACO never writes`;
  }
  return undefined;
}

/**
 * Why a file is not a ledger CACO may open (undefined when it may): a schema CACO never
 * writes (untrustedSchemaProblem), or an events table whose `position` is not its INTEGER
 * PRIMARY KEY. Every read pages on `position > ?` in position order, and only a rowid column
 * holds nothing but integers: in a column with no type, a position stored as the text '14042'
 * sorts after every integer and was read back as 14042, so the next page began at the same row
 * and `caco audit verify` and `caco run` read it for ever, deaf to SIGTERM (a helper's review).
 * A file with no events table yet is a new ledger: nothing to say.
 */
export function ledgerSchemaProblem(db: Database.Database): string | undefined {
  const hostile = untrustedSchemaProblem(db);
  if (hostile !== undefined) return hostile;
  const cols = db.prepare<[], { name: string; type: string; pk: number }>('PRAGMA table_info(events)').all();
  if (cols.length === 0) return undefined;
  const keys = cols.filter((c) => c.pk > 0);
  const pos = cols.find((c) => c.name === 'position');
  // A table without the column is named by the readers' column check, with every column it lacks.
  if (pos === undefined) return undefined;
  if (keys.length !== 1 || keys[0] !== pos || pos.type.toUpperCase() !== 'INTEGER') {
    return `has an events table whose position column is not its INTEGER PRIMARY KEY (declared ${JSON.stringify(pos.type.slice(0, 32))}${pos.pk > 0 ? '' : ', not the key'}), which CACO never writes`;
  }
  // Declared so and still not the rowid (a helper's review): in a WITHOUT ROWID table, or as
  // INTEGER PRIMARY KEY DESC, SQLite keeps the key in an index of its own (origin 'pk'), and
  // such a column holds text ('0x2') as text.
  const table = db.prepare<[], { name: string; wr: number }>('PRAGMA main.table_list').all().find((t) => t.name === 'events');
  const pkIndex = db.prepare<[], { origin: string }>('PRAGMA main.index_list(events)').all().some((i) => i.origin === 'pk');
  if (table?.wr === 1 || pkIndex) return `has an events table whose position column is not its rowid (${table?.wr === 1 ? 'a WITHOUT ROWID table' : 'a key kept in an index of its own, as INTEGER PRIMARY KEY DESC is'}), which CACO never writes`;
  return undefined;
}
