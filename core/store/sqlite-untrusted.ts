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
