import { CacoError } from '../core/errors/index.ts';
import { describePermissionViolation } from '../core/nats-auth/index.ts';
import { inert } from './terminal.ts';

/** A problem the user can fix: printed as one line, exit code 2 (declared in core/errors/errors.ts, shared with sim/). */
export { UsageError } from '../core/errors/index.ts';

/** Print an error the way the CLI promises: one line that names the problem and the fix. */
export function reportAndExit(err: unknown): never {
  if (err instanceof CacoError) {
    // One line whatever the message quotes (a path, an id, a file's contents).
    process.stderr.write(`caco: ${inert(err.message)}\n`);
    process.exit(2);
  }
  const refused = describePermissionViolation(err);
  if (refused) {
    process.stderr.write(`caco: ${refused}\n`);
    process.exit(2);
  }
  const damaged = damagedFileText(err);
  if (damaged) {
    process.stderr.write(`caco: ${damaged}\n`);
    process.exit(1);
  }
  const fsProblem = fileSystemText(err);
  if (fsProblem) {
    process.stderr.write(`caco: ${fsProblem}\n`);
    process.exit(2);
  }
  process.stderr.write(`caco: unexpected error: ${unexpectedText(err)}\n`);
  process.exit(1);
}

/**
 * A SQLite file found damaged part-way through a read (a corrupt page of a ledger handed
 * over): one line that says so and what to do, exit 1 as for any broken ledger, not a stack
 * trace. Undefined for any other error.
 */
export function damagedFileText(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return undefined;
  const why = err instanceof Error ? err.message : code;
  return inert(`a SQLite file this command read is damaged (${why}; ${code}), so it could not be read to the end; nothing was changed: check the file with sqlite3 <file> "PRAGMA integrity_check", and restore it from a copy`);
}

const FS_CODES: Readonly<Record<string, string>> = {
  ENOTDIR: 'a part of the path is a file where a folder is needed',
  EISDIR: 'it is a folder where a file is needed',
  EEXIST: 'something is already there (a file where a folder is needed?)',
  ELOOP: 'too many symbolic links (a loop?)',
  ENOENT: 'it does not exist',
  ENAMETOOLONG: 'the name is too long',
  ENOSPC: 'no space is left on the device',
  EACCES: 'this user may not do that there',
  EPERM: 'this user may not do that there',
  EROFS: 'the file system is read-only',
};

/**
 * A file system error on a path the user gave (a --data-dir that is a file, an --out that
 * exists as a file, a symlink loop): one line naming the path, the operation and why, exit 2,
 * not a stack trace. Undefined for any other error.
 */
export function fileSystemText(err: unknown): string | undefined {
  const e = err as { code?: unknown; path?: unknown; syscall?: unknown } | null;
  if (typeof e?.code !== 'string' || typeof e.path !== 'string') return undefined;
  const why = FS_CODES[e.code];
  if (why === undefined) return undefined;
  return inert(`${e.path}: cannot ${typeof e.syscall === 'string' ? e.syscall : 'use it'}: ${why} (${e.code}); check the path given (--data-dir, --out, --ledger and the like)`);
}

/**
 * An error no one expected, for the terminal: its message on one line, made inert (a library's
 * message can quote what a file held: SQLite names a table of a ledger someone handed over,
 * and its escape sequences cleared the screen and printed a green "ledger OK"), then the stack's
 * frames, which name only this program's code.
 */
export function unexpectedText(err: unknown): string {
  if (!(err instanceof Error)) return inert(String(err));
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  return [inert(`${err.name}: ${err.message}`), ...frames.map(inert)].join('\n');
}
