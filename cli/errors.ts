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
  process.stderr.write(`caco: unexpected error: ${unexpectedText(err)}\n`);
  process.exit(1);
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
