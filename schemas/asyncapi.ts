import { Schema } from 'effect';
import { stringify } from 'yaml';
import { ALL_MESSAGES } from './index.ts';
import type { AnySchema, MessageDef } from './registry.ts';
import { messageJsonSchema } from './json-schema.ts';
import { AckOrNack, BecknRequestSchemas, CALLBACK_ACTIONS, REQUEST_ACTIONS } from './beckn/index.ts';
import { AnnounceRequest, AppendRequest, ForecastQuery, KeysQuery, OffersQuery, PlanQuery, ReadRequest } from './gateway.ts';

/**
 * The AsyncAPI 3.0 document of a site's NATS interface, generated from the schema registry:
 * every event on `caco.{site}.evt.<type>`, every command on its own subject
 * `caco.{site}.cmd.<agent>.<name>` with its reply, the gateway and the queries with theirs, and
 * the two security schemes (NATS user credentials for the connection, an ed25519 signature in
 * the message). Written by `npm run schemas` to schemas/asyncapi.yaml beside schemas/json/.
 */

/**
 * Which agent takes each command, and on which subject name. schemas/ imports no agent, so this
 * is declared here; test/schemas/asyncapi.test.ts holds it equal to the agents' own `commands`.
 */
export const COMMAND_SUBJECTS: Readonly<Record<string, { readonly agent: string; readonly name: string; readonly internal?: true }>> = {
  'compute.job.submit': { agent: 'compute', name: 'submit' },
  'compute.job.pin': { agent: 'compute', name: 'pin' },
  'compute.job.release': { agent: 'compute', name: 'release' },
  // Internal (AgentDefinition.internalCommands): queued in-process by the Beckn doors once they
  // have checked the Beckn signature; refused on the bus (forbidden), so they have no channel here.
  'flex.request.handle': { agent: 'coordination', name: 'handle', internal: true },
  'flex.request.reject': { agent: 'coordination', name: 'reject', internal: true },
  'market.callback.handle': { agent: 'grid-operator', name: 'callback', internal: true },
};

/** A name usable as a component key: `compute.job.submit` v1 → `compute_job_submit_v1`. */
const key = (type: string, version?: number) => `${type.replace(/[^A-Za-z0-9]/g, '_')}${version ? `_v${version}` : ''}`;

function plainJsonSchema(schema: AnySchema): Record<string, unknown> {
  const doc = Schema.toJsonSchemaDocument(schema, { onExcessProperty: 'error' }) as { schema: Record<string, unknown> };
  return doc.schema;
}

/** A registry schema without the keys that would make the parser resolve it as a separate document. */
function embedded(def: MessageDef): Record<string, unknown> {
  const { $schema: _s, $id, ...rest } = messageJsonSchema(def);
  return { ...rest, 'x-caco-schema-id': $id, 'x-caco-schema-file': `schemas/json/${def.type}.v${def.version}.json` };
}

const errorSchema = {
  type: 'object',
  required: ['ok', 'error'],
  additionalProperties: false,
  properties: {
    ok: { const: false },
    error: {
      type: 'object',
      required: ['reason'],
      properties: {
        code: { type: 'string', description: 'why, as a code: unsigned, unknown-key, revoked-key, bad-signature, source-mismatch, schema, not-announced, not-declared, wrong-subject, rate-limited, conflict, bad-request, forbidden, unavailable, wrong-site, expired, unbound (a request\'s site and expiry), refused (a command the agent refused without recording it), busy (a command not checked at all: too many were waiting for the agent\'s intake; send it again later)' },
        field: { type: ['string', 'null'], description: 'where in the request (gateway replies)' },
        reason: { type: 'string' },
        problems: { type: 'array', items: { type: 'object', required: ['path', 'reason'], properties: { path: { type: 'string' }, reason: { type: 'string' } } } },
        retryAfterMs: { type: 'integer', minimum: 0 },
      },
    },
  },
};

const okWith = (properties: Record<string, unknown>, required: string[]) => ({ type: 'object', required: ['ok', ...required], properties: { ok: { const: true }, ...properties } });
const replyOf = (ok: Record<string, unknown>) => ({ oneOf: [ok, { $ref: '#/components/schemas/ErrorReply' }] });
const band = { type: 'object', required: ['p10', 'p50', 'p90'], properties: { p10: { type: 'number' }, p50: { type: 'number' }, p90: { type: 'number' } } };
const envelopeRef = { $ref: '#/components/schemas/StoredEnvelope' };

