import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors/index.ts';
import { withFileLock } from '../core/ledger/index.ts';

/** A held `run.lock`; `release` removes it only while it still names this process. */
export interface RunLock {
  readonly path: string;
  release(): void;
}

/** Locks this process holds, by path: a second start in the same process is refused too. */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Take `<folder>/run.lock` for as long as the site runs: two processes writing one ledger and
 * one anchor file fork the anchor for good (each numbers checkpoints from its own last one).
 * The lock file holds the PID; a PID that is no longer alive (a kill -9) is taken over. The
 * read-check-write is done under withFileLock's short O_EXCL lock, so two starts that find
 * the same stale PID cannot both take it over.
 */
export function acquireRunLock(folder: string): RunLock {
  const path = join(folder, 'run.lock');
  try {
    mkdirSync(folder, { recursive: true });
    withFileLock(path, take);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new UsageError(`${folder}: caco run cannot write there (${code}); it writes its ledger, anchor and run.lock in the site's folder: run as the user that owns it, make it writable, or give a writable --data-dir`);
    throw err;
  }
  held.add(path);
  return {
    path,
    release() {
      if (!held.delete(path)) return;
      withFileLock(path, () => {
        if (holderOf(path) === process.pid) rmSync(path, { force: true });
      });
    },
  };

  function take(): void {
    const pid = holderOf(path);
    if (pid !== undefined && (held.has(path) || (pid !== process.pid && alive(pid)))) {
      throw new UsageError(`${folder} is in use by another caco run (PID ${pid}, ${path}); stop it first, or give another --data-dir or --site (if no caco process has that PID, remove ${path})`);
    }
    writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
  }
}
