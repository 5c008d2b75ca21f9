// test-file-timeout: 30
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceFolder } from '../../cli/replace-folder.ts';

function folder(path: string, text: string): void {
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'report.json'), text);
}

test('a finished run replaces the old one, and a failed move keeps the old one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-replace-'));
  try {
    const target = join(dir, 'run');
    folder(target, 'old');
    folder(join(dir, 'run.partial'), 'new');
    replaceFolder(join(dir, 'run.partial'), target);
    assert.equal(readFileSync(join(target, 'report.json'), 'utf8'), 'new');
    assert.equal(existsSync(join(dir, 'run.partial')), false);
    assert.equal(existsSync(join(dir, 'run.previous')), false);

    // The move in fails (nothing to move): the run that was there is still there.
    assert.throws(() => replaceFolder(join(dir, 'missing.partial'), target), /ENOENT/);
    assert.equal(readFileSync(join(target, 'report.json'), 'utf8'), 'new');

    // No old run: the new one is simply moved in.
    folder(join(dir, 'other.partial'), 'first');
    replaceFolder(join(dir, 'other.partial'), join(dir, 'other'));
    assert.equal(readFileSync(join(dir, 'other', 'report.json'), 'utf8'), 'first');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
