import type { Envelope, NewEvent } from '../envelope.ts';

/**
 * What the caller expects the stream to be at before the append:
 * `'any'` (no check), `'no-stream'` (the stream must not exist), or the revision of its last
 * event (revisions count from 0).
 */
export type ExpectedRevision = 'any' | 'no-stream' | number;

export interface AppendResult {
  /** The stored events, sealed (revision, position, prevHash, hash, sig). */
  readonly events: ReadonlyArray<Envelope>;
  /** Revision of the stream's last event after the append. */
  readonly nextExpected: number;
  /** Global position of the last event after the append. */
  readonly position: number;
}

export interface ReadAllOptions {
  /** Exclusive: read events whose position is greater than this. Default 0 (from the start). */
  readonly from?: number;
  /** Only events of streams in these categories (`job` for `job-42`). */
  readonly categories?: ReadonlyArray<string>;
  /** Stop after this many events. */
  readonly limit?: number;
}

export interface SubscribeAllOptions {
  /** Exclusive: deliver events whose position is greater than this. */
  readonly from?: number;
  readonly categories?: ReadonlyArray<string>;
}

/**
 * A subscription to the global log: catch-up from a position, then live, with no gap and no
 * duplicate at the boundary. The handler is awaited, so events reach it one at a time in
 * position order.
 */
export interface StoreSubscription {
  /** Position of the last event handed to the handler. */
  readonly position: number;
  close(): Promise<void>;
  /** Resolves when the subscription has delivered everything up to the store's current head. */
  caughtUp(): Promise<void>;
  /** The error that ended the subscription (its handler or the store failed); undefined while alive. */
  readonly failure?: unknown;
}

export type EventHandler = (event: Envelope) => void | Promise<void>;

export interface EventStore {
  readonly kind: 'sqlite' | 'jetstream' | 'memory' | 'kurrentdb';
  /**
   * Append `events` to `stream` atomically: all or nothing. A wrong `expected` raises a
   * ConcurrencyError and writes nothing. Re-appending an event id that is already stored in
   * this stream stores nothing new and returns the stored events (idempotent retries).
   */
  append(stream: string, events: ReadonlyArray<NewEvent>, expected: ExpectedRevision): Promise<AppendResult>;
  /** The events of one stream in revision order, from revision `fromRevision` (inclusive). */
  readStream(stream: string, fromRevision?: number): AsyncIterable<Envelope>;
  /** The global log in position order. */
  readAll(opts?: ReadAllOptions): AsyncIterable<Envelope>;
  subscribeAll(handler: EventHandler, opts?: SubscribeAllOptions): Promise<StoreSubscription>;
  /** Position of the last stored event (0 when empty). */
  headPosition(): Promise<number>;
  /** Names of every stream, with its last revision and last hash (for audit and head hashes). */
  streamHeads(): Promise<ReadonlyArray<{ stream: string; revision: number; hash: string }>>;
  close(): Promise<void>;
}

/** Where an agent or the relay remembers how far it has got in the global log. */
export interface CheckpointStore {
  get(name: string): Promise<number>;
  put(name: string, position: number): Promise<void>;
}
