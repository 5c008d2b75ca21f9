// test-file-timeout: 180
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';

const root = join(import.meta.dirname, '../..');
const FIXTURE = join(import.meta.dirname, '../fixtures/ledger-v1');

function caco(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  return { code: r.status, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')).join('\n'), stdout: r.stdout.trim() };
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A real ledger (test/fixtures/ledger-v1) with its keys, in a folder of its own. */
function fixtureLedger(dir: string): string {
  mkdirSync(join(dir, 'keys'), { recursive: true });
  copyFileSync(join(FIXTURE, 'keys.json'), join(dir, 'keys', 'keys.json'));
  const path = join(dir, 'ledger.db');
  writeFileSync(path, gunzipSync(readFileSync(join(FIXTURE, 'ledger.db.gz'))));
  return path;
}

/**
 * A ledger file handed over by someone else is evidence: the commands that read it (audit
 * verify, explain) must read it as it is, never change it, and refuse one whose schema is not
 * a ledger's with one line (exit 2) rather than a stack trace.
 */
describe('a ledger file given with --ledger is only read', { timeout: 180_000 }, () => {
  test('audit verify and explain leave the file byte for byte as it was (a ledger not in WAL mode, one without the covers column)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-ledger-file-'));
    try {
      const path = fixtureLedger(join(dir, 'a'));
      const db = new Database(path);
      db.pragma('journal_mode = DELETE');
      db.close();
      const before = sha(path);
      const r = caco(['audit', 'verify', '--ledger', path]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ledger OK: 768 events in 50 streams/);
      const x = caco(['explain', 'trn-000000', '--ledger', path]);
      assert.equal(x.code, 0, x.stderr);
      assert.equal(sha(path), before, 'the ledger file was changed by reading it');

      // A ledger from before commit signatures (no covers column): read, not migrated.
      const old = fixtureLedger(join(dir, 'b'));
      const odb = new Database(old);
      odb.pragma('journal_mode = DELETE');
      odb.exec('ALTER TABLE events DROP COLUMN covers');
      odb.close();
      const oldBefore = sha(old);
      const o = caco(['audit', 'verify', '--ledger', old]);
      assert.equal(o.code, 1, 'its multi-event commits lost their covers, so it reads as broken');
      assert.match(o.stdout, /ledger BROKEN/);
      assert.equal(sha(old), oldBefore, 'the old ledger was migrated by reading it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a SQLite file whose events table is not a ledger\'s: one line naming the file, exit 2, the file untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-ledger-file-'));
    try {
      const path = join(dir, 'crafted.db');
      const db = new Database(path);
      db.exec('CREATE TABLE events (x)');
      db.close();
      const before = sha(path);
      for (const args of [['audit', 'verify', '--ledger', path], ['explain', 'j1', '--ledger', path]]) {
        const r = caco(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /^caco: --ledger: .*crafted\.db is not a CACO ledger.*missing (column|columns) .*stream/);
      }
      assert.equal(sha(path), before, 'the file was changed by reading it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('what a crafted ledger holds cannot forge or hide lines of the report: control characters are printed escaped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-ledger-file-'));
    try {
      const path = fixtureLedger(join(dir, 'a'));
      const db = new Database(path);
      // Move the cursor up and erase the BROKEN line, then print a line of its own.
      db.prepare('UPDATE events SET stream = ? WHERE position = 768').run('zz\x1b[1A\x1b[2K\nledger OK: 768 events in 50 streams\x1b[8m');
      db.close();
      const r = caco(['audit', 'verify', '--ledger', path]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout.includes('\x1b'), false, 'no escape sequence from the file reaches the terminal');
      for (const line of r.stdout.split('\n')) assert.doesNotMatch(line, /^ledger OK/, `a forged line: ${JSON.stringify(r.stdout)}`);
      assert.match(r.stdout, /^ledger BROKEN: stream zz\\u001b\[1A\\u001b\[2K\\nledger OK/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--anchor that is not a file (a folder): one line naming --anchor, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-ledger-file-'));
    try {
      const path = fixtureLedger(join(dir, 'a'));
      const r = caco(['audit', 'verify', '--ledger', path, '--anchor', dir]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^caco: --anchor: .* is not a file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
