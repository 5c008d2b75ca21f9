// test-file-timeout: 360
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteKeyRegistryStore } from '../../core/identity/index.ts';

const root = join(import.meta.dirname, '../..');

function caco(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')).join('\n'), stdout: r.stdout.trim() };
}

describe('caco keys', { timeout: 300_000 }, () => {
  test('new, add, list, revoke; bad input names the field and exits 2; a tampered entry is reported by list (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-keys-cli-'));
    const data = join(dir, 'var');
    try {
      const keyFile = join(dir, 'alice.key');
      const made = caco(['keys', 'new', '--party', 'alice', '--out', keyFile]);
      assert.equal(made.code, 0, made.stderr);
      // The hint registers the public half in the store a running site reads (it said `caco keys add --key <file>`: SQLite, and the private key copied to the site).
      assert.match(made.stdout, /caco keys add --key-id \S+ --party alice --role third-party --public-key \S+ --site <the site's name> --store jetstream --nats-url /);
      // With --site, the printed line names it: run as printed, it reaches that site's registry, not london's.
      const forSite = caco(['keys', 'new', '--party', 'alice', '--site', 'manchester', '--out', join(dir, 'alice-m.key')]);
      assert.equal(forSite.code, 0, forSite.stderr);
      assert.match(forSite.stdout, / --site manchester --store jetstream /);
      const badSite = caco(['keys', 'new', '--party', 'alice', '--site', 'Not A Site', '--out', join(dir, 'alice-x.key')]);
      assert.equal(badSite.code, 2, badSite.stdout);
      assert.match(badSite.stderr, /^caco: --site: "Not A Site" is not a site name/);
      assert.equal(existsSync(join(dir, 'alice-x.key')), false, 'nothing written for a bad --site');
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      const keyId = (JSON.parse(readFileSync(keyFile, 'utf8')) as { keyId: string }).keyId;
      assert.equal(existsSync(data), false, 'keys new touches no site');

      const init = caco(['keys', 'init', '--data-dir', data]);
      assert.equal(init.code, 0, init.stderr);
      assert.equal(statSync(join(data, 'london', 'keys', 'private', 'admin.key')).mode & 0o777, 0o600, 'the admin key was made by keys init, private');
      const added = caco(['keys', 'add', '--key', keyFile, '--data-dir', data]);
      assert.equal(added.code, 0, added.stderr);
      assert.ok(added.stdout.startsWith(`registered ${keyId} in ${join(data, 'london', 'keys', 'registry.db')}: party alice, role third-party`), added.stdout);

      for (const [args, pattern] of [
        [['keys', 'add', '--party', 'b b', '--out', join(dir, 'b.key'), '--data-dir', data], /^caco: --party: use 1-128 letters/],
        [['keys', 'add', '--party', 'bob', '--public-key', 'abc', '--data-dir', data], /^caco: --public-key: must be the base64 of a raw 32-byte ed25519 public key/],
        [['keys', 'add', '--party', 'bob', '--data-dir', data], /^caco: give exactly one of --public-key, --key or --out/],
        [['keys', 'add', '--key', keyFile, '--data-dir', data], new RegExp(`^caco: keyId: "${keyId}" is already registered`)],
        [['keys', 'add', '--party', 'bob', '--role', 'wizard', '--out', join(dir, 'b.key'), '--data-dir', data], /--role <role>' argument 'wizard' is invalid/],
        [['keys', 'revoke', 'nobody', '--data-dir', data], /^caco: keyId: unknown key "nobody"/],
        [['keys', 'list', '--data-dir', data, '--site', 'paris'], /^caco: --data-dir: no key registry at .*paris/],
        // The site's own signers: the audit takes their facts for the site's (SITE_SIGNERS).
        [['keys', 'add', '--party', 'effects', '--public-key', '2gaN3hi3G+f2yuzCiqxABeKWYy90qbRX924nGiNrVvY=', '--data-dir', data], /^caco: --party: "effects" is one of the site's own signers \(.*\); a third-party key takes a name of its own$/],
        [['keys', 'add', '--party', 'site-anchor', '--role', 'third-party', '--out', join(dir, 'b.key'), '--data-dir', data], /^caco: --party: "site-anchor" is one of the site's own signers /],
        [['keys', 'new', '--party', 'effects', '--out', join(dir, 'b.key')], /^caco: --party: "effects" is one of the site's own signers /],
      ] as const) {
        const r = caco([...args]);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, pattern);
        // Ours are one line (commander's own usage errors add a hint line).
        if (pattern.source.startsWith('^caco:')) assert.equal(r.stderr.split('\n').length, 1, `one line: ${r.stderr}`);
      }
      assert.equal(existsSync(join(dir, 'b.key')), false, 'refused input writes no key file');
      assert.equal(existsSync(join(data, 'paris')), false, 'listing a site that does not exist creates nothing');

      const listed = caco(['keys', 'list', '--data-dir', data, '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const body = JSON.parse(listed.stdout) as { entries: Array<{ keyId: string; status: string }> };
      assert.deepEqual(body.entries.map((e) => e.keyId).sort(), ['admin', keyId].sort());

      const revoked = caco(['keys', 'revoke', keyId, '--data-dir', data]);
      assert.equal(revoked.code, 0, revoked.stderr);
      const store = new SqliteKeyRegistryStore(join(data, 'london', 'keys', 'registry.db'));
      const stored = (await store.get(keyId)) as Record<string, unknown>;
      assert.equal(stored['status'], 'revoked');
      // Undo the revocation by editing the file: list refuses to show it and exits 1.
      store.putRaw(keyId, JSON.stringify({ ...stored, status: 'active', revokedAt: null }));
      await store.close();
      const tampered = caco(['keys', 'list', '--data-dir', data]);
      assert.equal(tampered.code, 1);
      assert.match(tampered.stderr, new RegExp(`ignored entry "${keyId}": admin signature does not verify`));
      assert.doesNotMatch(tampered.stdout, new RegExp(keyId));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--out that cannot be written is one line (exit 2); a key refused by the registry leaves no key file behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-keys-out-'));
    const data = join(dir, 'var');
    try {
      symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.key'));
      for (const out of [join(dir, 'no-such-dir', 'a.key'), join(dir, 'dangling.key')]) {
        const r = caco(['keys', 'new', '--party', 'alice', '--out', out]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /^caco: --out: .*a\.key|^caco: --out: .*dangling\.key/);
        assert.equal(r.stderr.split('\n').length, 1, r.stderr);
      }
      assert.equal(existsSync(join(dir, 'nowhere')), false, 'nothing written through the link');

      assert.equal(caco(['keys', 'init', '--data-dir', data]).code, 0);
      const first = caco(['keys', 'add', '--party', 'bob', '--key-id', 'bob-1', '--out', join(dir, 'bob.key'), '--data-dir', data]);
      assert.equal(first.code, 0, first.stderr);
      const taken = caco(['keys', 'add', '--party', 'carol', '--key-id', 'bob-1', '--out', join(dir, 'carol.key'), '--data-dir', data]);
      assert.equal(taken.code, 2, taken.stderr);
      assert.match(taken.stderr, /^caco: keyId: "bob-1" is already registered/);
      assert.equal(existsSync(join(dir, 'carol.key')), false, 'a key the registry refused is not left in --out');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('keys list only reads the registry file: it is left byte for byte, and one that is not a registry is one line (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-keys-list-'));
    const data = join(dir, 'var');
    try {
      assert.equal(caco(['keys', 'init', '--data-dir', data]).code, 0);
      const added = caco(['keys', 'add', '--party', 'bob', '--public-key', 'k1DR0tPNymljQwmj2kaoKzzFaGq2RjoL/OhsULUYwBA=', '--data-dir', data]);
      assert.equal(added.code, 0, added.stderr);
      const path = join(data, 'london', 'keys', 'registry.db');
      const db = new Database(path);
      db.pragma('journal_mode = DELETE');
      db.close();
      const sha = () => createHash('sha256').update(readFileSync(path)).digest('hex');
      const before = sha();
      const listed = caco(['keys', 'list', '--data-dir', data]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /bob/);
      assert.equal(sha(), before, 'listing changed the registry file');

      rmSync(path);
      const crafted = new Database(path);
      crafted.exec('CREATE TABLE key_registry (x)');
      crafted.close();
      const r = caco(['keys', 'list', '--data-dir', data]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^caco: --data-dir: .*registry\.db is not a key registry/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('caco submit will not send unsigned: without --key and without a local operator key it says how to get one (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-submit-cli-'));
    try {
      const r = caco(['submit', '--job-id', 'j1', '--class', 'training', '--gpus', '8', '--runtime-min', '60', '--deadline', '2030-01-01T00:00:00Z', '--data-dir', dir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^caco: --key is required: commands must be signed by a registered key/);
      const missing = caco(['submit', '--file', join(root, 'package.json'), '--key', join(dir, 'none.key'), '--data-dir', dir]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^caco: --key: .*none\.key does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
