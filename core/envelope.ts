/**
 * The envelope every CACO message travels in. Stored events carry the ledger fields
 * (`prevHash`, `hash`, `sig`, and `covers` on a commit's signed head); `position` is assigned
 * by the store and is not hashed, because adapters number their global log differently (a
 * SQLite row id, a JetStream sequence) while the ledger's content must hash the same on every
 * stack.
 *
 * Signatures are per commit (docs/ledger.md): one append is one commit, and only its last
 * event carries `sig`, over its hash, which chains over every event before it. That event
 * says how many events the signature vouches for in `covers` (hashed, so the boundary
 * cannot be moved; absent when it covers only itself). The other events of the commit have
 * `sig: ''`. A ledger written before this (one signature per event, no `covers`) reads as a
 * ledger of one-event commits.
 */
export interface Envelope<D = unknown> {
  readonly id: string;
  readonly type: string;
  readonly version: number;
  readonly stream: string;
  readonly revision: number;
  readonly position: number;
  readonly time: string;
  readonly source: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly data: D;
  readonly prevHash: string;
  readonly hash: string;
  /**
   * On a commit's signed head: how many events its signature vouches for (itself and the
   * `covers - 1` before it in the stream, all of its source). Absent (undefined) on every
   * other event, and on a head that covers only itself. Hashed.
   */
  readonly covers?: number | undefined;
  /** ed25519 signature (base64) of `hash` by the source's key; '' on an event its commit's head signs for. */
  readonly sig: string;
}

/** What a decider hands to the store: the fields the store cannot know yet are absent. */
export interface NewEvent<D = unknown> {
  readonly id: string;
  readonly type: string;
  readonly version: number;
  readonly time: string;
  readonly source: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly data: D;
}

/** The fields that are hashed: everything but `position`, `hash` and `sig` (`covers` is hashed). */
export type Sealable = Omit<Envelope, 'position' | 'hash' | 'sig'>;

export const GENESIS_HASH = '0'.repeat(64);

/** The most events one signature may cover: a JetStream commit holds at most 1,024 events. */
export const MAX_COVERS = 1024;

/** Stream names become NATS subject tokens, so they must not contain `.`, `*`, `>` or spaces. */
export const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_:-]{0,199}$/;

/** `job-42` → `job`. A category groups the streams one agent owns. */
export function categoryOf(stream: string): string {
  const i = stream.indexOf('-');
  return i < 0 ? stream : stream.slice(0, i);
}
