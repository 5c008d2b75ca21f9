import { closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { UsageError } from '../core/errors/index.ts';
import { notWritableCode } from '../core/files/index.ts';
import { distrustSchema, untrustedSchemaProblem } from '../core/store/index.ts';

/** A held `run.lock`; `release` lets it go (the file stays: see acquireRunLock). */
export interface RunLock {
  readonly path: string;
  release(): void;
}

/** Locks this process holds, by path: a second start in the same process is refused too. */
const held = new Set<string>();

const isBusy = (err: unknown): boolean => {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
};

/** Who holds the lock, from the note it wrote beside it (best effort: only for the message). */
function holderNote(notePath: string): string {
  try {
    const text = readFileSync(notePath, 'utf8').slice(0, 200).trim();
    return text ? ` (${text})` : '';
  } catch {
    return '';
  }
}

/**
 * Take `<folder>/run.lock` for as long as the site runs: two processes writing one ledger and
 * one anchor file fork the anchor for good (each numbers checkpoints from its own last one).
 *
 * The lock is the operating system's, on an open file (SQLite's exclusive lock on run.lock,
 * held by a connection in exclusive locking mode), not a PID written in a file: the kernel
 * drops it when the process dies however it dies, so a kill -9 or a power cut never leaves a
 * lock behind, and a PID reused after a reboot, or PID 1 in every container, can neither block
 * a restart nor let a second process in. The file itself stays after release: deleting it
 * could let one process lock the old file while another creates and locks a new one.
 * `run.lock.holder` says who holds it, for the refusal's message only.
 */
export function acquireRunLock(folder: string, o: { readonly name?: string; readonly removeOnRelease?: boolean; readonly instead?: string } = {}): RunLock {
  const path = join(folder, o.name ?? 'run.lock');
  const notePath = `${path}.holder`;
  const refuse = () => new UsageError(`${folder} is in use by another caco run${holderNote(notePath)}; stop it first, or ${o.instead ?? 'give another --data-dir or --site'} (the lock is ${path}, held by a running process and let go when it ends)`);
  if (held.has(path)) throw refuse();
  let db: Database.Database | undefined;
  try {
    mkdirSync(folder, { recursive: true });
    db = openLocked(path);
  } catch (err) {
    db?.close();
    if (isBusy(err)) throw refuse();
    const code = notWritableCode(err);
    if (code) throw new UsageError(`${folder}: caco run cannot write there (${code}); it writes its ledger, anchor and run.lock in the site's folder: run as the user that owns it, make it writable, or give a writable --data-dir`);
    throw err;
  }
  held.add(path);
  try {
    // Not through a symlink planted in its place: the note would overwrite whatever it points at.
    const fd = openSync(notePath, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, `PID ${process.pid} on ${hostname()}, since ${new Date().toISOString()}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The note is for messages only; the lock is held without it.
  }
  const conn = db;
  return {
    path,
    release() {
      if (!held.delete(path)) return;
      rmSync(notePath, { force: true });
      // Removed while still held, so no other process can be waiting on this file: one that
      // opened it earlier found it locked and was refused. (A process opening it in the instant
      // between the removal and the close could still take the old file while a third makes a
      // new one: for a site's ledger folder the file stays; `removeOnRelease` is for a
      // simulation's output folder, which should hold nothing but runs.)
      if (o.removeOnRelease) rmSync(path, { force: true });
      conn.close();
    },
  };
}

function openLocked(path: string): Database.Database {
  // timeout 0: a lock held by a running site is an answer now, not after a wait.
  const db = new Database(path, { timeout: 0 });
  try {
    // Exclusive locking mode keeps the lock of the first write until the connection closes.
    db.pragma('locking_mode = EXCLUSIVE');
    // The file is in the site's folder, where anyone who can write there can plant one: a
    // trigger on holder kept DELETE below (and caco run) at full CPU, deaf to SIGTERM (a
    // helper's review). Read here, nobody holds it (a holder's exclusive lock makes this busy).
    distrustSchema(db);
    const hostile = untrustedSchemaProblem(db);
    if (hostile !== undefined) throw new UsageError(`${path} ${hostile}: it is not a lock caco wrote, and no running process holds it; remove it and start again`);
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL)');
    db.exec('DELETE FROM holder');
    db.prepare('INSERT INTO holder (pid, host, since) VALUES (?, ?, ?)').run(process.pid, hostname(), new Date().toISOString());
    return db;
  } catch (err) {
    db.close();
    // A run.lock from before the lock was SQLite's held only a PID: replaced.
    if ((err as { code?: unknown }).code === 'SQLITE_NOTADB' && /^\d+\s*$/.test(readFileSync(path, 'utf8').slice(0, 32))) {
      rmSync(path, { force: true });
      return openLocked(path);
    }
    throw err;
  }
}
