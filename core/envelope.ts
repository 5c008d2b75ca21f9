/**
 * The envelope every CACO message travels in. Stored events carry the ledger fields
 * (`prevHash`, `hash`, `sig`); `position` is assigned by the store and is not hashed,
 * because adapters number their global log differently (a SQLite row id, a JetStream
 * sequence) while the ledger's content must hash the same on every stack.
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

/** The fields that are hashed: everything but `position`, `hash` and `sig`. */
export type Sealable = Omit<Envelope, 'position' | 'hash' | 'sig'>;

export const GENESIS_HASH = '0'.repeat(64);

/** Stream names become NATS subject tokens, so they must not contain `.`, `*`, `>` or spaces. */
export const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_:-]{0,199}$/;

/** `job-42` → `job`. A category groups the streams one agent owns. */
export function categoryOf(stream: string): string {
  const i = stream.indexOf('-');
  return i < 0 ? stream : stream.slice(0, i);
}
