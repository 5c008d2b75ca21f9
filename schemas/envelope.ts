import { Schema } from 'effect';
import { IsoUtc, NonNegativeInt, Token } from './common.ts';

const Hex64 = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u, { expected: '64 lower-case hex digits' }));
/** `area.entity.verb`, as the registry names message types. */
const MessageType = Schema.String.check(Schema.isPattern(/^[a-z][a-z0-9-]{0,63}(?:\.[a-z][a-z0-9-]{0,63}){1,3}$/u, { expected: 'a message type like compute.job.submit' }));
/** The same rule as STREAM_NAME in core/envelope/envelope.ts: a stream name is a NATS subject token. */
const StreamName = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_:-]{0,199}$/u, { expected: 'a stream name of letters, digits, "_", ":" and "-" (at most 200)' }));
/** A signature: base64 or any other printable encoding, bounded. */
const Signature = Schema.String.check(Schema.isPattern(/^[!-~]{1,1024}$/u, { expected: 'a signature of 1 to 1,024 printable ASCII characters' }));

/** A ledger event's signature: '' when its commit's head signs for it; base64 ed25519, or a batch signature `mb1:…` with its inclusion proof (docs/ledger.md). */
const LedgerSignature = Schema.String.check(Schema.isPattern(/^[!-~]{0,1024}$/u, { expected: 'a signature of at most 1,024 printable ASCII characters' }));

/** The envelope fields every message has, with the rules the decoder and the JSON Schemas share. */
export const envelopeFields = {
  id: Token,
  type: MessageType,
  version: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })),
  time: IsoUtc,
  source: Token,
  correlationId: Token,
  causationId: Schema.NullOr(Token),
} as const;

/** The ledger fields of a stored event. */
export const ledgerFields = {
  stream: StreamName,
  revision: NonNegativeInt,
  position: NonNegativeInt,
  prevHash: Hex64,
  hash: Hex64,
  /** On a commit's signed head: how many events its signature covers (docs/ledger.md). */
  covers: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1024 }))),
  /** '' on an event its commit's head signs for. */
  sig: LedgerSignature,
} as const;

/** The envelope as it travels: every stored event and every relayed message. */
export const EnvelopeSchema = Schema.Struct({ ...envelopeFields, ...ledgerFields, data: Schema.Unknown });

/** Who sent a command: a key in the site's registry and its ed25519 signature (docs/identity.md). */
export const signerFields = {
  keyId: Token,
  sig: Signature,
} as const;

/**
 * What binds a command to one site and a stretch of time (core/identity/command-binding.ts):
 * optional, signed like the rest; a site may require them (`CACO_REQUIRE_BOUND_COMMANDS`).
 */
export const bindingFields = {
  site: Schema.optional(Token),
  expiresAt: Schema.optional(IsoUtc),
} as const;

/**
 * A command sent to an agent over the bus: no ledger fields. `keyId` and `sig` are the
 * sender's registered key and its signature; the runtime refuses a command without them, so
 * they are optional here only to name that refusal precisely (the JSON Schemas require them).
 */
export const CommandEnvelopeSchema = Schema.Struct({ ...envelopeFields, ...bindingFields, data: Schema.Unknown, keyId: Schema.optional(signerFields.keyId), sig: Schema.optional(signerFields.sig) });
