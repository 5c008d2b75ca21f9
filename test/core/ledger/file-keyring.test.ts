import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacoError } from '../../../core/errors/index.ts';
import { FileKeyring } from '../../../core/ledger/keyring.ts';

/**
 * keys.json beside a ledger holds the public keys its signatures are checked with. It comes
 * with a ledger file from someone else, and two processes on one data directory each add
 * their agents' keys to it.
 */
describe('FileKeyring', { timeout: 30_000 }, () => {
  test('two keyrings on one folder (two processes on one data dir) both keep their public keys in keys.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-keyring-'));
    try {
      const a = new FileKeyring(dir);
      const b = new FileKeyring(dir);
      a.sign('grid', new Uint8Array(1));
      b.sign('compute', new Uint8Array(1));
      const reread = new FileKeyring(dir);
      assert.ok(reread.publicKey('compute'), 'compute kept');
      assert.ok(reread.publicKey('grid'), 'grid kept: its public key was dropped from keys.json by the other keyring');
      assert.equal(statSync(join(dir, 'private', 'grid.key')).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a keys.json or private key that is not what it should be is a CacoError naming the file, not a crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-keyring-'));
    try {
      const cases: Array<[string, RegExp]> = [
        ['{"keys":', /keys\.json.*not JSON/],
        ['[1,2]', /keys\.json.*"keys"/],
        ['{"keys": {"grid": "AAAA"}}', /keys\.json.*"grid".*32-byte/],
        ['{"keys": {"grid": 7}}', /keys\.json.*"grid".*32-byte/],
      ];
      for (const [text, pattern] of cases) {
        writeFileSync(join(dir, 'keys.json'), text);
        assert.throws(() => new FileKeyring(dir), (err: unknown) => err instanceof CacoError && pattern.test(err.message), text);
      }
      rmSync(join(dir, 'keys.json'));
      mkdirSync(join(dir, 'private'));
      writeFileSync(join(dir, 'private', 'grid.key'), 'not a seed\n', { mode: 0o600 });
      const k = new FileKeyring(dir);
      assert.throws(() => k.sign('grid', new Uint8Array(1)), (err: unknown) => err instanceof CacoError && /grid\.key.*32-byte/.test(err.message));
      assert.equal(readFileSync(join(dir, 'private', 'grid.key'), 'utf8'), 'not a seed\n', 'a bad key file is reported, never replaced');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
