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
