import { Schema } from 'effect';
import { NonEmpty, Timestamp } from './primitives.ts';

/** A base64 raw 32-byte ed25519 public key (44 characters with padding). */
export const Ed25519PublicKeyBase64 = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9+/]{43}=$/, { expected: 'a base64 raw 32-byte ed25519 public key (44 characters)' }),
);

/**
 * One key in the local key directory file. The field names are those of the registry's
 * `Subscription` (registry.yaml), so an entry returned by a registry `lookup` can be pasted in
 * as it is: `encr_public_key`, `location`, `created` and `updated` are accepted and not used.
 * `url` is where the participant takes callbacks: the BPP POSTs only there (its origin).
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
  encr_public_key: Schema.optional(Schema.String),
  location: Schema.optional(Schema.Unknown),
  created: Schema.optional(Timestamp),
  updated: Schema.optional(Timestamp),
});

export const KeyDirectoryFile = Schema.Struct({
  format: Schema.Literal('caco-beckn-keys/1'),
  keys: Schema.Array(KeyDirectoryEntry),
});

export type KeyDirectoryEntry = Schema.Schema.Type<typeof KeyDirectoryEntry>;
export type KeyDirectoryFile = Schema.Schema.Type<typeof KeyDirectoryFile>;

/** A base64 ed25519 private key: the 32-byte seed, or libsodium's 64-byte seed‖public key. */
export const Ed25519PrivateKeyBase64 = Schema.String.check(
  Schema.isPattern(/^([A-Za-z0-9+/]{43}=|[A-Za-z0-9+/]{86}==)$/, { expected: 'a base64 ed25519 private key (32-byte seed or 64-byte libsodium key)' }),
);

/** This participant's own signing key (keep the file private: mode 0600). */
export const SigningKeyFile = Schema.Struct({
  format: Schema.Literal('caco-beckn-signing-key/1'),
  subscriber_id: NonEmpty,
  key_id: NonEmpty,
  signing_private_key: Ed25519PrivateKeyBase64,
  signing_public_key: Schema.optional(Ed25519PublicKeyBase64),
});
export type SigningKeyFile = Schema.Schema.Type<typeof SigningKeyFile>;