/** The headers the relay puts on every event it publishes (core/runtime/relay.ts; docs/consuming-events.md). */
const eventHeaders = {
  type: 'object',
  required: ['Nats-Msg-Id', 'Caco-Type', 'Caco-Stream', 'Caco-Position'],
  properties: {
    'Nats-Msg-Id': { type: 'string', description: 'the event id (JetStream dedupe; drop repeats by it)' },
    'Caco-Type': { type: 'string', description: "the event's type, as in the subject" },
    'Caco-Stream': { type: 'string', description: 'the ledger stream the event is in (its revision and prevHash chain are per stream)' },
    'Caco-Position': { type: 'string', pattern: '^(0|[1-9][0-9]*)$', description: "the event's global position, in decimal. Positions order the ledger but are sparse: on JetStream sequence × 1024 + index in the commit (core/store/jetstream-commit.ts); never assume p + 1 follows p" },
    'Caco-Commit-Proof': {
      type: 'string',
      contentMediaType: 'application/json',
      description:
        "Only on an event with sig \"\" (its commit's head signs for it): a JSON array of the stored envelopes after it in its commit, in order, up to and including the signed head (at most 1,024). Check each hash, each prevHash link from the event to the head, and the head's signature by the source's ledger key: over the 32 bytes of its hash, or for sig mb1:<index>/<size>:<siblings>:<signature> over SHA-256('caco-batch/1' 0x00 ‖ size u32 BE ‖ RFC 9162 root) (core/ledger/commit-proof.ts, batch-signature.ts; docs/external-agent.md §6)",
    },
  },
};
const eventHeadersRef = { $ref: '#/components/schemas/EventHeaders' };

const commandReply = replyOf(
  okWith(
    {
      duplicate: { type: 'boolean', description: 'true when the command id was handled before: the events are those it caused then' },
      events: { type: 'array', items: { type: 'object', required: ['id', 'type', 'stream', 'revision', 'position', 'data'], properties: { id: { type: 'string' }, type: { type: 'string' }, stream: { type: 'string' }, revision: { type: 'integer' }, position: { type: 'integer' }, data: {} } } },
    },
    ['duplicate', 'events'],
  ),
);

interface Endpoint {
  readonly id: string;
  readonly address: string;
  readonly summary: string;
  readonly request: Record<string, unknown>;
  readonly reply: Record<string, unknown>;
  readonly signed: boolean;
}

