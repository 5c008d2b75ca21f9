import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { ConfigError } from '../errors/errors.ts';

export interface FileLockOptions {
  /** How long to wait for another holder (ms). */
  readonly timeoutMs?: number;
  /** A lock file older than this is taken to be left by a process that died holding it (ms). */
  readonly staleMs?: number;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Run `fn` while holding `<path>.lock`, a file created exclusively (O_EXCL), so processes
 * that read, change and replace `path` do it one at a time instead of the last writer
 * dropping what the others added. Synchronous, because its callers are (a keyring makes a key
 * inside a sync signing call); it waits in 2 ms naps. proper-lockfile's lockSync does not
 * wait at all, and its waiting lock is async. Holders keep it for milliseconds, so a lock
 * older than `staleMs` (10 s) is removed as left behind.
 */
export function withFileLock<T>(path: string, fn: () => T, o: FileLockOptions = {}): T {
  const lock = `${path}.lock`;
  const timeoutMs = o.timeoutMs ?? 5_000;
  const staleMs = o.staleMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let age: number;
    try {
      age = Date.now() - statSync(lock).mtimeMs;
    } catch {
      continue; // released between our attempt and the look: try again at once
    }
    if (age > staleMs) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new ConfigError(lock, `held by another process for more than ${timeoutMs / 1000} s; if no other caco process uses this folder, remove the file`);
    Atomics.wait(pause, 0, 0, 2);
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
