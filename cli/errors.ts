import { CacoError } from '../core/errors/index.ts';
import { describePermissionViolation } from '../core/nats-auth/index.ts';

/** A problem the user can fix: printed as one line, exit code 2 (declared in core/errors/errors.ts, shared with sim/). */
export { UsageError } from '../core/errors/index.ts';

/** Print an error the way the CLI promises: one line that names the problem and the fix. */
export function reportAndExit(err: unknown): never {
  if (err instanceof CacoError) {
    process.stderr.write(`caco: ${err.message}\n`);
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
