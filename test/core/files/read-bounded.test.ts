// test-file-timeout: 60
/**
 * Small files read whole (keys, credentials, config, key directories) are refused, by name,
 * when they are not regular files or are larger than any honest one, before they are read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBoundedText } from '../../../core/files/index.ts';
import { FileKeyring } from '../../../core/ledger/keyring.ts';
import { ConfigError } from '../../../core/errors/errors.ts';

const refuse = (reason: string) => new Error(`the file ${reason}`);

test('a file within the bound is read whole, to the byte', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-bounded-'));
  try {
    const f = join(dir, 'a.json');
    const text = `{"k":"${'é'.repeat(500)}"}`;
    writeFileSync(f, text);
    assert.equal(readBoundedText(f, Buffer.byteLength(text), refuse), text);
    assert.throws(() => readBoundedText(f, Buffer.byteLength(text) - 1, refuse), /the file is 1\d{3} bytes; at most 1\d{3} bytes is read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a FIFO, a device, a folder and a missing file are refused without reading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-bounded-'));
  try {
    const fifo = join(dir, 'keys.fifo');
    execFileSync('mkfifo', [fifo]);
    // Opening a FIFO to read blocks until a writer comes: the call must return, refused.
    assert.throws(() => readBoundedText('/dev/zero', 1024, refuse), /the file is not a regular file/);
    mkdirSync(join(dir, 'folder'));
    assert.throws(() => readBoundedText(join(dir, 'folder'), 1024, refuse), /the file is not a regular file/);
    assert.throws(() => readBoundedText(join(dir, 'missing'), 1024, refuse), /the file cannot be read \(ENOENT\)/);
    assert.throws(() => readBoundedText(fifo, 1024, refuse), /the file is not a regular file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a ledger's keys.json of 64 MiB (sparse) is refused naming the file and its size", () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-bounded-'));
  try {
    const pub = join(dir, 'keys.json');
    writeFileSync(pub, '{"keys":{}}');
    truncateSync(pub, 64 * 2 ** 20);
    assert.throws(
      () => new FileKeyring(dir),
      (err: unknown) => err instanceof ConfigError && err.message.includes(pub) && /is 64 MiB; at most 16 MiB is read/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
