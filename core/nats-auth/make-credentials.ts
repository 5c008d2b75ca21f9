import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { ConfigError } from '../errors/errors.ts';
import { formatSeedFile } from './credentials.ts';
import { assertUserSpec, type NatsUserSpec } from './permissions.ts';
import { renderAccountsConf, type NatsUserEntry } from './server-config.ts';
import { readBoundedText } from '../files/read-bounded.ts';

/** An nkey seed file is one line of 58 characters. */
const MAX_SEED_FILE_BYTES = 64 * 1024;

export interface MakeCredentialsOptions {
  /** Folder for the seeds and the server include; made private (0700) if new. Keep it out of git. */
  readonly dir: string;
  readonly users: ReadonlyArray<NatsUserSpec>;
  /** Named in the generated file's header. */
  readonly generatedBy?: string;
}

export interface MadeUser extends NatsUserEntry {
  readonly seedFile: string;
  /** False when an existing seed file was kept (re-running never changes a user's key). */
  readonly created: boolean;
}

export interface MadeCredentials {
  /** The server include: `include "<this>"` in the nats-server configuration. */
  readonly accountsFile: string;
  readonly users: ReadonlyArray<MadeUser>;
}

export const ACCOUNTS_FILE = 'accounts.conf';

/**
 * Make (or keep) one nkey per user and write the server's `accounts` include for exactly
 * these users. Seeds are written 0600 and never overwritten; the include holds public keys
 * only. Nothing is written unless every user is valid.
 */
export function makeNatsCredentials(opts: MakeCredentialsOptions): MadeCredentials {
  for (const u of opts.users) assertUserSpec(u);
  const seen = new Set<string>();
  for (const u of opts.users) {
    if (seen.has(u.name)) throw new ConfigError('users', `user name "${u.name}" is given twice; names are unique across roles and sites`);
    seen.add(u.name);
  }
  if (!existsSync(opts.dir)) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    chmodSync(opts.dir, 0o700);
  }
  // Defence in depth: even if the folder ends up inside a repository, git ignores it.
  const ignore = join(opts.dir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# NATS user seeds: secrets, never commit\n*\n');
  const users: MadeUser[] = [];
  for (const u of opts.users) {
    const seedFile = join(opts.dir, `${u.name}.nk`);
    let seed: Uint8Array;
    let created = false;
    if (existsSync(seedFile)) {
      const line = readBoundedText(seedFile, MAX_SEED_FILE_BYTES, (reason) => new ConfigError(seedFile, reason))
        .split(/\r?\n/)
        .map((l) => l.trim())
        .find((l) => /^SU[A-Z2-7]{56}$/.test(l));
      if (!line) throw new ConfigError(seedFile, 'exists but holds no user nkey seed; move it away to make a new key');
      seed = new TextEncoder().encode(line);
    } else {
      seed = nkeys.createUser().getSeed();
      created = true;
    }
    const publicKey = nkeys.fromSeed(seed).getPublicKey();
    const entry: NatsUserEntry = { ...u, publicKey };
    // Rewritten even when kept, so its comments say the user's current role and site.
    writePrivate(seedFile, formatSeedFile(entry, new TextDecoder().decode(seed)));
    users.push({ ...entry, seedFile, created });
  }
  const accountsFile = join(opts.dir, ACCOUNTS_FILE);
  const tmp = `${accountsFile}.tmp`;
  writeFileSync(tmp, renderAccountsConf(users, opts.generatedBy ? { generatedBy: opts.generatedBy } : {}), { mode: 0o644 });
  renameSync(tmp, accountsFile);
  return { accountsFile, users };
}

function writePrivate(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
