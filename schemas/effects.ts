import { Schema } from 'effect';
import { defineEvent } from './registry.ts';
import { NonEmpty, NonNegativeInt, PositiveInt, Text, nonEmptyText, text } from './common.ts';

/**
 * Effects outside the ledger (Beckn callbacks and requests) are facts first: the decider
 * appends a `*.scheduled` event carrying the exact message, and the runtime's effects reactor
 * sends it from the committed ledger, then records `outbox.effect.sent` or `outbox.effect.failed`. A decision
 * whose append fails therefore sends nothing, and a crash between commit and send sends after
 * restart (the receiver drops the repeat by its message id).
 */

/** What a decider may ask to have echoed back in the outcome (which purchase, which item). */
const Meta = Schema.Record(nonEmptyText(64), Schema.NullOr(Schema.Union([text(512), Schema.Finite]))).check(Schema.isMaxProperties(16));

const BecknEffect = Schema.Struct({
  /** The logical base URI the message goes to (a bap_uri or bpp_uri). */
  target: nonEmptyText(2048),
  action: nonEmptyText(64),
  /** The Beckn message id: the receiver's dedupe key, and the outbox's idempotency key. */
  messageId: NonEmpty,
  /** The body exactly as it is sent (signed when it leaves, so the signature's lifetime starts then). */
  body: Schema.Unknown,
  meta: Schema.optional(Meta),
});

export const CallbackScheduled = defineEvent('beckn.callback.scheduled', 1, 'A Beckn on_* callback the BPP decided to send; sent by the effects reactor once stored', BecknEffect);
export const BecknRequestScheduled = defineEvent('beckn.request.scheduled', 1, 'A Beckn request the BAP decided to send; sent by the effects reactor once stored', BecknEffect);

const Outcome = {
  /** Id of the `*.scheduled` event this outcome settles. */
  effectId: NonEmpty,
  effectType: nonEmptyText(128),
  /** The agent that scheduled it. */
  scheduledBy: NonEmpty,
  messageId: NonEmpty,
  attempts: PositiveInt,
  meta: Schema.optional(Meta),
};

export const EffectSent = defineEvent(
  'outbox.effect.sent',
  1,
  'The receiver answered a scheduled effect (its answer may still be a refusal, e.g. a Beckn NACK)',
  Schema.Struct({
    ...Outcome,
    httpStatus: NonNegativeInt,
    /** The Beckn acknowledgement, when the answer carried one. */
    ack: Schema.NullOr(Schema.Literals(['ACK', 'NACK'])),
    /** At most 512 characters of the receiver's words. */
    detail: Schema.NullOr(text(512)),
  }),
);

export const EffectFailed = defineEvent(
  'outbox.effect.failed',
  1,
  'A scheduled effect was given up on (no answer after its retries, or its queue was full)',
  Schema.Struct({ ...Outcome, attempts: NonNegativeInt, reason: Text }),
);

export const effectMessages = [CallbackScheduled, BecknRequestScheduled, EffectSent, EffectFailed];
