import type { KeyObject } from 'node:crypto';

/**
 * Who may sign for a source: what verify-on-read and `audit verify` ask. The keyrings
 * satisfy it as they are (`publicKey`); a key registry that keeps rotated or several keys
 * per party also answers `keysFor`, and an event verifies when any of them signed it.
 */
export interface KeyResolver {
  publicKey(source: string): KeyObject | undefined;
  keysFor?(source: string): ReadonlyArray<KeyObject>;
}

/** Every key that may have signed for `source`; empty when none is registered. */
export function keysOf(keys: KeyResolver, source: string): ReadonlyArray<KeyObject> {
  if (keys.keysFor) return keys.keysFor(source);
  const k = keys.publicKey(source);
  return k ? [k] : [];
}
