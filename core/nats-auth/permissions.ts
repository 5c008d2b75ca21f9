/**
 * Who may publish and subscribe to what on a CACO NATS deployment, per role. Pure: the
 * server configuration is rendered from these lists, and the security tests check them
 * against a real server.
 *
 * Permissions are allow-lists; the deny-lists repeat the subjects whose denial is the point
 * (ledger writes, stream deletion), so that a later widening of an allow-list cannot grant
 * them by accident: in NATS a deny always wins over an allow.
 */
import { SITE_NAME } from '../config/config.ts';
import { InvalidArgumentError } from '../errors/errors.ts';
import { checkpointBucketName, ledgerStreamName, ledgerSubjectPrefix } from '../store/jetstream-commit.ts';

export type NatsRole = 'site' | 'third-party' | 'auditor' | 'admin';
export const NATS_ROLES: ReadonlyArray<NatsRole> = ['site', 'third-party', 'auditor', 'admin'];

export interface NatsUserSpec {
  /** Lower-case name, unique in the deployment: becomes a subject token (`gw.<name>`, `_INBOX_<name>`). */
  readonly name: string;
  readonly role: NatsRole;
  /** The site the user belongs to; every role but `admin` has exactly one. */
  readonly site?: string;
}

export interface SubjectPermission {
  readonly allow: ReadonlyArray<string>;
  readonly deny: ReadonlyArray<string>;
}

