import type { KeyObject } from 'node:crypto';

/** Bytes per event: a SHA-256 hash in, an ed25519 signature out. */
export const HASH_BYTES = 32;
export const SIG_BYTES = 64;

/**
 * Shared memory for `capacity` events, posted to the worker once (posting a new
 * SharedArrayBuffer costs ~40 µs; a batch message without one ~2 µs). A batch occupies the
 * event slots `start .. start+n` and these views over them:
 * - `control[2*start]`: the batch's next event to claim, `control[2*start+1]`: signatures
 *   written. The worker and the main thread both claim with `Atomics.add`, so whichever is
 *   free signs the next event;
 * - `sourceIds[e]`: the key to sign slot e with (see the `key` message);
 * - `hashes[e*32 ..]` in, `sigs[e*64 ..]` out.
 */
export interface Arena {
  readonly capacity: number;
  readonly control: Int32Array;
  readonly sourceIds: Int32Array;
  readonly hashes: Uint8Array;
  readonly sigs: Uint8Array;
}

const ARENA_BYTES_PER_EVENT = 8 + 4 + HASH_BYTES + SIG_BYTES;

export function newArena(capacity: number): { buffer: SharedArrayBuffer; arena: Arena } {
  const buffer = new SharedArrayBuffer(capacity * ARENA_BYTES_PER_EVENT);
  return { buffer, arena: arenaOf(buffer, capacity) };
}

export function arenaOf(buffer: SharedArrayBuffer, capacity: number): Arena {
  let at = 0;
  const control = new Int32Array(buffer, at, 2 * capacity);
  at += 8 * capacity;
  const sourceIds = new Int32Array(buffer, at, capacity);
  at += 4 * capacity;
  const hashes = new Uint8Array(buffer, at, HASH_BYTES * capacity);
  at += HASH_BYTES * capacity;
  const sigs = new Uint8Array(buffer, at, SIG_BYTES * capacity);
  return { capacity, control, sourceIds, hashes, sigs };
}

/** Messages from the main thread to the signing worker. */
export type SignerRequest =
  /** The key of source number `id`; sent once per source, before its first batch. */
  | { readonly kind: 'key'; readonly id: number; readonly key: KeyObject }
  /** The shared memory batches refer to from now on. */
  | { readonly kind: 'arena'; readonly buffer: SharedArrayBuffer; readonly capacity: number }
  /**
   * Sign the events of slots `start .. start+n` that it claims. `oneOff` carries a batch
   * too big for the arena in its own memory (slots from 0).
   */
  | { readonly kind: 'sign'; readonly batch: number; readonly start: number; readonly n: number; readonly oneOff?: { readonly buffer: SharedArrayBuffer; readonly capacity: number } };

/**
 * From the worker: `ready` once it has loaded (~0.5 s under tsx); per batch, `claimed-all`
 * when no event is left to claim and the ones it claimed are signed, or `failed`.
 */
export type SignerReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'claimed-all'; readonly batch: number }
  | { readonly kind: 'failed'; readonly batch: number; readonly error: string };

/** Claim and sign events of one batch until none is left; the same loop on either thread. */
export function signClaimed(a: Arena, start: number, n: number, keyOf: (sourceId: number) => KeyObject | undefined, signOne: (hash: Uint8Array, key: KeyObject) => Uint8Array): void {
  const next = 2 * start;
  for (;;) {
    const i = Atomics.add(a.control, next, 1);
    if (i >= n) return;
    const e = start + i;
    const key = keyOf(a.sourceIds[e]!);
    if (!key) throw new Error(`no signing key for source number ${a.sourceIds[e]}`);
    a.sigs.set(signOne(a.hashes.subarray(e * HASH_BYTES, (e + 1) * HASH_BYTES), key), e * SIG_BYTES);
    Atomics.add(a.control, next + 1, 1);
    Atomics.notify(a.control, next + 1);
  }
}
