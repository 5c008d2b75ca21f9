import { Command } from 'commander';
import { basename, dirname, relative, resolve } from 'node:path';
import { makeNatsCredentials, type NatsRole, type NatsUserSpec } from '../../core/nats-auth/index.ts';
import { CacoError } from '../../core/errors/index.ts';
import { UsageError } from '../errors.ts';

interface CredsFlags {
  dir: string;
  site: string[];
  thirdParty?: string[];
  auditor?: string[];
  admin?: string[];
}

const DEFAULT_DIR = 'deploy/nats/local';

/** `acme` (the only site) or `acme@london`. */
function bound(role: NatsRole, flag: string, value: string, sites: ReadonlyArray<string>): NatsUserSpec {
  const at = value.indexOf('@');
  if (at >= 0) return { name: value.slice(0, at), role, site: value.slice(at + 1) };
  if (sites.length !== 1) throw new UsageError(`${flag} ${value}: with several --site, say which: ${value}@<site>`);
  return { name: value, role, site: sites[0]! };
}

/** The users a set of flags asks for, in a stable order (pure). */
export function usersFromFlags(o: CredsFlags): NatsUserSpec[] {
  if (!o.site?.length) throw new UsageError('--site is required (the site whose agents and relay get a user)');
  const users: NatsUserSpec[] = o.site.map((s) => ({ name: `site-${s}`, role: 'site', site: s }));
  for (const v of o.thirdParty ?? []) users.push(bound('third-party', '--third-party', v, o.site));
  for (const v of o.auditor ?? []) users.push(bound('auditor', '--auditor', v, o.site));
  for (const v of o.admin ?? []) users.push({ name: v, role: 'admin' });
  return users;
}

export function natsCommand(): Command {
  const nats = new Command('nats').description('NATS deployment: users, credentials and permissions (docs/deployment-security.md)');
  nats
    .command('creds')
    .description('make an nkey per user (seed files, mode 0600) and the nats-server include with their permissions; existing seeds are kept')
    .requiredOption('--site <name...>', 'site(s) whose agents and relay get a user "site-<name>"')
    .option('--third-party <name...>', 'third-party agents: request commands, read events, own gateway subjects (name or name@site)')
    .option('--auditor <name...>', 'read-only users of the ledger (name or name@site)')
    .option('--admin <name...>', 'users who create, update and delete streams')
    .option('--dir <dir>', 'where the seeds and accounts.conf go: keep it out of git', DEFAULT_DIR)
    .action((o: CredsFlags) => {
      const users = usersFromFlags(o);
      let made;
      try {
        made = makeNatsCredentials({ dir: o.dir, users, generatedBy: 'caco nats creds' });
      } catch (err) {
        if (err instanceof CacoError) throw new UsageError(err.message);
        throw err;
      }
      const rel = (p: string) => relative(process.cwd(), p) || p;
      for (const u of made.users) {
        console.log(`${u.created ? 'made' : 'kept'}  ${u.name.padEnd(20)} ${u.role.padEnd(12)} ${(u.site ?? '*').padEnd(12)} ${rel(u.seedFile)}`);
      }
      console.log(`server include: ${rel(made.accountsFile)}`);
      if (resolve(o.dir) === resolve(DEFAULT_DIR)) console.log('start the server: nats-server -c deploy/nats/nats-server-secure.conf');
      // nats-server 2.9 reads an include relative to the configuration file, even a path that
      // starts with "/": so the configuration must sit beside the include and name it bare.
      else console.log(`start the server with a configuration in ${rel(dirname(made.accountsFile))} holding: include "${basename(made.accountsFile)}"`);
      console.log('then give each process its user: caco run --creds <dir>/site-<site>.nk (or NATS_CREDS=...); anonymous clients are refused');
    });
  return nats;
}
