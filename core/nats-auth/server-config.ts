/**
 * The `accounts` block of a nats-server configuration for CACO's users, rendered from the
 * role permissions. Pure: the caller supplies the users' public nkeys.
 */
import { InvalidArgumentError } from '../errors/errors.ts';
import { assertUserSpec, permissionsFor, type NatsUserSpec, type SubjectPermission } from './permissions.ts';

export interface NatsUserEntry extends NatsUserSpec {
  /** The user's public nkey (`U…`, 56 characters); the seed stays with the user. */
  readonly publicKey: string;
}

/** The account every CACO user is in; JetStream is enabled for it alone. */
export const CACO_ACCOUNT = 'CACO';

const PUBLIC_USER_KEY = /^U[A-Z2-7]{55}$/;

function list(subjects: ReadonlyArray<string>): string {
  return `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;
}

function perm(p: SubjectPermission): string {
  return p.deny.length ? `{ allow: ${list(p.allow)}, deny: ${list(p.deny)} }` : `{ allow: ${list(p.allow)} }`;
}

/**
 * `accounts { CACO { jetstream: enabled, users: [...] } }`, one nkey user per entry with
 * its role's permissions. With users defined and no `no_auth_user`, the server refuses
 * anonymous connections.
 */
export function renderAccountsConf(users: ReadonlyArray<NatsUserEntry>, opts: { readonly generatedBy?: string } = {}): string {
  if (users.length === 0) throw new InvalidArgumentError('users', 'give at least one user: a server with no users would have to accept anonymous clients');
  const names = new Set<string>();
  const keys = new Set<string>();
  const lines: string[] = [
    `# CACO users and permissions${opts.generatedBy ? `, written by ${opts.generatedBy}` : ''}.`,
    '# Public keys only: each user keeps its seed (<name>.nk). Do not edit by hand; re-run the generator.',
    'accounts {',
    `  ${CACO_ACCOUNT} {`,
    '    jetstream: enabled',
    '    users: [',
  ];
  for (const u of users) {
    assertUserSpec(u);
    if (!PUBLIC_USER_KEY.test(u.publicKey)) throw new InvalidArgumentError(`users.${u.name}.publicKey`, 'is not a public user nkey (U followed by 55 base32 characters)');
    if (names.has(u.name)) throw new InvalidArgumentError('users', `user name "${u.name}" appears twice`);
    if (keys.has(u.publicKey)) throw new InvalidArgumentError('users', `user "${u.name}" shares its key with another user`);
    names.add(u.name);
    keys.add(u.publicKey);
    const p = permissionsFor(u);
    lines.push(
      `      # ${u.name}: ${u.role}${u.site ? ` of site ${u.site}` : ''}`,
      `      { nkey: ${u.publicKey}`,
      '        permissions: {',
      `          publish: ${perm(p.publish)}`,
      `          subscribe: ${perm(p.subscribe)}`,
      ...(p.allowResponses ? ['          allow_responses: true'] : []),
      '        }',
      '      }',
    );
  }
  lines.push('    ]', '  }', '}', '');
  return lines.join('\n');
}
