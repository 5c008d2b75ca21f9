// test-file-timeout: 120
/**
 * Files someone else wrote, given to the read-only tools (`caco audit verify --ledger`,
 * `caco explain`): their schema, their key names and their text must not act on the reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../../core/config/config.ts';
import { openStack } from '../../core/stack/stack.ts';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import { SqliteSnapshotStore } from '../../core/store/sqlite-snapshots.ts';
import { SqliteKeyRegistryStore } from '../../core/identity/sqlite-registry-store.ts';
import { FileKeyring, MemoryKeyring } from '../../core/ledger/keyring.ts';
import { ConfigError } from '../../core/errors/errors.ts';
import { newEvent } from '../contract/store-contract.ts';
import { damagedFileText, unexpectedText } from '../../cli/errors.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function ledgerWith(dir: string, hostile: string): Promise<string> {
  const path = join(dir, 'ledger.db');
  const store = new SqliteEventStore({ path, keyring: new MemoryKeyring('hostile') });
  await store.append('job-1', [newEvent()], 'no-stream');
  await store.close();
  const db = new Database(path);
  db.unsafeMode(true); // better-sqlite3's defensive mode forbids writing sqlite_master, as an attacker's tool would not
  db.exec(hostile);
  db.close();
  return path;
}

for (const [what, sql, says] of [
  // A view with a recursive query: reading it never ends (a 24 KB file held audit verify at full CPU).
  ['a view', "CREATE VIEW v AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r;", /holds a view \("v"\)/],
  ['a trigger', "CREATE TRIGGER t AFTER INSERT ON events BEGIN DELETE FROM events; END;", /holds a trigger \("t"\)/],
  ['a virtual table', "CREATE VIRTUAL TABLE f USING fts4(content);", /holds a virtual table \("f"\)/],
  // Its CREATE text rewritten past a test of the text: SQLite still loads it as virtual.
  ['a virtual table whose text hides it', "CREATE VIRTUAL TABLE f USING fts4(content); PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE /**/ VIRTUAL TABLE f USING fts4(content)' WHERE name = 'f'; PRAGMA writable_schema = OFF;", /holds a (virtual|shadow) table/],
  // A helper's review: a trigger on the checkpoints table held `caco run` at full CPU, deaf to
  // SIGTERM, at its first checkpoint write; the writer did not look at the schema.
  ['a trigger on checkpoints', "CREATE TRIGGER t AFTER INSERT ON checkpoints BEGIN SELECT count(*) FROM (WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r); END;", /holds a trigger \("t"\)/],
  // A helper's review: in an untyped column the text '1' sorts after every integer and was read
  // as 1, so each page began at the same row again: audit verify and caco run never ended.
  [
    'an events table whose position is not its INTEGER PRIMARY KEY',
    "CREATE TABLE ev2 (position, id TEXT, stream TEXT, revision INTEGER, type TEXT, version INTEGER, time TEXT, source TEXT, correlation_id TEXT, causation_id TEXT, data TEXT, prev_hash TEXT, hash TEXT, sig TEXT, covers INTEGER); INSERT INTO ev2 SELECT * FROM events; DROP TABLE events; ALTER TABLE ev2 RENAME TO events; UPDATE events SET position = '1' WHERE position = 1;",
    /events table whose position column is not its INTEGER PRIMARY KEY \(declared "", not the key\)/,
  ],
  // A helper's review: the writer added covers and its tables to such a file, turned it to
  // WAL, then failed with a stack trace.
  ['an events table without the ledger\'s columns', "DROP TABLE events; CREATE TABLE events (x TEXT); INSERT INTO events VALUES ('precious');", /missing columns (position, )?id, stream/],
  // A helper's review of the above: the same with the other tables, and a column no insert fills.
  ['a checkpoints table of another layout', "DROP TABLE checkpoints; CREATE TABLE checkpoints (x TEXT); INSERT INTO checkpoints VALUES ('precious');", /checkpoints table missing columns name, position/],
  ['a quarantine table of another layout', "DROP TABLE quarantine; CREATE TABLE quarantine (x TEXT);", /quarantine table missing columns position, record/],
  // Declared INTEGER PRIMARY KEY and still not the rowid, so it holds text as text (a helper's review of the above).
  ...(['INTEGER PRIMARY KEY DESC', 'INTEGER PRIMARY KEY'] as const).map(
    (decl, i) =>
      [
        `an events table keyed ${decl}${i === 1 ? ' WITHOUT ROWID' : ''}`,
        `CREATE TABLE ev2 (position ${decl}, id TEXT, stream TEXT, revision INTEGER, type TEXT, version INTEGER, time TEXT, source TEXT, correlation_id TEXT, causation_id TEXT, data TEXT, prev_hash TEXT, hash TEXT, sig TEXT, covers INTEGER)${i === 1 ? ' WITHOUT ROWID' : ''}; INSERT INTO ev2 SELECT * FROM events; DROP TABLE events; ALTER TABLE ev2 RENAME TO events; UPDATE events SET position = '0x1' WHERE position = 1;`,
        i === 1 ? /position column is not its rowid \(a WITHOUT ROWID table\)/ : /position column is not its rowid \(a key kept in an index of its own/,
      ] as const,
  ),
] as const) {
  test(`a ledger file holding ${what} is refused before anything is read from it, and left as it was`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-hostile-'));
    try {
      const path = await ledgerWith(dir, sql);
      const before = sha256(readFileSync(path));
      const config = loadConfig({ env: {}, overrides: { site: 't', store: 'sqlite', bus: 'memory', dataDir: join(dir, 'data') } });
      await assert.rejects(openStack(config, { sqlitePath: path, mustExist: true, ephemeralKeys: true }), (err: unknown) => err instanceof ConfigError && says.test(err.message) && err.message.includes(path));
      assert.equal(sha256(readFileSync(path)), before);
      // The writer (caco run, caco simulate on a kept ledger) refuses it too, before it writes.
      await assert.rejects(openStack(config, { sqlitePath: path, ephemeralKeys: true }), (err: unknown) => err instanceof ConfigError && says.test(err.message) && err.message.includes(path));
      assert.throws(() => new SqliteEventStore({ path, keyring: new MemoryKeyring('x') }), (err: unknown) => err instanceof ConfigError && says.test(err.message));
      assert.throws(() => new SqliteSnapshotStore(path), (err: unknown) => err instanceof ConfigError && says.test(err.message));
      assert.equal(sha256(readFileSync(path)), before, 'nothing was written');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('an events table with a column no insert fills (the first ledgers\' NOT NULL category) is read, and refused by the writer before it writes', async () => {
  // A helper's review: the writer turned such a file to WAL, and the first append failed with
  // a raw NOT NULL constraint error. A reader has nothing to fill, and reads it as ever.
  const dir = mkdtempSync(join(tmpdir(), 'caco-hostile-'));
  try {
    const path = await ledgerWith(dir, "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, 'covers INTEGER', 'covers INTEGER, category TEXT NOT NULL') WHERE name = 'events'; PRAGMA writable_schema = OFF;");
    const before = sha256(readFileSync(path));
    const reader = new SqliteEventStore({ path, keyring: new MemoryKeyring('x'), readOnly: true });
    let n = 0;
    for await (const e of reader.readAll()) if (e) n++;
    await reader.close();
    assert.equal(n, 1, 'the reader reads it');
    const says = /events table with columns the ledger never fills \(category: NOT NULL, no default\)/;
    assert.throws(() => new SqliteEventStore({ path, keyring: new MemoryKeyring('x') }), (err: unknown) => err instanceof ConfigError && says.test(err.message));
    assert.throws(() => new SqliteSnapshotStore(path), (err: unknown) => err instanceof ConfigError && says.test(err.message));
    assert.equal(sha256(readFileSync(path)), before, 'nothing was written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key registry holding a view is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-hostile-'));
  try {
    const path = join(dir, 'registry.db');
    await new SqliteKeyRegistryStore(path).close();
    const db = new Database(path);
    db.exec('CREATE VIEW v AS SELECT 1;');
    db.close();
    assert.throws(() => new SqliteKeyRegistryStore(path, { readOnly: true }), /is not a key registry: it holds a view/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key registry holding a trigger is refused by its writer (caco run, caco keys add) before anything is written', async () => {
  // A helper's review: the writer ran the file's trigger on the site's own put, which deleted its admin entry.
  const dir = mkdtempSync(join(tmpdir(), 'caco-hostile-'));
  try {
    const path = join(dir, 'registry.db');
    await new SqliteKeyRegistryStore(path).close();
    const db = new Database(path);
    db.exec('CREATE TABLE pwned (n); CREATE TRIGGER t AFTER INSERT ON key_registry BEGIN INSERT INTO pwned VALUES (1); DELETE FROM key_registry; END;');
    db.close();
    const before = sha256(readFileSync(path));
    assert.throws(() => new SqliteKeyRegistryStore(path), /registry\.db is not a key registry CACO wrote: it holds a trigger \("t"\)/);
    assert.equal(sha256(readFileSync(path)), before, 'nothing was written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a name in keys.json that is not a plain file name reads no file outside the key folder, and gets no key made', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-hostile-'));
  try {
    const keys = join(dir, 'site', 'keys');
    mkdirSync(join(keys, 'private'), { recursive: true });
    // The auditor's own key, outside the folder the ledger came with.
    const mine = new FileKeyring(join(dir, 'mine'));
    mine.sign('auditor', Buffer.from('x'));
    const pub = mine.publicKeys()['auditor']!;
    // private/../../../mine/private/auditor.key from the key folder is the auditor's own key.
    const name = '../../../mine/private/auditor';
    assert.ok(existsSync(join(keys, 'private', `${name}.key`)));
    writeFileSync(join(keys, 'keys.json'), JSON.stringify({ keys: { [name]: pub } }));
    const ring = new FileKeyring(keys);
    // Before, the auditor's private key was loaded under that name, and signed for it.
    assert.throws(() => ring.sign(name, Buffer.from('x')), /not a plain file name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unexpected error's message is printed inert: its escape sequences do not reach the terminal", () => {
  const err = new Error('no such table: main.x\u001b[2J\u001b[H\u001b[1;32mledger OK\u001b[0m\n\u001b]0;owned\u0007');
  const text = unexpectedText(err);
  assert.equal(text.includes('\u001b'), false);
  assert.equal(text.includes('\u0007'), false);
  const lines = text.split('\n');
  assert.match(lines[0]!, /^Error: no such table: main\.x\\u001b\[2J/);
  assert.ok(lines.slice(1).every((l) => /^\s+at /.test(l)), 'the rest are the stack frames');
});

test('a ledger file damaged part-way is one line that says so and what to do (exit 1 in the CLI), not a stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-hostile-'));
  try {
    const path = join(dir, 'ledger.db');
    const store = new SqliteEventStore({ path, keyring: new MemoryKeyring('damaged') });
    for (let i = 0; i < 400; i++) await store.append(`job-${i}`, [{ ...newEvent(), data: { pad: 'x'.repeat(200) } }], 'no-stream');
    await store.close();
    // Garbage over pages in the middle of the file: the events table's b-tree, read part-way.
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 8 * 4096, 12 * 4096);
    writeFileSync(path, bytes);
    const reader = new SqliteEventStore({ path, keyring: new MemoryKeyring('damaged'), readOnly: true });
    let thrown: unknown;
    try {
      for await (const _e of reader.readAll()) void _e;
    } catch (err) {
      thrown = err;
    } finally {
      await reader.close();
    }
    assert.ok(thrown, 'the damaged file is not read to the end as if whole');
    const text = damagedFileText(thrown);
    assert.ok(text, `an error SQLite gives for a damaged file: ${String(thrown)}`);
    assert.match(text, /^a SQLite file this command read is damaged \(.*SQLITE_(CORRUPT|NOTADB)/);
    assert.equal(text.includes('\n'), false);
    assert.equal(damagedFileText(new Error('other')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("audit verify says when it read a write-ahead log beside the ledger file, which the file alone does not hold", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-hostile-'));
  const path = join(dir, 'ledger.db');
  // A site still running: its last commits are in ledger.db-wal until SQLite moves them over.
  const store = new SqliteEventStore({ path, keyring: new FileKeyring(join(dir, 'keys')) });
  try {
    await store.append('job-1', [newEvent()], 'no-stream');
    assert.ok(existsSync(`${path}-wal`));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../cli/caco.ts'), 'audit', 'verify', '--data-dir', dir, '--ledger', path], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    assert.match(r.stdout, new RegExp(`^read with ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-wal beside it \\([\\d,]+ bytes\\): SQLite reads a write-ahead log as part of the ledger`, 'm'), r.stdout + r.stderr);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