function gatewayEndpoints(): Endpoint[] {
  return [
    {
      id: 'gw.announce',
      address: 'caco.{site}.gw.announce',
      summary: 'An outside agent announces itself: name, version, key, the types it publishes and consumes, the JSON Schemas of its own ext.* types',
      request: plainJsonSchema(AnnounceRequest),
      reply: replyOf(okWith({ stream: { type: 'string' }, announcedAt: { type: 'string' }, position: { type: 'integer' } }, ['stream', 'announcedAt', 'position'])),
      signed: true,
    },
    {
      id: 'gw.append',
      address: 'caco.{site}.gw.append',
      summary: 'Append one fact of a declared type to the agent\'s own stream ext-<name>; a re-send of the same id gives the same position (duplicate: true)',
      request: plainJsonSchema(AppendRequest),
      reply: replyOf(okWith({ id: { type: 'string' }, eventId: { type: 'string' }, stream: { type: 'string' }, position: { type: 'integer' }, revision: { type: 'integer' }, duplicate: { type: 'boolean' } }, ['id', 'eventId', 'stream', 'position', 'revision', 'duplicate'])),
      signed: true,
    },
    {
      id: 'gw.read',
      address: 'caco.{site}.gw.read',
      summary: 'Catch up: the ledger\'s events after a position (at most 500), optionally of some types; then follow caco.{site}.evt.> and drop repeats by event id',
      request: plainJsonSchema(ReadRequest),
      reply: replyOf(okWith({ events: { type: 'array', items: envelopeRef }, nextPosition: { type: 'integer' }, headPosition: { type: 'integer' } }, ['events', 'nextPosition', 'headPosition'])),
      signed: false,
    },
    {
      id: 'q.forecast',
      address: 'caco.{site}.q.forecast',
      summary: 'The latest grid forecast, carbon and price per half-hour with P10/P50/P90 bands (forecast: null before the first)',
      request: plainJsonSchema(ForecastQuery),
      reply: replyOf(okWith({ forecast: { oneOf: [{ type: 'null' }, { type: 'object', required: ['forecastId', 'issuedAt', 'startsAt', 'halfHours'], properties: { forecastId: { type: 'string' }, issuedAt: { type: 'string' }, startsAt: { type: 'string' }, carbonModel: { type: 'string' }, priceModel: { type: 'string' }, eventId: { type: ['string', 'null'] }, halfHours: { type: 'array', items: { type: 'object', required: ['start', 'carbonGPerKwh', 'priceGbpPerMwh'], properties: { start: { type: 'string' }, carbonGPerKwh: band, priceGbpPerMwh: band } } } } }] } }, ['forecast'])),
      signed: false,
    },
    {
      id: 'q.plan',
      address: 'caco.{site}.q.plan',
      summary: "One job's plan as it stands (plan: null for a job the site does not know)",
      request: plainJsonSchema(PlanQuery),
      reply: replyOf(okWith({ jobId: { type: 'string' }, plan: { type: ['object', 'null'], properties: { status: { type: 'string' }, plannedStart: { type: ['string', 'null'] }, plannedEnd: { type: ['string', 'null'] }, slots: { type: 'array', items: { type: 'object', properties: { start: { type: 'string' }, kw: { type: 'number' } } } }, planId: { type: ['string', 'null'] }, forecastId: { type: ['string', 'null'] }, reason: { type: ['string', 'null'] }, pinned: { type: 'boolean' }, deadline: { type: 'string' }, unplacedSince: { type: ['string', 'null'], description: 'the start of the first plan in a row that found no room for the job (it will miss its deadline as things stand; its planned start is an earlier plan\'s); null when the last plan placed it, unless unplacedUnlisted is above 0' }, unplacedUnlisted: { type: 'integer', description: 'unplaced jobs the last plan counts but does not name (it names at most 100): while above 0, an unplacedSince of null may be one of them' } } } }, ['jobId', 'plan'])),
      signed: false,
    },
    {
      id: 'q.offers',
      address: 'caco.{site}.q.offers',
      summary: 'The open flexibility offers (not yet expired)',
      request: plainJsonSchema(OffersQuery),
      reply: replyOf(okWith({ offers: { type: 'array', items: { type: 'object', required: ['offerId', 'windowStart', 'windowEnd', 'availableKw', 'priceGbpPerMwh', 'validUntil'], properties: { offerId: { type: 'string' }, planId: { type: 'string' }, windowStart: { type: 'string' }, windowEnd: { type: 'string' }, availableKw: { type: 'number' }, priceGbpPerMwh: { type: 'number' }, baselineKw: { type: 'number' }, validUntil: { type: 'string' }, orderIds: { type: 'array', items: { type: 'string' } }, eventId: { type: ['string', 'null'] } } } } }, ['offers'])),
      signed: false,
    },
    {
      id: 'q.keys',
      address: 'caco.{site}.q.keys',
      summary: "The ledger's public keys by source (ed25519, base64 of the raw 32 bytes), in the form of a ledger's keys.json: an event's sig verifies with its source's key",
      request: plainJsonSchema(KeysQuery),
      reply: replyOf(okWith({ format: { const: 'caco-keys/1' }, algorithm: { const: 'ed25519' }, encoding: { type: 'string' }, keys: { type: 'object', additionalProperties: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' } } }, ['format', 'algorithm', 'keys'])),
      signed: false,
    },
  ];
}

export function asyncApiDocument(messages: ReadonlyArray<MessageDef> = ALL_MESSAGES): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const componentMessages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = { ErrorReply: errorSchema, EventHeaders: eventHeaders, StoredEnvelope: { type: 'object', description: 'a stored event: the envelope of any event message below', required: ['id', 'type', 'version', 'stream', 'revision', 'position', 'time', 'source', 'correlationId', 'causationId', 'data', 'prevHash', 'hash', 'sig'] } };
  const site = { site: { $ref: '#/components/parameters/site' } };
  const sigSecurity = [{ $ref: '#/components/securitySchemes/ed25519Signature' }];

  // Events: one channel per type, every version's message on it.
  const events = new Map<string, MessageDef[]>();
  for (const d of messages) if (d.kind === 'event') events.set(d.type, [...(events.get(d.type) ?? []), d]);
  for (const [type, defs] of [...events].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const ch = `evt.${type}`;
    const refs: Record<string, unknown> = {};
    for (const d of defs) {
      const k = key(d.type, d.version);
      schemas[k] = embedded(d);
      componentMessages[k] = { name: `${d.type} v${d.version}`, title: `${d.type} v${d.version}`, summary: d.description, contentType: 'application/json', headers: eventHeadersRef, payload: { $ref: `#/components/schemas/${k}` } };
      refs[k] = { $ref: `#/components/messages/${k}` };
    }
    channels[ch] = { address: `caco.{site}.evt.${type}`, title: type, description: `Facts of type ${type}, published by the relay once stored (at least once; drop repeats by id)`, parameters: site, messages: refs };
    operations[`publish.${ch}`] = { action: 'send', channel: { $ref: `#/channels/${escapePointer(ch)}` }, summary: `The site publishes ${type} facts`, messages: Object.keys(refs).map((k) => ({ $ref: `#/channels/${escapePointer(ch)}/messages/${k}` })) };
  }

  // Outside agents' own facts: their schemas are in their gateway.agent.announced fact, not in the registry.
  componentMessages['ExtFact'] = { name: 'ExtFact', title: "an outside agent's ext.* fact", summary: 'A fact an outside agent appended through the gateway; the JSON Schema of its data is in the gateway.agent.announced fact of its stream ext-<name>', contentType: 'application/json', headers: eventHeadersRef, payload: envelopeRef };
  channels['evt.ext'] = { address: 'caco.{site}.evt.ext.{extType}', title: 'ext.*', description: "Outside agents' own facts (ext.<…>), relayed like every fact", parameters: { ...site, extType: { description: 'the rest of the ext.* type, e.g. acme.meter.read' } }, messages: { ExtFact: { $ref: '#/components/messages/ExtFact' } } };
  operations['publish.evt.ext'] = { action: 'send', channel: { $ref: '#/channels/evt.ext' }, summary: "The site publishes outside agents' facts once stored", messages: [{ $ref: '#/channels/evt.ext/messages/ExtFact' }] };

  channels['replies'] = { address: null, title: 'replies', description: "The requester's reply subject (a NATS inbox): every request below is answered there", messages: {} };
  const replyMessages = channels['replies'] as { messages: Record<string, unknown> };
  componentMessages['CommandReply'] = { name: 'CommandReply', title: 'command reply', contentType: 'application/json', payload: commandReply };
  replyMessages.messages['CommandReply'] = { $ref: '#/components/messages/CommandReply' };

  // Commands: each on its own subject and only there.
  for (const d of messages.filter((m) => m.kind === 'command')) {
    const at = COMMAND_SUBJECTS[d.type];
    if (!at) throw new Error(`command ${d.type} has no subject in COMMAND_SUBJECTS (schemas/asyncapi.ts)`);
    const ch = `cmd.${at.agent}.${at.name}`;
    const k = key(d.type, d.version);
    schemas[k] = embedded(d);
    if (at.internal) {
      // Its shape is documented; no operation: the site refuses it on caco.{site}.cmd.* whoever signs it.
      componentMessages[k] = { name: `${d.type} v${d.version}`, title: `${d.type} v${d.version}`, summary: `${d.description}. Internal: queued by the site's own Beckn doors after their checks; refused on the bus (forbidden)`, contentType: 'application/json', payload: { $ref: `#/components/schemas/${k}` } };
      continue;
    }
    componentMessages[k] = { name: `${d.type} v${d.version}`, title: `${d.type} v${d.version}`, summary: d.description, contentType: 'application/json', payload: { $ref: `#/components/schemas/${k}` } };
    const existing = channels[ch] as { messages: Record<string, unknown> } | undefined;
    if (existing) existing.messages[k] = { $ref: `#/components/messages/${k}` };
    else channels[ch] = { address: `caco.{site}.cmd.${at.agent}.${at.name}`, title: d.type, description: `The ${d.type} command, to the ${at.agent} agent; a command of any other type here is refused (wrong-subject)`, parameters: site, messages: { [k]: { $ref: `#/components/messages/${k}` } } };
    operations[`request.${ch}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${escapePointer(ch)}` },
      summary: `The ${at.agent} agent takes ${d.type} (request/reply)`,
      security: sigSecurity,
      messages: Object.keys((channels[ch] as { messages: Record<string, unknown> }).messages).map((m) => ({ $ref: `#/channels/${escapePointer(ch)}/messages/${m}` })),
      reply: { channel: { $ref: '#/channels/replies' }, messages: [{ $ref: '#/channels/replies/messages/CommandReply' }] },
    };
  }

  // The gateway and the queries.
  for (const e of gatewayEndpoints()) {
    const reqKey = `${key(e.id)}_request`;
    const repKey = `${key(e.id)}_reply`;
    schemas[reqKey] = e.request;
    componentMessages[reqKey] = { name: reqKey, title: `${e.id} request`, summary: e.summary, contentType: 'application/json', payload: { $ref: `#/components/schemas/${reqKey}` } };
    componentMessages[repKey] = { name: repKey, title: `${e.id} reply`, contentType: 'application/json', payload: e.reply };
    channels[e.id] = { address: e.address, title: e.id, description: e.summary, parameters: site, messages: { [reqKey]: { $ref: `#/components/messages/${reqKey}` } } };
    replyMessages.messages[repKey] = { $ref: `#/components/messages/${repKey}` };
    operations[`request.${e.id}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${escapePointer(e.id)}` },
      summary: e.summary,
      ...(e.signed ? { security: sigSecurity } : {}),
      messages: [{ $ref: `#/channels/${escapePointer(e.id)}/messages/${reqKey}` }],
      reply: { channel: { $ref: '#/channels/replies' }, messages: [{ $ref: `#/channels/replies/messages/${repKey}` }] },
    };
  }

  becknChannels(channels, operations, componentMessages, schemas);

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'CACO site over NATS',
      version: '1.0.0',
      description:
        'Every subject of a CACO site: facts on caco.{site}.evt.<type>, each command on its own caco.{site}.cmd.<agent>.<name>, the gateway for outside agents (caco.{site}.gw.*) and the queries (caco.{site}.q.*), all request/reply answered on the requester\'s inbox; and the Beckn 1.1 flexibility market on beckn.{domain}.<action>, with callbacks on the buyer\'s beckn.{domain}.bap.{bapId}.on_<action>. Generated from the schema registry by `npm run schemas`; the wire protocol with worked examples is docs/external-agent.md. Discovery: the gateway and the site\'s agents answer $SRV.PING/INFO/STATS (NATS services framework).',
      license: { name: 'MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      site: { host: '127.0.0.1:4222', protocol: 'nats', description: 'A site\'s NATS server (NATS_URL); a secured deployment needs user credentials from `caco nats creds`', security: [{ $ref: '#/components/securitySchemes/natsUserCredentials' }] },
    },
    channels,
    operations,
    components: {
      parameters: { site: { description: 'the site name (lower-case), e.g. london', examples: ['london'] } },
      securitySchemes: {
        natsUserCredentials: { type: 'userPassword', description: 'NATS user credentials (an nkey seed and the user\'s permissions per role: site, third-party, auditor, admin) made by `caco nats creds`; see docs/deployment-security.md. (AsyncAPI has no nkey scheme; the connection authenticates with the .creds file.)' },
        becknSignature: { type: 'asymmetricEncryption', description: 'Beckn 1.1 message signing, the same on HTTP and NATS: an `Authorization` header (NATS message header on this binding) with the ed25519 signature of the signing string `(created) (expires) digest`, whose digest is the BLAKE2b-512 of the exact body bytes, by the key registered for the subscriber id in the key directory. See docs/beckn.md §4 and §4a.' },
        ed25519Signature: { type: 'asymmetricEncryption', description: 'The message itself is signed: `keyId` names a key in the site\'s key registry (`caco keys add`), `source` is its party, and `sig` is the base64 ed25519 signature over the UTF-8 bytes of the RFC 8785 canonical JSON of the whole message without `sig`. See docs/external-agent.md and docs/identity.md.' },
      },
      schemas,
      messages: componentMessages,
    },
  };
}

