// test-file-timeout: 240
/**
 * `caco keys revoke` on the site's own keys (admin, and the parties whose private keys the site
 * holds) is refused without --force-site-key: revoking one of them made `caco keys add` and
 * `caco run` fail for good. A third party's key is revoked as before.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSiteIdentity } from '../../core/identity/index.ts';
import { FileKeyring } from '../../core/ledger/index.ts';
import { loadConfig } from '../../core/config/index.ts';
import { SimulatedClock } from '../../core/clock/simulated-clock.ts';

const root = join(import.meta.dirname, '../..');

function caco(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')).join('\n'), stdout: r.stdout.trim() };
}

describe("caco keys revoke on the site's own keys", { timeout: 200_000 }, () => {
  test('admin and a local party are refused in one line (exit 2) and the site still works; --force-site-key revokes a local party; a third party is revoked as before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-keys-site-'));
    const data = join(dir, 'var');
    try {
      assert.equal(caco(['keys', 'init', '--data-dir', data]).code, 0);
      const bob = caco(['keys', 'add', '--party', 'bob', '--key-id', 'bob-1', '--out', join(dir, 'bob.key'), '--data-dir', data]);
      assert.equal(bob.code, 0, bob.stderr);
      // The site's operator, registered as `caco run` does it: its key in the site's keyring.
      const config = loadConfig({ env: {}, overrides: { dataDir: data } });
      const identity = await openSiteIdentity({ config, keyring: new FileKeyring(join(data, 'london', 'keys')), clock: new SimulatedClock(Date.parse('2023-07-03T00:00:00Z')) });
      try {
        await identity.ensureLocal('operator');
      } finally {
        await identity.close();
      }

      for (const [keyId, what] of [['admin', "the site's admin key"], ['operator', 'the key this site\'s "operator" signs with']] as const) {
        const r = caco(['keys', 'revoke', keyId, '--data-dir', data]);
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stderr.split('\n').length, 1, r.stderr);
        assert.ok(r.stderr.startsWith(`caco: keyId: "${keyId}" is ${what}`), r.stderr);
        assert.match(r.stderr, /--force-site-key/);
      }
      // Nothing was revoked: the site still adds keys and its entries are all active.
      const carol = caco(['keys', 'add', '--party', 'carol', '--key-id', 'carol-1', '--out', join(dir, 'carol.key'), '--data-dir', data]);
      assert.equal(carol.code, 0, carol.stderr);
      const listed = caco(['keys', 'list', '--json', '--data-dir', data]);
      assert.equal(listed.code, 0, listed.stderr);
      const entries = (JSON.parse(listed.stdout) as { entries: Array<{ keyId: string; status: string }> }).entries;
      assert.deepEqual(entries.map((e) => `${e.keyId}:${e.status}`).sort(), ['admin:active', 'bob-1:active', 'carol-1:active', 'operator:active']);

      // A third party's key needs no flag.
      const third = caco(['keys', 'revoke', 'bob-1', '--data-dir', data]);
      assert.equal(third.code, 0, third.stderr);
      // With the flag, the site's own key is revoked (a leaked key).
      const forced = caco(['keys', 'revoke', 'operator', '--force-site-key', '--data-dir', data]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, /^revoked operator \(party operator\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