export interface NatsPermissions {
  readonly publish: SubjectPermission;
  readonly subscribe: SubjectPermission;
  /** May answer requests it received, on their reply subject only (the server tracks them). */
  readonly allowResponses: boolean;
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** The site's own NATS services' names begin so (core/gateway GATEWAY_SERVICE, cli/site-gateway.ts). */
export const SITE_SERVICE_PREFIX = 'caco-';

/**
 * The JetStream key-value buckets a site owns: reader checkpoints, the key registry
 * (core/identity) and the quarantine of refused ledger messages (verify on read). A bucket
 * added to the site must be added here, or a secured server refuses it to the site.
 */
export function siteKvBuckets(site: string): ReadonlyArray<string> {
  return [checkpointBucketName(site), `caco_${site}_keys`, `caco_${site}_quarantine`];
}

/** The anchor stream (signed checkpoints of the global head, kept apart from the ledger). */
export function anchorStreamOf(site: string): string {
  return `${ledgerStreamName(site)}-ANCHOR`;
}

/** The JetStream streams a site owns: the ledger, the anchor stream and its KV buckets' streams. */
export function siteStreams(site: string): ReadonlyArray<string> {
  return [ledgerStreamName(site), anchorStreamOf(site), ...siteKvBuckets(site).map((b) => `KV_${b}`)];
}

/**
 * The inbox prefix a user's client must use: a third party gets its own, so it can receive
 * answers to its requests without being able to read anyone else's (`_INBOX.>` carries the
 * site's JetStream API answers, i.e. the whole ledger).
 */
export function inboxPrefixOf(user: NatsUserSpec): string {
  return user.role === 'third-party' ? `_INBOX_${user.name}` : '_INBOX';
}

export function assertUserSpec(user: NatsUserSpec): void {
  if (!NAME.test(user.name)) throw new InvalidArgumentError('name', `"${user.name}" is not a user name: lower-case letters, digits and "-", starting with a letter, at most 32`);
  if (!NATS_ROLES.includes(user.role)) throw new InvalidArgumentError('role', `"${String(user.role)}" is not a role; use one of ${NATS_ROLES.join(', ')}`);
  if (user.role === 'admin') {
    if (user.site !== undefined) throw new InvalidArgumentError('site', `admin "${user.name}" is not bound to a site; give no site`);
    return;
  }
  if (user.site === undefined || !SITE_NAME.test(user.site)) throw new InvalidArgumentError('site', `${user.role} "${user.name}" needs a site name (lower-case letters, digits and "-", starting with a letter), got ${JSON.stringify(user.site)}`);
  // A third party answers discovery for the service named after its user (`$SRV.*.<name>`), and
  // the site's own services are `caco-gateway` and `caco-agent-<agent>`: a user of that name
  // could answer `$SRV.INFO.caco-gateway` in the gateway's place.
  if (user.role === 'third-party' && user.name.startsWith(SITE_SERVICE_PREFIX)) {
    throw new InvalidArgumentError('name', `third party "${user.name}" may not start with "${SITE_SERVICE_PREFIX}": the site's own services (caco-gateway, caco-agent-<agent>) are discovered by those names`);
  }
}

/** JetStream API requests that read a stream: info, one message, and consumers to read it with. */
function readStreamApi(stream: string): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    // Ephemeral consumers: the old form, and 2.9's `CREATE.<stream>.<name>[.<filter>]`.
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.*`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
    // Flow-control answers of push consumers (the `nats` CLI's ordered reads); they only pace delivery.
    `$JS.FC.${stream}.>`,
  ];
}

/** What nobody but an admin may ask of JetStream: changing or removing streams and messages. */
const STREAM_WRITES = ['$JS.API.STREAM.CREATE.>', '$JS.API.STREAM.UPDATE.>', '$JS.API.STREAM.DELETE.>', '$JS.API.STREAM.PURGE.>', '$JS.API.STREAM.MSG.DELETE.>', '$JS.API.STREAM.RESTORE.>', '$JS.API.STREAM.SNAPSHOT.>'];

/**
 * Account-wide and cluster-wide JetStream operations. Older nats-server releases did not
 * restrict some of them (account purge, server remove, stream move) to the system account
 * (a published advisory; the Debian package is 2.9.10), so even an admin is denied them here.
 */
const SERVER_WIDE = ['$JS.API.ACCOUNT.>', '$JS.API.SERVER.>', '$JS.API.META.>', '$SYS.>'];

export function permissionsFor(user: NatsUserSpec): NatsPermissions {
  assertUserSpec(user);
  if (user.role === 'admin') {
    return {
      // Streams and consumers of every site; no ledger, event or command traffic.
      publish: { allow: ['$JS.API.>', '$KV.>'], deny: [...SERVER_WIDE, 'caco.>'] },
      subscribe: { allow: ['_INBOX.>'], deny: [] },
      allowResponses: false,
    };
  }
  const site = user.site!;
  const ledger = ledgerSubjectPrefix(site) + '>';
  const evt = `caco.${site}.evt.>`;
  const cmd = `caco.${site}.cmd.>`;
  const dlq = `caco.${site}.dlq`;
  const gw = `caco.${site}.gw.>`;
  const queries = `caco.${site}.q.>`;
  switch (user.role) {
    case 'site': {
      const streams = siteStreams(site);
      return {
        publish: {
          allow: [
            ledger,
            // Anchor checkpoints: appended only; no role but admin can remove one.
            `caco.${site}.anchor`,
            evt,
            cmd,
            dlq,
            gw,
            queries,
            // Discovery requests (the site lists who is there, outside agents included).
            '$SRV.PING',
            '$SRV.INFO',
            '$SRV.STATS',
            '$SRV.*.*',
            '$SRV.*.*.*',
            // Beckn over NATS (docs/beckn.md): callbacks to the BAPs' subjects.
            'beckn.*.bap.>',
            '$JS.API.INFO',
            ...streams.flatMap((s) => [...readStreamApi(s), `$JS.API.STREAM.CREATE.${s}`, `$JS.API.CONSUMER.DELETE.${s}.*`, `$JS.ACK.${s}.>`]),
            ...siteKvBuckets(site).map((b) => `$KV.${b}.>`),
          ],
          // Creating its own streams on first start is allowed above; nothing that removes history is.
          deny: [...STREAM_WRITES.filter((s) => !s.startsWith('$JS.API.STREAM.CREATE')), ...SERVER_WIDE],
        },
        // `$SRV.>`: the site's gateway and agents answer discovery (NATS services framework).
        // `beckn.<domain>.<action>` and `beckn.<domain>.bpp.<bpp>.<action>`: requests to the site's BPP (the BAPs' callbacks, `beckn.<domain>.bap.>`, are not taken).
        subscribe: { allow: [cmd, evt, dlq, gw, queries, '$SRV.>', 'beckn.*.*', 'beckn.*.bpp.*.*', '_INBOX.>'], deny: [] },
        allowResponses: true,
      };
    }
    case 'third-party': {
      const own = `caco.${site}.gw.${user.name}.>`;
      // The gateway (docs/external-agent.md): announce, append its own facts, read; the queries;
      // and discovery: ask `$SRV.PING/INFO/STATS`, and answer them for a service named after the user.
      const gateway = [`caco.${site}.gw.announce`, `caco.${site}.gw.append`, `caco.${site}.gw.read`, queries];
      const discovery = ['$SRV.PING', '$SRV.INFO', '$SRV.STATS', '$SRV.*.*', '$SRV.*.*.*'];
      // Only by name (`$SRV.<verb>.<user>` and `.<user>.<id>`), never the bare `$SRV.PING/INFO/STATS`:
      // a reply carries whatever name and endpoints its sender writes, so a third party answering
      // the bare subjects could claim to be `caco-gateway` and list its own `caco.<site>.gw.<user>.*`
      // subjects as the gateway's, and a client discovering the gateway would send it its requests.
      const ownService = [`$SRV.*.${user.name}`, `$SRV.*.${user.name}.*`];
      // Beckn over NATS (docs/beckn.md §4a) as a buyer: requests to a market and to one BPP, and
      // its callbacks only under its own name (its NATS user name is its subscriber id's token),
      // never another buyer's, and it cannot serve a BPP's subjects.
      const becknRequests = ['beckn.*.*', 'beckn.*.bpp.*.*'];
      const ownCallbacks = `beckn.*.bap.${user.name}.>`;
      return {
        publish: { allow: [cmd, own, ...gateway, ...discovery, ...becknRequests], deny: ['caco.*.ledger.>', 'caco.*.evt.>', 'caco.*.dlq', 'beckn.*.bap.>', '$JS.>', '$KV.>', ...SERVER_WIDE] },
        subscribe: { allow: [evt, own, `${inboxPrefixOf(user)}.>`, ...ownService, ownCallbacks], deny: ['caco.*.ledger.>', 'caco.*.cmd.>', '_INBOX.>', '$JS.>', '$KV.>', ...becknRequests] },
        allowResponses: true,
      };
    }
    case 'auditor': {
      const streams = siteStreams(site);
      return {
        publish: {
          // Reading only: no acks either (CACO's readers use no-ack consumers), and no
          // consumer deletion, which would break the site's own reads.
          allow: ['$JS.API.INFO', ...streams.flatMap(readStreamApi)],
          deny: ['caco.>', '$KV.>', '$JS.ACK.>', '$JS.API.CONSUMER.DELETE.>', '$JS.API.CONSUMER.DURABLE.>', ...STREAM_WRITES, ...SERVER_WIDE],
        },
        subscribe: { allow: [evt, dlq, '_INBOX.>'], deny: ['caco.*.cmd.>', 'caco.*.ledger.>'] },
        allowResponses: false,
      };
    }
  }
}

/** Does a NATS subject pattern (`*` one token, `>` the rest) cover `subject`? As the server matches. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Would the server let this through: some allow matches and no deny does (deny wins). */
export function permits(p: SubjectPermission, subject: string): boolean {
  return p.allow.some((a) => subjectMatches(a, subject)) && !p.deny.some((d) => subjectMatches(d, subject));
}
