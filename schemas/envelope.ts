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

/** A command sent to an agent over the bus: no ledger fields, and an optional signature. */
export const CommandEnvelopeSchema = Schema.Struct({
  id: NonEmpty,
  type: NonEmpty,
  version: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  time: IsoUtc,
  source: NonEmpty,
  correlationId: NonEmpty,
  causationId: Schema.NullOr(NonEmpty),
  data: Schema.Unknown,
  sig: Schema.optional(NonEmpty),
});
