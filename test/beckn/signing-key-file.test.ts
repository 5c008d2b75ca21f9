// test-file-timeout: 30
/**
 * Found by a helper's review: the BPP's signing key was written straight to its final path, so a
 * process killed between creating it and writing it left it empty, and every start after that
 * failed with "Unexpected end of JSON input". Key files are now written atomically
 * (writeFileAtomic), and an empty one is named as such, with what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSigningKeyFile } from '../../beckn/index.ts';
import { writeFileAtomic } from '../../core/files/index.ts';
import { ConfigError } from '../../core/errors/index.ts';

test('an empty signing key file is refused saying it is empty and what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-bpp-key-'));
  try {
    const path = join(dir, 'bpp.signing-key.json');
    writeFileSync(path, '', { mode: 0o600 });
    assert.throws(() => loadSigningKeyFile(path), (e: unknown) => e instanceof ConfigError && /is empty \(its making was cut short\): if no BAP has registered its public half yet, delete it/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic leaves the whole text, the mode asked for, and no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-atomic-'));
  try {
    const path = join(dir, 'k.json');
    writeFileSync(path, 'old');
    writeFileAtomic(path, '{"new":true}\n', 0o600);
    assert.equal(readFileSync(path, 'utf8'), '{"new":true}\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['k.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
