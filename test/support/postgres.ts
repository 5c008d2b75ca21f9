import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The shared development/CI server, unless CACO_DATABASE_URL points elsewhere. */
export function postgresUrl(): string {
  return process.env['CACO_DATABASE_URL'] || 'postgres://root@127.0.0.1:5432/test';
}

/**
 * The `skip` option for PostgreSQL tests: a reason on a machine without the server, `false`
 * when it answers, and `false` when CI=true too, so that in CI a missing server fails the
 * tests rather than hiding them.
 */
export async function postgresSkip(url = postgresUrl()): Promise<string | false> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2500 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return false;
  } catch (err) {
    const reason = `PostgreSQL at ${url} unreachable (${err instanceof Error ? err.message || err.constructor.name : String(err)})`;
    if (process.env['CI'] === 'true') {
      process.stderr.write(`CI=true and ${reason}: the PostgreSQL tests will run and fail\n`);
      return false;
    }
    return `${reason}; start PostgreSQL or set CACO_DATABASE_URL`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A schema name no other test run uses (tests drop it when done). */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
