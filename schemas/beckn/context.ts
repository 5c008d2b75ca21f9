import { Schema } from 'effect';
import { Duration, Location, ParticipantUri, NonEmpty, Timestamp, Uuid } from './primitives.ts';

/** The Beckn 1.1 actions CACO speaks (`track` is not part of a flexibility trade). */
export const REQUEST_ACTIONS = ['search', 'select', 'init', 'confirm', 'status', 'update', 'cancel', 'rating', 'support'] as const;
export const CALLBACK_ACTIONS = ['on_search', 'on_select', 'on_init', 'on_confirm', 'on_status', 'on_update', 'on_cancel', 'on_rating', 'on_support'] as const;
export const BECKN_ACTIONS = [...REQUEST_ACTIONS, ...CALLBACK_ACTIONS] as const;

export type BecknRequestAction = (typeof REQUEST_ACTIONS)[number];
export type BecknCallbackAction = (typeof CALLBACK_ACTIONS)[number];
export type BecknAction = (typeof BECKN_ACTIONS)[number];

/** The core version CACO puts in `context.version`, as the energy (DEG) examples do. */
export const BECKN_VERSION = '1.1.0';

/** The spec's `Location`; CACO reads `country.code` and `city.code`. */
export const ContextLocation = Location;

function contextFields<A extends BecknAction>(action: A) {
  return {
    domain: NonEmpty,
    location: Schema.optional(ContextLocation),
    action: Schema.Literal(action),
    version: Schema.Literal(BECKN_VERSION),
    bap_id: NonEmpty,
    bap_uri: ParticipantUri,
    bpp_id: Schema.optional(NonEmpty),
    bpp_uri: Schema.optional(ParticipantUri),
    transaction_id: Uuid,
    message_id: Uuid,
    timestamp: Timestamp,
    key: Schema.optional(Schema.String),
    ttl: Schema.optional(Duration),
  };
}

/** The context of one action: `action` must be that action. */
export function contextOf<A extends BecknAction>(action: A) {
  return Schema.Struct(contextFields(action));
}

/** Any CACO context, whatever the action. */
export const Context = Schema.Struct({ ...contextFields('search'), action: Schema.Literals(BECKN_ACTIONS) });
export type Context = Schema.Schema.Type<typeof Context>;

export const BecknError = Schema.Struct({
  code: Schema.String.check(Schema.isPattern(/^\d{3,6}$/u, { expected: 'a numeric Beckn error code like "30004"' })),
  message: Schema.optional(Schema.String),
  paths: Schema.optional(Schema.String),
});
export type BecknError = Schema.Schema.Type<typeof BecknError>;

/** The synchronous answer to every Beckn call. */
export const AckResponse = Schema.Struct({
  message: Schema.Struct({ ack: Schema.Struct({ status: Schema.Literal('ACK') }) }),
});
export const NackResponse = Schema.Struct({
  message: Schema.Struct({ ack: Schema.Struct({ status: Schema.Literal('NACK') }) }),
  error: Schema.optional(BecknError),
});
export const AckOrNack = Schema.Union([AckResponse, NackResponse]);
export type AckResponse = Schema.Schema.Type<typeof AckResponse>;
export type NackResponse = Schema.Schema.Type<typeof NackResponse>;
export type AckOrNack = Schema.Schema.Type<typeof AckOrNack>;
