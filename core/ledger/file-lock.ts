import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { ConfigError } from '../errors/errors.ts';

export interface FileLockOptions {
  /** How long one holder may keep the lock before a waiter gives up, naming it (ms). */
  readonly timeoutMs?: number;
  /** A lock file older than this is taken to be left by a process that died holding it (ms). */
  readonly staleMs?: number;
  /** How long to wait in all while other processes take their turns (ms). */
  readonly busyMs?: number;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Run `fn` while holding `<path>.lock`, a file created exclusively (O_EXCL), so processes
 * that read, change and replace `path` do it one at a time instead of the last writer
 * dropping what the others added. Synchronous, because its callers are (a keyring makes a key
 * inside a sync signing call); it waits in 2 ms naps. proper-lockfile's lockSync does not
 * wait at all, and its waiting lock is async. Holders keep it for milliseconds, so a lock
 * older than `staleMs` (10 s) is removed as left behind.
 *
 * The lock is not fair: a process that releases it and asks again at once (one making 40 keys
 * in a row) often wins over one napping. So `timeoutMs` counts how long one holder — one lock
 * file, by inode and time — has kept it, not how long this waiter has waited: six processes
 * making keys at once, each holding for the few fsyncs of a key, had a waiter give up after
 * 5 s with "held by another process for more than 5 s", which no holder had. While the lock
 * changes hands, waiting goes on up to `busyMs` (60 s).
 */
export function withFileLock<T>(path: string, fn: () => T, o: FileLockOptions = {}): T {
  const lock = `${path}.lock`;
  const timeoutMs = o.timeoutMs ?? 5_000;
  const staleMs = o.staleMs ?? 10_000;
  const busyMs = o.busyMs ?? 60_000;
  const started = Date.now();
  let holder = '';
  let holderSeen = started;
  let turns = 0;
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
    const now = Date.now();
    try {
      const st = statSync(lock);
      age = now - st.mtimeMs;
      const id = `${st.ino}:${st.mtimeMs}`;
      if (id !== holder) {
        if (holder !== '') turns++;
        holder = id;
        holderSeen = now;
      }
    } catch {
      continue; // released between our attempt and the look: try again at once
    }
    if (age > staleMs) {
      rmSync(lock, { force: true });
      continue;
    }
    if (now - holderSeen > timeoutMs) throw new ConfigError(lock, `held by another process for more than ${timeoutMs / 1000} s; if no other caco process uses this folder, remove the file`);
    if (now - started > busyMs) throw new ConfigError(lock, `taken by other processes ${turns} times in ${busyMs / 1000} s without a turn for this one; too many processes are making keys or anchors in this folder at once`);
    Atomics.wait(pause, 0, 0, 2);
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
