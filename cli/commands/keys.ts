import { Command, Option } from 'commander';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { UsageError } from '../errors.ts';
import { SystemClock } from './system-clock.ts';
import { siteDir } from '../../core/stack/index.ts';
import { redactNatsServers, SITE_NAME, type CacoConfig } from '../../core/config/index.ts';
import { FileKeyring, publicKeyFromRaw } from '../../core/ledger/index.ts';
import { ADMIN_PARTY, checkNewKeyFields, keyBucketName, KeyRegistry, KeyRegistryError, newKeyFile, openRegistryStore, readKeyFile, reservedPartyReason, ROLES, SiteIdentity, writeKeyFile, type KeyRegistryStore, type Role, type SignedKeyEntry } from '../../core/identity/index.ts';
import { inert } from '../terminal.ts';

interface KeyFlags extends GlobalOptions {
  party?: string;
  role?: Role;
  keyId?: string;
  publicKey?: string;
  key?: string;
  out?: string;
  json?: boolean;
  adminPublicKey?: string;
  forceSiteKey?: boolean;
}

const keyDirOf = (config: CacoConfig) => join(siteDir(config), 'keys');

function roleOption(def?: Role): Option {
  const o = new Option('--role <role>', 'agent | third-party | operator | admin').choices([...ROLES]);
  return def ? o.default(def) : o;
}

/** Where the chosen store keeps a site's key registry, in words a user can check. */
function registryOf(config: CacoConfig): { readonly where: string; readonly path?: string } {
  if (config.store === 'jetstream') return { where: `KV bucket ${keyBucketName(config.site)} on ${redactNatsServers(config.natsUrl)}` };
  const path = join(keyDirOf(config), 'registry.db');
  return { where: path, path };
}

const adminKeyFile = (config: CacoConfig) => join(keyDirOf(config), 'private', `${ADMIN_PARTY}.key`);

/**
 * Adding and revoking act on a site that exists: its registry at the chosen store and its
 * admin key in the data dir. Neither is made here (`caco keys init` makes them): with the store
 * defaulting to SQLite while `caco run` defaults to JetStream, making them on first use set up
 * a second site beside the running one and registered keys there, which the site never read.
 */
function noSite(config: CacoConfig, why: string): never {
  const other =
    config.store === 'jetstream'
      ? 'check --site and --nats-url (a site on SQLite: --store sqlite --data-dir <dir>)'
      : "a site started with `caco run` uses JetStream by default: add --store jetstream --nats-url <url> --data-dir <dir>";
  throw new UsageError(`no site at ${siteDir(config)} (${config.store}): ${why}; ${other}; \`caco keys init\` starts a new site's keys there`);
}

/** The registry store of an existing site, or why there is none (one line, exit 2). */
async function openExistingRegistry(config: CacoConfig): Promise<KeyRegistryStore> {
  const reg = registryOf(config);
  if (reg.path !== undefined) {
    if (!existsSync(reg.path)) return noSite(config, `no key registry ${reg.path}`);
    return openRegistryStore({ config });
  }
  try {
    // create: false on the KV bucket; it is written as before once it is there.
    return await openRegistryStore({ config, mustExist: true });
  } catch (err) {
    if (err instanceof KeyRegistryError && err.message.includes(keyBucketName(config.site))) return noSite(config, `no key registry ${reg.where}`);
    throw err;
  }
}

/** The admin's view of an existing site's registry: needs its admin key, never makes one. */
async function adminIdentity(o: KeyFlags): Promise<{ identity: SiteIdentity; where: string }> {
  const config = configFrom(o);
  const store = await openExistingRegistry(config);
  if (!existsSync(adminKeyFile(config))) {
    await store.close();
    throw new UsageError(`no admin key ${adminKeyFile(config)} for the key registry ${registryOf(config).where}: adding and revoking need the site's admin key; run this with the site's --data-dir`);
  }
  return { identity: new SiteIdentity({ store, keyring: new FileKeyring(keyDirOf(config)), clock: SystemClock }), where: registryOf(config).where };
}

