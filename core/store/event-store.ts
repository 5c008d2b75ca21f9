import type { Envelope, NewEvent } from '../envelope/envelope.ts';

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
  /**
   * True when this call sealed (hashed and signed) the events with the store's keyring; false
   * or absent when it answered a retry with events read back from storage.
   */
  readonly sealedHere?: boolean;
}

/**
 * A stored message that is not an event at all: bytes that are not a commit on a JetStream
 * ledger subject, a SQLite row whose data is not JSON. Anyone who can write there can put
 * one there, so a reader reports it (see `onUnreadable`) and goes on.
 */
export interface UnreadableRecord {
  readonly unreadable: true;
  /** Where it sits in the global log (JetStream: the commit's first position, `seq * 1024`). */
  readonly position: number;
  /** The ledger stream it was written under, when the store can tell (its subject, its row). */
  readonly stream?: string;
  readonly reason: string;
  /** Size and SHA-256 (hex) of the stored bytes: enough to find them again, never the bytes. */
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Called for an unreadable message, in log order with the events. Without it a reader
 * throws a CorruptCommitError there, as before: only a reader that can record what it
 * skips may skip.
 */
export type UnreadableHandler = (u: UnreadableRecord) => void | Promise<void>;

export interface ReadAllOptions {
  /** Exclusive: read events whose position is greater than this. Default 0 (from the start). */
  readonly from?: number;
  /** Only events of streams in these categories (`job` for `job-42`). */
  readonly categories?: ReadonlyArray<string>;
  /** Stop after this many events. */
  readonly limit?: number;
  readonly onUnreadable?: UnreadableHandler;
}

export interface ReadStreamOptions {
  readonly onUnreadable?: UnreadableHandler;
}

/** What a subscription tells its owner when it fails; `fatal` once it has given up. */
export type SubscriptionErrorHandler = (err: unknown, info: { readonly attempt: number; readonly fatal: boolean; readonly position: number }) => void;

export interface SubscribeAllOptions {
  /** Exclusive: deliver events whose position is greater than this. */
  readonly from?: number;
  readonly categories?: ReadonlyArray<string>;
  readonly onUnreadable?: UnreadableHandler;
  /**
   * A failure of the reading (the consumer was lost, the connection broke) does not end the
   * subscription: it resumes from its own position after a back-off (100 ms doubling to
   * 5 s) and gives up only after `giveUpAfterMs` (default 120 s) without delivering anything.
   * Each failure is reported here.
   */
  readonly onError?: SubscriptionErrorHandler;
  readonly giveUpAfterMs?: number;
  /**
   * What a failure of the handler itself does: `'end'` (default) ends the subscription at
   * once (status `failed`, `caughtUp` rejects with it), so a projection with a bug does not
   * spin; `'retry'` treats it like a lost consumer (the relay, whose publish fails while the
   * bus is down, and the agents).
   */
  readonly handlerFailures?: 'end' | 'retry';
}

/** A subscription's state, for health checks: `failed` means it gave up and delivers nothing more. */
export interface SubscriptionStatus {
  readonly state: 'running' | 'retrying' | 'failed' | 'closed';
  readonly position: number;
  /** The last failure's message, while retrying or once failed. */
  readonly error?: string;
  /** Failures since the last delivery. */
  readonly attempts: number;
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
  status?(): SubscriptionStatus;
}

export type EventHandler = (event: Envelope) => void | Promise<void>;

/** The adapters that exist: each has a class in core/store/ and runs the store contract suite. */
export type StoreKind = 'sqlite' | 'jetstream' | 'postgres' | 'kurrentdb';

export interface EventStore {
  readonly kind: StoreKind;
  /**
   * Append `events` to `stream` atomically: all or nothing. A wrong `expected` raises a
   * ConcurrencyError and writes nothing. Re-appending an event id that is already stored in
   * this stream stores nothing new and returns the stored events (idempotent retries).
   */
  append(stream: string, events: ReadonlyArray<NewEvent>, expected: ExpectedRevision): Promise<AppendResult>;
  /** The events of one stream in revision order, from revision `fromRevision` (inclusive). */
  readStream(stream: string, fromRevision?: number, opts?: ReadStreamOptions): AsyncIterable<Envelope>;
  /** The global log in position order. */
  readAll(opts?: ReadAllOptions): AsyncIterable<Envelope>;
  subscribeAll(handler: EventHandler, opts?: SubscribeAllOptions): Promise<StoreSubscription>;
  /** Position of the last stored event (0 when empty). */
  headPosition(): Promise<number>;
  /** Names of every stream, with its last revision and last hash (for audit and head hashes). */
  streamHeads(): Promise<ReadonlyArray<{ stream: string; revision: number; hash: string }>>;
  /**
   * Make every commit stored so far survive a power cut, where a commit is acknowledged before
   * it is (SQLite with synchronous = NORMAL). The anchor calls it before it signs a checkpoint
   * over them. Absent where every acknowledged commit is durable already.
   */
  durable?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Dead letters of the ledger: what verify-on-read refused, one record per position
 * (a second report of the same position keeps the first record).
 */
export interface QuarantineRecord {
  readonly position: number;
  readonly reason: string;
  readonly stream?: string;
  readonly revision?: number;
  readonly eventId?: string;
  readonly type?: string;
  readonly source?: string;
  /** For an unreadable message: its size and SHA-256, never its bytes. */
  readonly bytes?: number;
  readonly sha256?: string;
  /** When this process first refused it (wall clock: an operator's record, not a ledger fact). */
  readonly detectedAt: string;
}

export interface QuarantineStore {
  quarantine(r: QuarantineRecord): Promise<void>;
  /** Every record, in position order. */
  quarantined(): Promise<ReadonlyArray<QuarantineRecord>>;
}

/** Where an agent or the relay remembers how far it has got in the global log. */
export interface CheckpointStore {
  get(name: string): Promise<number>;
  put(name: string, position: number): Promise<void>;
}
