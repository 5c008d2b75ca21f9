import { createHash } from 'node:crypto';
import { ConfigError } from '../errors/errors.ts';

/** PostgreSQL's limit on an identifier (NAMEDATALEN - 1): a longer one is cut silently. */
const MAX_IDENTIFIER = 63;

import { redactUrl } from '../config/redact.ts';
export { redactUrl };

/** Check a database URL early, with a message naming the setting, rather than deep in `pg`. */
export function checkDatabaseUrl(raw: string | undefined, setting = '--database-url', env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (raw === undefined || raw.trim() === '') {
    throw new ConfigError(setting, 'the PostgreSQL store needs a database URL, e.g. --database-url postgres://root@127.0.0.1:5432/test (or CACO_DATABASE_URL)');
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(setting, `"${redactUrl(raw)}" is not a URL; use e.g. postgres://user@host:5432/database`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new ConfigError(setting, `"${redactUrl(raw)}" is not a PostgreSQL URL; it must start with postgres:// or postgresql://`);
  if (!u.hostname) throw new ConfigError(setting, `"${redactUrl(raw)}" names no host`);
  // pg falls back to PGUSER, then USER; with neither (a service, a container) the server's
  // answer is only "no PostgreSQL user name specified in startup packet".
  if (!u.username && !u.searchParams.get('user') && !env['PGUSER'] && !env['USER']) {
    throw new ConfigError(setting, `"${redactUrl(raw)}" names no user, and neither PGUSER nor USER is set; put the user in the URL, e.g. postgres://root@${u.host}${u.pathname}`);
  }
  return raw;
}

/**
 * The PostgreSQL schema of a site's ledger: `caco_<site>` ("-" becomes "_"), so several
 * sites (and every simulation run, which has a site name of its own) share one database
 * without sharing a ledger. A name longer than PostgreSQL's 63 characters keeps its first
 * 46 and ends with 16 hex digits of the SHA-256 of the whole site name: cutting it instead
 * dropped a run's unique end (its start time), and runs minutes apart shared one ledger.
 * A site's name (at most 32 characters) always fits, so its schema is `caco_<site>`.
 */
export function ledgerSchemaFor(site: string): string {
  const name = `caco_${site.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  if (name.length <= MAX_IDENTIFIER) return name;
  const hash = createHash('sha256').update(site).digest('hex').slice(0, 16);
  return `${name.slice(0, MAX_IDENTIFIER - hash.length - 1)}_${hash}`;
}
