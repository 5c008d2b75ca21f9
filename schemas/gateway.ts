import { Schema } from 'effect';
import { defineEvent } from './registry.ts';
import { IsoUtc, NonEmpty, PositiveInt, nonEmptyText, text } from './common.ts';
import { bindingFields } from './envelope.ts';

/**
 * The site gateway's wire messages (docs/external-agent.md): what an outside agent sends on
 * `caco.<site>.gw.*` and `caco.<site>.q.*`, and the one fact the gateway writes itself,
 * `agent.announced`. The requests are not ledger messages, so they are plain schemas here
 * (exported to the AsyncAPI document), not registry entries.
 */

/** A message type as the registry spells it (`ext.acme.battery.read`, `onsite.energy.offered`). */
export const MessageType = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/u, { expected: 'a dot-separated lower-case message type like ext.acme.meter.read' }),
  Schema.isMaxLength(128),
);
/** A type, or a NATS-style pattern of types (`compute.job.*`, `grid.>`), an agent consumes. */
export const TypePattern = Schema.String.check(
  Schema.isPattern(/^([a-z][a-z0-9-]*|\*)(\.([a-z][a-z0-9-]*|\*))*(\.>)?$|^>$/u, { expected: 'a message type or a pattern of types with * and > (compute.job.*, grid.>)' }),
  Schema.isMaxLength(128),
);
/** An outside agent's name: its party in the key registry, and a token of its stream `ext-<name>`. */
export const AgentName = Schema.String.check(
  Schema.isPattern(/^[a-z0-9][a-z0-9_-]{0,63}$/u, { expected: '1-64 lower-case letters, digits, "_" or "-" (it names the stream ext-<name>)' }),
);
/** A JSON Schema (draft 2020-12) for the `data` of one declared type. */
const JsonSchemaObject = Schema.Record(Schema.String, Schema.Unknown);

const signed = {
  /** The sender: the party of the `keyId`'s key. */
  source: NonEmpty,
  /** The sender's key in the site's key registry. */
  keyId: nonEmptyText(64),
  /** ed25519 (base64) over the RFC 8785 canonical JSON of the request without `sig`. */
  sig: nonEmptyText(128),
  /** Optional, signed: the site the request is for, and when it stops being good (core/identity/command-binding.ts). */
  ...bindingFields,
};

export const AnnounceRequest = Schema.Struct({
  ...signed,
  name: AgentName,
  /** The agent's own software version (semver suggested; a number is taken as its text). */
  version: Schema.Union([nonEmptyText(64), Schema.Finite]),
  description: Schema.optional(text(512)),
  publishes: Schema.Array(MessageType).check(Schema.isMaxLength(64)),
  /** What it reads (informational); none when absent. */
  consumes: Schema.optional(Schema.Array(TypePattern).check(Schema.isMaxLength(64))),
  /** The JSON Schema of `data` for each `ext.*` type it publishes (required for those; ignored for the site's own types). */
  schemas: Schema.optional(Schema.Record(MessageType, JsonSchemaObject)),
});
export type AnnounceRequest = Schema.Schema.Type<typeof AnnounceRequest>;

export const AppendRequest = Schema.Struct({
  ...signed,
  /** Chosen by the agent, unique per fact: a re-send with the same id is the same fact. A UUID is suggested. */
  id: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_:.-]{0,127}$/u, { expected: 'an id of 1-128 letters, digits, "_", ":", "." or "-" (a UUID suggested)' })),
  type: MessageType,
  version: PositiveInt,
  data: Schema.Unknown,
});
export type AppendRequest = Schema.Schema.Type<typeof AppendRequest>;

/** A read's or query's binding (optional, signed with the rest): the same forms as an append's. */
export const RequestBinding = Schema.Struct(bindingFields);

export const ReadRequest = Schema.Struct({
  /** Exclusive: events after this global position (0 = from the start). */
  fromPosition: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  limit: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 500 }))),
  types: Schema.optional(Schema.Array(TypePattern).check(Schema.isMaxLength(64))),
});
export type ReadRequest = Schema.Schema.Type<typeof ReadRequest>;

export const ForecastQuery = Schema.Struct({});
export const PlanQuery = Schema.Struct({ jobId: nonEmptyText(128) });
export const OffersQuery = Schema.Struct({});
/** The ledger's public keys; no parameters. */
export const KeysQuery = Schema.Struct({});

export const AgentAnnounced = defineEvent(
  'gateway.agent.announced',
  1,
  'An outside agent announced itself to the site gateway: who it is, the key it signs with, what it publishes and consumes',
  Schema.Struct({
    name: AgentName,
    version: nonEmptyText(64),
    description: Schema.NullOr(text(512)),
    keyId: nonEmptyText(64),
    /** Its own stream, where the gateway stores its facts. */
    stream: nonEmptyText(80),
    publishes: Schema.Array(MessageType),
    consumes: Schema.Array(TypePattern),
    schemas: Schema.Record(MessageType, JsonSchemaObject),
    announcedAt: IsoUtc,
  }),
);

export const gatewayMessages = [AgentAnnounced] as const;