/**
 * The Beckn 1.1 market on NATS (docs/beckn.md §4a): each request action on
 * `beckn.{domain}.<action>` (and on one BPP's own `beckn.{domain}.bpp.{bppId}.<action>`),
 * acknowledged by request/reply with the same ACK/NACK body as HTTP; each callback published
 * to the buyer's `beckn.{domain}.bap.{bapId}.on_<action>`. Payloads are CACO's strict schemas
 * of the Beckn messages it takes and sends (schemas/beckn/), not the Beckn specification.
 */
function becknChannels(channels: Record<string, unknown>, operations: Record<string, unknown>, componentMessages: Record<string, unknown>, schemas: Record<string, unknown>): void {
  const security = [{ $ref: '#/components/securitySchemes/becknSignature' }];
  const domain = { description: 'the market\'s domain as one subject token (anything but letters, digits, "_" and "-" becomes "_"), e.g. uei_flexibility' };
  const headers = { type: 'object', properties: { Authorization: { type: 'string', description: 'the Beckn signature header' } } };
  schemas['beckn_AckOrNack'] = plainJsonSchema(AckOrNack);
  componentMessages['beckn_ack'] = { name: 'beckn_ack', title: 'Beckn ACK/NACK', summary: 'the same body HTTP answers with; the NATS reply header Beckn-Status carries the HTTP status it would have had', contentType: 'application/json', headers: { type: 'object', properties: { 'Beckn-Status': { type: 'string' } } }, payload: { $ref: '#/components/schemas/beckn_AckOrNack' } };
  (channels['replies'] as { messages: Record<string, unknown> }).messages['beckn_ack'] = { $ref: '#/components/messages/beckn_ack' };
  const message = (action: string) => {
    const k = `beckn_${action}`;
    schemas[k] = plainJsonSchema(BecknRequestSchemas[action as keyof typeof BecknRequestSchemas]);
    componentMessages[k] = { name: k, title: `Beckn ${action}`, contentType: 'application/json', headers, payload: { $ref: `#/components/schemas/${k}` } };
    return k;
  };
  for (const action of REQUEST_ACTIONS) {
    const k = message(action);
    for (const [id, address, params] of [
      [`beckn.${action}`, `beckn.{domain}.${action}`, { domain }],
      [`beckn.bpp.${action}`, `beckn.{domain}.bpp.{bppId}.${action}`, { domain, bppId: { description: "one BPP's subscriber id as a subject token: requests to that BPP alone" } }],
    ] as const) {
      channels[id] = { address, title: `Beckn ${action}`, description: `Beckn ${action} requests to the site's BPP; answered with an ACK/NACK, the outcome comes as on_${action} on the buyer's subject`, parameters: params, messages: { [k]: { $ref: `#/components/messages/${k}` } } };
      operations[`request.${id}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${escapePointer(id)}` },
        security,
        messages: [{ $ref: `#/channels/${escapePointer(id)}/messages/${k}` }],
        reply: { channel: { $ref: '#/channels/replies' }, messages: [{ $ref: '#/channels/replies/messages/beckn_ack' }] },
      };
    }
  }
  for (const action of CALLBACK_ACTIONS) {
    const k = message(action);
    const id = `beckn.bap.${action}`;
    channels[id] = { address: `beckn.{domain}.bap.{bapId}.${action}`, title: `Beckn ${action}`, description: `The site's ${action} callback to the buyer, sent from the ledger once (the outbox); the buyer acknowledges by reply`, parameters: { domain, bapId: { description: "the buyer's subscriber id as a subject token (its registered nats:beckn.<domain>.bap.<id> address)" } }, messages: { [k]: { $ref: `#/components/messages/${k}` } } };
    operations[`send.${id}`] = { action: 'send', channel: { $ref: `#/channels/${escapePointer(id)}` }, security, messages: [{ $ref: `#/channels/${escapePointer(id)}/messages/${k}` }], reply: { channel: { $ref: '#/channels/replies' }, messages: [{ $ref: '#/channels/replies/messages/beckn_ack' }] } };
  }
}

/** Channel ids contain dots only, but a JSON pointer needs `~` and `/` escaped all the same. */
function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function renderAsyncApi(): string {
  return '# Generated by `npm run schemas` (schemas/asyncapi.ts) from the schema registry: do not edit.\n' + stringify(asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}
