// test-file-timeout: 120
/**
 * Found by a helper's review, run there: a --data-dir that is a file ended in ENOTDIR with a
 * stack trace (a symlink loop in ELOOP), and `models retrain --out <a file>` ran the whole fit
 * before failing with EEXIST and a stack trace. A file system error on a path the user gave is
 * one line naming the path and why, exit 2; retrain checks --out before it fits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSystemText } from '../../cli/errors.ts';

const root = join(import.meta.dirname, '../..');
const caco = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/caco.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 100_000, env: { ...process.env, LOG_LEVEL: 'error' } });

test('fileSystemText names the path, the operation and why; other errors are not its', () => {
  const err = Object.assign(new Error("ENOTDIR: not a directory, mkdir '/x/file/keys'"), { code: 'ENOTDIR', path: '/x/file/keys', syscall: 'mkdir' });
  assert.equal(fileSystemText(err), '/x/file/keys: cannot mkdir: a part of the path is a file where a folder is needed (ENOTDIR); check the path given (--data-dir, --out, --ledger and the like)');
  assert.equal(fileSystemText(new Error('x')), undefined);
  assert.equal(fileSystemText(Object.assign(new Error('x'), { code: 'EWHATEVER', path: '/p' })), undefined);
});

test('a --data-dir that is a file, or a symlink loop: one line, exit 2; retrain --out a file: refused before the fit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-fs-errors-'));
  try {
    writeFileSync(join(dir, 'afile'), '');
    symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
    for (const dataDir of [join(dir, 'afile'), join(dir, 'loop')]) {
      const r = caco(['keys', 'init', '--data-dir', dataDir]);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /^caco: .*: cannot \w+: .*\((ENOTDIR|ELOOP|EEXIST)\)/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const retrain = caco(['models', 'retrain', '--until', '2023-07-01', '--out', join(dir, 'afile')]);
    assert.equal(retrain.status, 2, retrain.stdout + retrain.stderr);
    assert.match(retrain.stderr, /^caco: --out: .*afile is not a folder/);
    assert.doesNotMatch(retrain.stdout, /fitted/, 'nothing was fitted first');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
