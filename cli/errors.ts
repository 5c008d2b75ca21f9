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
  process.stderr.write(`caco: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
