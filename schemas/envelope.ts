import { Schema } from 'effect';
import { IsoUtc, NonEmpty, NonNegativeInt } from './common.ts';

const Hex64 = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/, { expected: '64 lower-case hex digits' }));

/** The envelope as it travels: every stored event and every relayed message. */
export const EnvelopeSchema = Schema.Struct({
  id: NonEmpty,
  type: NonEmpty,
  version: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  stream: NonEmpty,
  revision: NonNegativeInt,
  position: NonNegativeInt,
  time: IsoUtc,
  source: NonEmpty,
  correlationId: NonEmpty,
  causationId: Schema.NullOr(NonEmpty),
  data: Schema.Unknown,
  prevHash: Hex64,
  hash: Hex64,
  sig: NonEmpty,
});

/**
 * A command sent to an agent over the bus: no ledger fields. `keyId` and `sig` are the
 * sender's registered key and its ed25519 signature (docs/identity.md); the runtime refuses
 * a command without them, so they are optional here only to name that refusal precisely.
 */
export const CommandEnvelopeSchema = Schema.Struct({
  id: NonEmpty,
  type: NonEmpty,
  version: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  time: IsoUtc,
  source: NonEmpty,
  correlationId: NonEmpty,
  causationId: Schema.NullOr(NonEmpty),
  data: Schema.Unknown,
  keyId: Schema.optional(NonEmpty),
  sig: Schema.optional(NonEmpty),
});