function printEntries(entries: ReadonlyArray<SignedKeyEntry>): void {
  const rows = entries.map((e) => [e.keyId, e.party, e.role, e.status, e.createdAt, e.revokedAt ?? '-', e.publicKey]);
  const head = ['key id', 'party', 'role', 'status', 'created', 'revoked', 'public key (base64)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

/** `caco keys new | add | list | revoke`: the site's key registry (docs/identity.md). */
export function keysCommand(): Command {
  const keys = new Command('keys').description("the site's key registry: who may send commands, in which role (docs/identity.md)");

  const nw = new Command('new')
    .description('make a signing key for a party and write it to a file (mode 0600); the site registers its public half with `caco keys add`')
    .requiredOption('--party <name>', 'the name the key acts under (the `source` of its commands)')
    .addOption(roleOption('third-party'))
    .option('--key-id <id>', 'key id (default <party>-<first 8 hex digits of the public key>)')
    .requiredOption('--out <file>', 'where to write the key file (never overwritten)')
    .option('--site <name>', "the site the key is for: put in the printed `caco keys add` (it makes nothing at the site)");
  nw.action((o: KeyFlags & { site?: string }) => {
    // Only printed, but checked as the site's own option is: a hint to run must run.
    if (o.site !== undefined && !SITE_NAME.test(o.site)) throw new UsageError(`--site: "${o.site}" is not a site name; use lower-case letters, digits and "-", starting with a letter (e.g. london)`);
    const k = newKeyFile({ party: o.party!, role: o.role!, ...(o.keyId ? { keyId: o.keyId } : {}) });
    // Field rules are the registry's, checked before anything is written.
    const problems = checkFields({ keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey });
    if (problems) throw new UsageError(problems);
    writeKeyFile(o.out!, k);
    console.log(`wrote ${o.out} (key id ${k.keyId}, party ${k.party}, role ${k.role}); public key ${k.publicKey}`);
    // Only the public half goes to the site, and to the store the running site reads (JetStream for `caco run`).
    console.log(`register it on the site's machine (a site started with \`caco run\` keeps its registry on JetStream): caco keys add --key-id ${k.keyId} --party ${k.party} --role ${k.role} --public-key ${k.publicKey} --site ${o.site ?? "<the site's name>"} --store jetstream --nats-url <the site's NATS URL> --data-dir <the site's data dir>`);
  });

  const add = new Command('add')
    .description('register a key (signed by the site admin key); give --public-key, or --key <key file>, or --out <file> to make a new key')
    .option('--party <name>', 'the name the key acts under (the `source` of its commands); default: from --key')
    .addOption(roleOption())
    .option('--key-id <id>', 'key id (default: from --key, else <party>-<8 hex digits of the public key>)')
    .option('--public-key <base64>', 'the raw 32-byte ed25519 public key, base64')
    .option('--key <file>', 'a key file from `caco keys new` (only its public half is registered)')
    .option('--out <file>', 'make a new key, register it and write it here (mode 0600)');
  addGlobalOptions(add);
  add.action(async (o: KeyFlags) => {
    const given = [o.publicKey, o.key, o.out].filter((x) => x !== undefined).length;
    if (given !== 1) throw new UsageError('give exactly one of --public-key, --key or --out');
    let k: { keyId: string; party: string; role: Role; publicKey: string };
    let toWrite: ReturnType<typeof newKeyFile> | undefined;
    if (o.key) {
      const f = readKeyFile(o.key);
      k = { keyId: o.keyId ?? f.keyId, party: o.party ?? f.party, role: o.role ?? f.role, publicKey: f.publicKey };
    } else {
      if (!o.party) throw new UsageError('--party is required (with --public-key or --out)');
      const role = o.role ?? 'third-party';
      if (o.out) {
        toWrite = newKeyFile({ party: o.party, role, ...(o.keyId ? { keyId: o.keyId } : {}) });
        k = toWrite;
      } else {
        const pub = o.publicKey!;
        let hex = '';
        try {
          hex = Buffer.from(pub, 'base64').toString('hex').slice(0, 8);
        } catch {
          hex = '';
        }
        k = { keyId: o.keyId ?? `${o.party.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 48)}-${hex}`, party: o.party, role, publicKey: pub };
      }
    }
    const problems = checkFields(k);
    if (problems) throw new UsageError(problems);
    if (toWrite) writeKeyFile(o.out!, toWrite);
    try {
      const { identity, where } = await adminIdentity(o);
      try {
        // Re-registers `admin` if its entry was deleted (docs/identity.md, recovery); makes no key.
        await identity.ensureAdmin();
        const e = await identity.admin.add(k);
        console.log(`registered ${e.keyId} in ${where}: party ${e.party}, role ${e.role}, active since ${e.createdAt}${toWrite ? `; key written to ${o.out}` : ''}`);
      } finally {
        await identity.close();
      }
    } catch (err) {
      // A key the registry did not take is no key of the site's: the file this run made goes.
      if (toWrite) rmSync(o.out!, { force: true });
      throw err;
    }
  });

  const init = new Command('init')
    .description("start a site's keys where no site has run yet: its admin key (in --data-dir) and its key registry at the chosen store; `caco run` does this on a site's first start");
  addGlobalOptions(init);
  init.action(async (o: KeyFlags) => {
    const config = configFrom(o);
    const { where } = registryOf(config);
    const adminFile = adminKeyFile(config);
    const hadAdmin = existsSync(adminFile);
    const store = await openRegistryStore({ config });
    try {
      // A registry whose admin entry is another key is another site's: refused, and no key is made.
      const found = await store.get(ADMIN_PARTY);
      if (!hadAdmin && found !== undefined) throw new UsageError(`${where} already holds a site's registry, signed by an admin key that is not in ${adminFile}: run this with the site's --data-dir`);
      const identity = new SiteIdentity({ store, keyring: new FileKeyring(keyDirOf(config)), clock: SystemClock });
      await identity.ensureAdmin();
      const entry = await identity.registry.lookup(ADMIN_PARTY);
      const pub = entry.found ? `, public ${entry.entry.publicKey}` : '';
      console.log(`${hadAdmin && found !== undefined ? 'site keys already there' : 'site keys made'}: site ${config.site}, admin key ${adminFile}${pub}, key registry ${where}`);
    } finally {
      await store.close();
    }
  });

  const list = new Command('list')
    .description('list the registry; every entry is checked against the admin key, and one that fails is reported (exit 1)')
    .option('--json', 'print the entries as JSON')
    .option('--admin-public-key <base64>', "the site admin's public key, when this machine does not hold the site's keys");
  addGlobalOptions(list);
  list.action(async (o: KeyFlags) => {
    const config = configFrom(o);
    // Only read: no key is made and no registry created by listing.
    const store = await openRegistryStore({ config, mustExist: true });
    try {
      let adminPub = new FileKeyring(keyDirOf(config)).publicKey(ADMIN_PARTY);
      if (o.adminPublicKey) {
        try {
          adminPub = publicKeyFromRaw(Buffer.from(o.adminPublicKey, 'base64'));
        } catch {
          throw new UsageError('--admin-public-key: not the base64 of a raw 32-byte ed25519 public key');
        }
      }
      if (!adminPub) throw new UsageError(`--admin-public-key is required: no admin key in ${keyDirOf(config)} (the site's data dir holds one after its first run)`);
      const { entries, bad } = await new KeyRegistry(store, adminPub).list();
      if (o.json) console.log(JSON.stringify({ entries, ignored: bad }, null, 2));
      else printEntries(entries);
      // A forged entry's id and reason come from whoever wrote the key store: printed inert.
      for (const b of bad) process.stderr.write(`caco: ignored entry "${inert(b.keyId)}": ${inert(b.reason)}\n`);
      if (bad.length) process.exitCode = 1;
    } finally {
      await store.close();
    }
  });

  const revoke = new Command('revoke')
    .description("revoke a key: nothing it signs is accepted from now on (final; the site's own keys need --force-site-key)")
    .argument('<keyId>', 'the key id to revoke')
    .option('--force-site-key', "revoke one of the site's own keys (admin, its agents', operator) that has leaked: the site cannot sign with it again (docs/identity.md)");
  addGlobalOptions(revoke);
  revoke.action(async (keyId: string, o: KeyFlags) => {
    const { identity, where } = await adminIdentity(o);
    try {
      const e = await identity.admin.revoke(keyId, { forceSiteKey: Boolean(o.forceSiteKey) });
      console.log(`revoked ${e.keyId} (party ${e.party}) at ${e.revokedAt} in ${where}`);
    } finally {
      await identity.close();
    }
  });

  return keys.addCommand(init).addCommand(nw).addCommand(add).addCommand(list).addCommand(revoke);
}

function checkFields(k: { keyId: string; party: string; role: string; publicKey: string }): string | null {
  // The gateway would append such a party's facts under the site signer's name, which the audit
  // presents as the site's own; the site's own keys (roles agent, operator, admin) keep them.
  const reserved = reservedPartyReason(k.party, k.role);
  if (reserved !== undefined) return `--party: ${reserved}`;
  const p = checkNewKeyFields(k);
  if (!p.length) return null;
  const flag: Record<string, string> = { keyId: '--key-id', party: '--party', role: '--role', publicKey: '--public-key' };
  return p.map((x) => `${flag[x.field] ?? x.field}: ${x.reason}`).join('; ');
}
