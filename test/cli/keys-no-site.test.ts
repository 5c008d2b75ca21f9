// test-file-timeout: 240
/**
 * `caco keys add` and `keys revoke` act on a site that exists and never make one: with the store
 * defaulting to SQLite while `caco run` defaults to JetStream, `keys add --key acme.key` made a
 * second site (./var/london/keys, a new admin key) and registered the key there, and the running
 * site answered `unknown key`. They refuse in one line naming the store and folder they looked
 * in and the flags that pick another; `caco keys init` starts a site's keys; the success line
 * names the registry written to.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats } from '../../core/bus/nats-bus.ts';
import { KvKeyRegistryStore } from '../../core/identity/index.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';

const root = join(import.meta.dirname, '../..');

// The defaults are what is tested: no store, site or data dir from the environment.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['CACO_STORE', 'CACO_SITE', 'CACO_DATA_DIR', 'CACO_CONFIG'].includes(k)));

function caco(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: cleanEnv });
  return { code: r.status, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')).join('\n'), stdout: r.stdout.trim() };
}

const PUB = 'k1DR0tPNymljQwmj2kaoKzzFaGq2RjoL/OhsULUYwBA=';

describe('caco keys add / revoke where no site is', { timeout: 200_000 }, () => {
  test('SQLite: add and revoke are refused in one line naming the store, the folder and the JetStream flags (exit 2), and make nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-keys-nosite-'));
    const data = join(dir, 'var');
    try {
      for (const args of [
        ['keys', 'add', '--party', 'bob', '--public-key', PUB, '--data-dir', data],
        ['keys', 'add', '--party', 'bob', '--out', join(dir, 'bob.key'), '--data-dir', data],
        ['keys', 'revoke', 'bob-1', '--data-dir', data],
      ]) {
        const r = caco(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.split('\n').length, 1, r.stderr);
        assert.ok(r.stderr.startsWith(`caco: no site at ${join(data, 'london')} (sqlite): no key registry ${join(data, 'london', 'keys', 'registry.db')}; `), r.stderr);
        assert.match(r.stderr, /`caco run` uses JetStream by default: add --store jetstream --nats-url <url> --data-dir <dir>/);
        assert.match(r.stderr, /`caco keys init`/);
      }
      assert.equal(existsSync(data), false, 'no site, admin key or registry was made');
      assert.equal(existsSync(join(dir, 'bob.key')), false, 'no key file was left behind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('JetStream: add is refused until `keys init`; add without --store beside a JetStream site is refused, not sent to a new SQLite site; the success lines name the KV bucket and the NATS URL', async (t) => {
    const skip = await natsSkip();
    if (skip) return t.skip(skip);
    const dir = mkdtempSync(join(tmpdir(), 'caco-keys-nosite-js-'));
    const data = join(dir, 'var');
    const site = uniqueToken('keysnosite');
    const url = natsUrl();
    const bucket = `caco_${site}_keys`;
    const js = ['--store', 'jetstream', '--nats-url', url, '--site', site, '--data-dir', data];
    try {
      const none = caco(['keys', 'add', '--party', 'bob', '--key-id', 'bob-1', '--public-key', PUB, ...js]);
      assert.equal(none.code, 2, none.stderr);
      assert.equal(none.stderr.split('\n').length, 1, none.stderr);
      assert.ok(none.stderr.startsWith(`caco: no site at ${join(data, site)} (jetstream): no key registry KV bucket ${bucket} on ${url}; check --site and --nats-url`), none.stderr);
      assert.equal(existsSync(data), false, 'no admin key was made');

      const init = caco(['keys', 'init', ...js]);
      assert.equal(init.code, 0, init.stderr);
      assert.match(init.stdout, new RegExp(`^site keys made: site ${site}, admin key .*admin\\.key, public \\S+, key registry KV bucket ${bucket} on `));
      const again = caco(['keys', 'init', ...js]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^site keys already there/);

      // The outside developer's mistake: the site is on JetStream, `caco keys` defaults to SQLite.
      const sqlite = caco(['keys', 'add', '--party', 'bob', '--key-id', 'bob-1', '--public-key', PUB, '--site', site, '--data-dir', data]);
      assert.equal(sqlite.code, 2, sqlite.stderr);
      assert.ok(sqlite.stderr.startsWith(`caco: no site at ${join(data, site)} (sqlite): no key registry ${join(data, site, 'keys', 'registry.db')}; a site started with \`caco run\` uses JetStream by default`), sqlite.stderr);
      assert.equal(existsSync(join(data, site, 'keys', 'registry.db')), false, 'no SQLite registry was made beside the JetStream site');

      const added = caco(['keys', 'add', '--party', 'bob', '--key-id', 'bob-1', '--public-key', PUB, ...js]);
      assert.equal(added.code, 0, added.stderr);
      assert.ok(added.stdout.startsWith(`registered bob-1 in KV bucket ${bucket} on ${url}: party bob, role third-party`), added.stdout);
      const revoked = caco(['keys', 'revoke', 'bob-1', ...js]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, new RegExp(`^revoked bob-1 \\(party bob\\) at \\S+ in KV bucket ${bucket} on `));

      // The registry is there, the admin key is not (another machine's data dir): refused, no key made.
      const other = join(dir, 'other');
      const noAdmin = caco(['keys', 'add', '--party', 'carol', '--public-key', PUB, '--store', 'jetstream', '--nats-url', url, '--site', site, '--data-dir', other]);
      assert.equal(noAdmin.code, 2, noAdmin.stderr);
      assert.ok(noAdmin.stderr.startsWith(`caco: no admin key ${join(other, site, 'keys', 'private', 'admin.key')} for the key registry KV bucket ${bucket}`), noAdmin.stderr);
      assert.equal(existsSync(other), false);
      const stolen = caco(['keys', 'init', '--store', 'jetstream', '--nats-url', url, '--site', site, '--data-dir', other]);
      assert.equal(stolen.code, 2, stolen.stderr);
      assert.match(stolen.stderr, /already holds a site's registry, signed by an admin key that is not in/);
      assert.equal(existsSync(join(other, site, 'keys', 'private', 'admin.key')), false, 'init made no admin key for a registry it does not sign');
    } finally {
      const nc = await connectNats({ servers: url, name: 'keys-no-site-cleanup' });
      const store = await KvKeyRegistryStore.open(nc, site, { create: false }).catch(() => undefined);
      await store?.destroy();
      await nc.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
