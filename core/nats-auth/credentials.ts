/**
 * A NATS user's credentials file: what `--creds <file>` / `NATS_CREDS` point at.
 *
 * CACO writes nkey seed files (`caco nats creds`): comment lines, then the seed on a line of
 * its own, the layout the `nats` CLI reads with `--nkey <file>`. A `# inbox-prefix:` comment
 * names the reply-subject prefix the user is allowed to subscribe to. A JWT `.creds` file
 * (operator mode, made by `nsc`) is accepted too.
 */
import { statSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, nkeys, type Authenticator } from '@nats-io/transport-node';
import { ConfigError } from '../errors/errors.ts';
import type { NatsUserEntry } from './server-config.ts';
import { inboxPrefixOf } from './permissions.ts';
import { readBoundedText } from '../files/read-bounded.ts';

/** A credentials file is a JWT and a seed, about 1 KB. */
const MAX_CREDS_BYTES = 64 * 1024;

export interface NatsCredentials {
  readonly authenticator: Authenticator;
  /** Reply subjects start with this instead of `_INBOX` (a third party may only read its own). */
  readonly inboxPrefix?: string;
  /** Where they came from, for messages (a file path, never the secret). */
  readonly source: string;
}

/** How errors name the setting: the flag and the variable both lead here. */
const CREDS_SETTING = '--creds / NATS_CREDS';
const USER_SEED = /^SU[A-Z2-7]{56}$/;
const INBOX_PREFIX = /^#\s*inbox-prefix:\s*(\S+)\s*$/;
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;

/** The contents of a credentials file as connection settings; `source` names it in errors. */
export function parseNatsCredentials(text: string, source: string): NatsCredentials {
  let inboxPrefix: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const m = INBOX_PREFIX.exec(raw.trim());
    if (m) {
      if (!SUBJECT_TOKEN.test(m[1]!)) throw new ConfigError(CREDS_SETTING, `${source}: inbox-prefix "${m[1]}" must be one subject token (letters, digits, "_", "-")`);
      inboxPrefix = m[1];
    }
  }
  const withPrefix = inboxPrefix ? { inboxPrefix } : {};
  if (/-----BEGIN NATS USER JWT-----/.test(text)) {
    return { authenticator: credsAuthenticator(new TextEncoder().encode(text)), source, ...withPrefix };
  }
  const seeds = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => USER_SEED.test(l));
  if (seeds.length !== 1) {
    throw new ConfigError(CREDS_SETTING, `${source}: expected one user nkey seed (a line starting with SU) or a JWT .creds file, found ${seeds.length === 0 ? 'none' : seeds.length}; make one with \`caco nats creds\``);
  }
  const seed = new TextEncoder().encode(seeds[0]);
  try {
    nkeys.fromSeed(seed);
  } catch (err) {
    throw new ConfigError(CREDS_SETTING, `${source}: the seed is not a valid nkey (${err instanceof Error ? err.message : String(err)})`);
  }
  return { authenticator: nkeyAuthenticator(seed), source, ...withPrefix };
}

/**
 * Read a credentials file. One that others can read is refused, as ssh refuses a private key
 * anyone can read: whoever holds the seed is that user.
 */
export function loadNatsCredentials(file: string): NatsCredentials {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readBoundedText(file, MAX_CREDS_BYTES, (reason) => new ConfigError(CREDS_SETTING, `credentials file ${file} ${reason}`));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(CREDS_SETTING, `cannot read credentials file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (process.platform !== 'win32' && (mode & 0o004) !== 0) {
    throw new ConfigError(CREDS_SETTING, `${file} is readable by every user on this machine (mode ${(mode & 0o777).toString(8)}); chmod 600 ${file}`);
  }
  return parseNatsCredentials(text, file);
}

/** The seed file `caco nats creds` writes for one user. */
export function formatSeedFile(user: NatsUserEntry, seed: string): string {
  if (!USER_SEED.test(seed)) throw new ConfigError('seed', `not a user nkey seed`);
  return [
    `# CACO NATS credentials: user "${user.name}", ${user.role}${user.site ? ` of site ${user.site}` : ''}.`,
    '# Secret: whoever holds this file is this user. Keep it mode 0600, never commit it.',
    `# Public key: ${user.publicKey}`,
    `# inbox-prefix: ${inboxPrefixOf(user)}`,
    `# Use: caco <command> --creds <this file> (or NATS_CREDS); nats --nkey <this file> --inbox-prefix ${inboxPrefixOf(user)}`,
    seed,
    '',
  ].join('\n');
}

/**
 * A one-line explanation when `err` (or its cause) is the server refusing this user a
 * subject; undefined otherwise. The server's own words name the subject and the direction.
 */
export function describePermissionViolation(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const m = /Permissions Violation for (Publish|Subscription) to "([^"]+)"/i.exec(e.message);
    if (m) {
      const verb = m[1]!.toLowerCase() === 'publish' ? 'publish to' : 'subscribe to';
      return `NATS refused this user permission to ${verb} ${m[2]}: the credentials (--creds / NATS_CREDS) are not those of a role allowed to do this, or name another site (docs/deployment-security.md)`;
    }
  }
  return undefined;
}
