import { Schema } from 'effect';
import { NonEmpty, Timestamp } from './primitives.ts';

/** A base64 raw 32-byte ed25519 public key (44 characters with padding). */
export const Ed25519PublicKeyBase64 = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9+/]{43}=$/, { expected: 'a base64 raw 32-byte ed25519 public key (44 characters)' }),
);

/**
 * One key in the local key directory file. The field names are those of the registry's
 * `Subscription` (registry.yaml), so an entry returned by a registry `lookup` can be pasted in.
 */
export const KeyDirectoryEntry = Schema.Struct({
  subscriber_id: NonEmpty,
  key_id: NonEmpty,
  signing_public_key: Ed25519PublicKeyBase64,
  type: Schema.optional(Schema.Literals(['BAP', 'BPP', 'BG'])),
  url: Schema.optional(Schema.String),
  domain: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Literals(['INITIATED', 'UNDER_SUBSCRIPTION', 'SUBSCRIBED', 'EXPIRED', 'UNSUBSCRIBED', 'INVALID_SSL'])),
  valid_from: Schema.optional(Timestamp),
  valid_until: Schema.optional(Timestamp),
  comment: Schema.optional(Schema.String),
});

export const KeyDirectoryFile = Schema.Struct({
  format: Schema.Literal('caco-beckn-keys/1'),
  keys: Schema.Array(KeyDirectoryEntry),
});

export type KeyDirectoryEntry = Schema.Schema.Type<typeof KeyDirectoryEntry>;
export type KeyDirectoryFile = Schema.Schema.Type<typeof KeyDirectoryFile>;
