/**
 * The ledger in KurrentDB (formerly EventStoreDB), through the official Node client.
 *
 * Layout (docs/kurrentdb-store.md): every CACO event of a site is one event of a single
 * KurrentDB stream, the site log `<prefix>-ledger`; CACO's position is the log's stream
 * revision + 1. An append reads the log up to its end, checks the caller's expected revision
 * and seals the events against that state, then appends with KurrentDB's expected revision
 * set to the log's last revision: if any other writer appended in between, KurrentDB refuses
 * with WrongExpectedVersion, nothing is written, and the append is checked and sealed again on
 * the new state. That one optimistic check gives per-stream concurrency, atomic appends, hash
 * chains that never fork, and dense positions for any number of writer processes.
 *
 * NOT verified against a live server on the machine it was written on (no Docker engine);
 * see the docs for what was and was not run.
 */
import { checkpointPosition } from './checkpoint-value.ts';
import { BACKWARDS, END, FORWARDS, KurrentDBClient, StreamNotFoundError, WrongExpectedVersionError, type AppendStreamState, type EventData, type StreamSubscription } from '@kurrent/kurrentdb-client';
import { randomUUID } from 'node:crypto';
import { categoryOf, type Envelope, type NewEvent } from '../envelope/envelope.ts';
import { ConcurrencyError, ConfigError, InvalidArgumentError } from '../errors/errors.ts';
import type { Keyring } from '../ledger/keyring.ts';
import { ChainVerifier, type VerifiedHead } from '../ledger/chain-verifier.ts';
import { FifoMap } from '../collections/fifo-map.ts';
import { refuseUnprovenRetry } from './retried-append.ts';
import { hashBatch, headsOf, signHeads } from '../ledger/seal.ts';
import { LiveSignal, runCatchUpSubscription } from './catch-up.ts';
import type { AppendResult, CheckpointStore, EventHandler, EventStore, ExpectedRevision, ReadAllOptions, ReadStreamOptions, StoreSubscription, SubscribeAllOptions, UnreadableRecord } from './event-store.ts';
import { CorruptCommitError } from './jetstream-commit.ts';
import {
  CHECKPOINT_STREAM_METADATA,
  checkConnectionString,
  checkpointStream,
  expectedLogState,
  fromRecord,
  LogIndex,
  positionOfRevision,
  readRanges,
  revisionAfterPosition,
  siteLogStream,
  toEventData,
  type KurrentRecord,
} from './kurrentdb-mapping.ts';
import { describeExpected, expectationHolds, validateAppend } from './validate.ts';
import { redactUrl } from '../config/redact.ts';

export interface KurrentDbStoreOptions {
  /** Connection string, e.g. `kurrentdb://127.0.0.1:2113?tls=false`. */
  readonly url: string;
  readonly site: string;
  readonly keyring: Keyring;
  /** Stream-name prefix (default `caco-<site>`). */
  readonly prefix?: string;
  /** How often a live subscription looks at the log when no push arrived (ms; default 250). */
  readonly pollMs?: number;
  /** Appends that lost the race to another writer this many times in a row give up (default 100). */
  readonly maxConflictRetries?: number;
  /** Deadline of the first request, which proves the server is reachable (ms; default 5000). */
  readonly connectTimeoutMs?: number;
  /** A client to use instead of one made from `url` (tests); the store disposes of it at close. */
  readonly client?: KurrentClient;
}

/** The part of the official client this store uses: all it needs of a KurrentDB. */
export type KurrentClient = Pick<KurrentDBClient, 'appendToStream' | 'readStream' | 'subscribeToStream' | 'setStreamMetadata' | 'deleteStream' | 'dispose'>;

const PAGE = 1000;

/** Appends written together at most, and about how many bytes (under KurrentDB's default 1 MiB limit on one append). */
const MAX_GROUP = 64;
const MAX_GROUP_BYTES = 512 * 1024;

interface WaitingAppend {
  readonly stream: string;
  readonly events: ReadonlyArray<NewEvent>;
  readonly expected: ExpectedRevision;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (err: Error) => void;
  /** About what it adds to the request: its data as JSON plus the envelope around each event. */
  readonly bytes: number;
}

function estimatedBytes(events: ReadonlyArray<NewEvent>): number {
  let n = 0;
  for (const e of events) n += (JSON.stringify(e.data)?.length ?? 4) + 1024;
  return n;
}

/** The client's records as this module's subset (the client types data per event type). */
function record(r: { event?: unknown } | undefined): KurrentRecord | undefined {
  return r?.event as KurrentRecord | undefined;
}

function isStreamNotFound(err: unknown): boolean {
  return err instanceof StreamNotFoundError || (err as { type?: string } | null)?.type === 'stream-not-found';
}

export class KurrentDbEventStore implements EventStore, CheckpointStore {
  readonly kind = 'kurrentdb' as const;
  readonly logStream: string;
  private readonly prefix: string;
  private readonly index = new LogIndex();
  /**
   * Each stream's last head that verifies, as this writer sealed or checked it: what appends
   * seal on. The index's head is whatever the site log holds last, and anyone who can append
   * to the log can put a CACO-shaped record there (any stream, any revision, no valid
   * signature): sealed on, every later real event of the stream failed verify-on-read, and
   * expected revisions failed against the forged one (a helper's review). As the JetStream
   * writer does, a record that does not verify is passed over and the writer seals on the last
   * one that does; readers quarantine the forged record and read on.
   */
  private readonly verifiedHeads = new FifoMap<string, VerifiedHead>(100_000);
  private readonly live = new LiveSignal();
  /** Appends of this process not yet written; they are written a group at a time (see append). */
  private waiting: WaitingAppend[] = [];
  private writing = false;
  /** Settles when the appends being written are (close waits for it). */
  private written: Promise<void> = Promise.resolve();
  private syncing: Promise<void> | undefined;
  private pushSub: StreamSubscription | undefined;
  private readonly checkpointMetaSet = new Set<string>();
  private closed = false;

  private constructor(
    private readonly client: KurrentClient,
    private readonly opts: KurrentDbStoreOptions,
  ) {
    this.prefix = opts.prefix ?? `caco-${opts.site}`;
    this.logStream = siteLogStream(this.prefix);
  }

  /** Connect, prove the server answers, and read the site log into the index. */
  static async connect(opts: KurrentDbStoreOptions): Promise<KurrentDbEventStore> {
    const url = checkConnectionString(opts.url);
    let client: KurrentClient;
    try {
      client = opts.client ?? KurrentDBClient.connectionString(url);
    } catch (err) {
      throw new ConfigError('--kurrentdb-url', `"${redactUrl(url)}" is not accepted by the KurrentDB client (${err instanceof Error ? err.message : String(err)})`);
    }
    const store = new KurrentDbEventStore(client, opts);
    try {
      await store.probe(opts.connectTimeoutMs ?? 5000);
      await store.sync();
    } catch (err) {
      await client.dispose().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private async probe(deadline: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const read = (async () => {
        for await (const _ of this.client.readStream(this.logStream, { direction: BACKWARDS, fromRevision: END, maxCount: 1, deadline })) break;
      })();
      // The client's reads do not all honour `deadline` (1.3 passes it to some calls only),
      // and a host that drops packets answers nothing: the limit is enforced here.
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${deadline} ms`), { name: 'DeadlineExceededError' })), deadline);
      });
      read.catch(() => undefined);
      await Promise.race([read, late]);
    } catch (err) {
      if (isStreamNotFound(err)) return;
      // The client's errors say little more than their class ("UnavailableError"): say what it means.
      const name = err instanceof Error ? (err.constructor.name === 'Error' ? err.name : err.constructor.name) : '';
      const why =
        name === 'UnavailableError'
          ? 'unavailable: nothing that speaks KurrentDB gRPC answered there'
          : name === 'DeadlineExceededError'
            ? `no answer within ${deadline} ms`
            : err instanceof Error
              ? `${name}: ${err.message}`
              : String(err);
      throw new ConfigError('--kurrentdb-url', `cannot reach KurrentDB at ${redactUrl(this.opts.url)} (${why}); start one (deploy/kurrentdb/docker-compose.yml) or fix the connection string (CACO_KURRENTDB_URL)`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Read the site log from the index's end to the log's end (one shared read at a time). */
  private sync(): Promise<void> {
    this.syncing ??= this.readIntoIndex().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async readIntoIndex(): Promise<void> {
    for (;;) {
      const page = await this.readLog(this.index.count, PAGE);
      for (const e of page) this.index.apply(e);
      if (page.length < PAGE) return;
    }
  }

  /** Up to `limit` records of the site log after position `from` (exclusive). */
  private async readLog(from: number, limit: number): Promise<Array<Envelope | UnreadableRecord>> {
    const out: Array<Envelope | UnreadableRecord> = [];
    try {
      for await (const r of this.client.readStream(this.logStream, { direction: FORWARDS, fromRevision: revisionAfterPosition(from), maxCount: limit })) {
        const rec = record(r);
        if (rec) out.push(fromRecord(rec));
      }
    } catch (err) {
      if (isStreamNotFound(err)) return out;
      throw err;
    }
    return out;
  }

  /**
   * Appends made while an earlier write is out (or in the same turn) are written together,
   * one request to KurrentDB for the group, as the SQLite store commits a group: each is
   * checked on its own against the log and the members before it (a refused one writes
   * nothing and leaves the rest), the heads of a source share a signature (batch-signature.ts),
   * and the group is one append to the site log, all or nothing.
   */
  append(stream: string, events: ReadonlyArray<NewEvent>, expected: ExpectedRevision): Promise<AppendResult> {
    try {
      validateAppend(stream, events, expected);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.waiting.push({ stream, events, expected, resolve, reject, bytes: estimatedBytes(events) });
      if (!this.writing) {
        this.writing = true;
        this.written = this.writeWaiting();
      }
    });
  }

  /** Writes the waiting appends, group after group, until none are left. Never throws. */
  private async writeWaiting(): Promise<void> {
    // One microtask: appends made in the same turn as the first join its group.
    await Promise.resolve();
    while (this.waiting.length > 0) {
      let n = 0;
      let bytes = 0;
      while (n < this.waiting.length && n < MAX_GROUP && (n === 0 || bytes + this.waiting[n]!.bytes <= MAX_GROUP_BYTES)) bytes += this.waiting[n++]!.bytes;
      await this.writeGroup(this.waiting.splice(0, n));
    }
    this.writing = false;
  }

  /** `appendGroup`, with a failure of the read or the write (nothing known to be written) told to every member. */
  private async writeGroup(group: ReadonlyArray<WaitingAppend>): Promise<void> {
    try {
      await this.appendGroup(group);
    } catch (err) {
      for (const a of group) a.reject(err as Error);
    }
  }

  /** The stream's last head that verifies: the one this writer knows, or found by verifying what the log holds after it. */
  private async verifiedHead(stream: string): Promise<VerifiedHead | undefined> {
    const stored = this.index.head(stream);
    const known = this.verifiedHeads.get(stream);
    if (stored === undefined || (known !== undefined && known.revision === stored.revision && known.hash === stored.hash)) return known;
    const verifier = new ChainVerifier(this.opts.keyring);
    verifier.seed(stream, known);
    for await (const e of this.readStream(stream, known ? known.revision + 1 : 0, { onUnreadable: () => undefined })) verifier.push(e);
    verifier.flush();
    const head = verifier.head(stream);
    if (head !== undefined) this.verifiedHeads.set(stream, head);
    return head;
  }

  /** Checks, seals and writes a group (a lone append is a group of one); settles every member. */
  private async appendGroup(group: ReadonlyArray<WaitingAppend>): Promise<void> {
    const maxRetries = this.opts.maxConflictRetries ?? 100;
    for (let attempt = 0; ; attempt++) {
      await this.sync();
      // Each member checked against the log and the members before it, then hashed on the
      // head they leave, exactly as the SQLite store seals; a refused member writes nothing.
      const heads = new Map<string, { revision: number; hash: string }>();
      const verified = new Map<string, VerifiedHead | undefined>();
      for (const a of group) if (!verified.has(a.stream)) verified.set(a.stream, await this.verifiedHead(a.stream));
      const ids = new Set<string>();
      const members: Array<{ a: WaitingAppend; sealed: Envelope[] }> = [];
      const retries: WaitingAppend[] = [];
      const refused: Array<{ a: WaitingAppend; err: unknown }> = [];
      for (const a of group) {
        try {
          if (this.index.positionOfId(a.events[0]!.id) !== undefined || ids.has(a.events[0]!.id)) {
            retries.push(a);
            continue;
          }
          const head = heads.get(a.stream) ?? verified.get(a.stream);
          if (!expectationHolds(a.expected, head?.revision)) throw new ConcurrencyError(a.stream, describeExpected(a.expected), head?.revision ?? 'no-stream');
          for (let i = 1; i < a.events.length; i++) {
            const id = a.events[i]!.id;
            if (this.index.positionOfId(id) !== undefined || ids.has(id)) throw new InvalidArgumentError(`events[${i}].id`, `"${id}" is already stored in another append`);
          }
          const sealed = hashBatch(a.stream, a.events, head);
          for (const e of sealed) ids.add(e.id);
          const last = sealed[sealed.length - 1]!;
          heads.set(a.stream, { revision: last.revision, hash: last.hash });
          members.push({ a, sealed });
        } catch (err) {
          refused.push({ a, err });
        }
      }
      if (members.length > 0) {
        try {
          signHeads(headsOf(members.map((m) => m.sealed)), this.opts.keyring);
        } catch (err) {
          // A source that cannot sign (no key) fails the whole batch: a lone append is refused
          // with it; a group is written one append at a time, where only that append fails.
          if (group.length === 1) return group[0]!.reject(err as Error);
          for (const a of group) await this.writeGroup([a]);
          return;
        }
        const count = this.index.count;
        const events = members.flatMap((m) => m.sealed);
        if (!(await this.writeToLog(events, count))) {
          // Another writer appended to the log since it was read: nothing of ours was written.
          // Read what it wrote and check again (an expectation may no longer hold).
          if (attempt < maxRetries) continue;
          const what = members.length === 1 ? `the append to "${members[0]!.a.stream}"` : `a group of ${members.length} appends`;
          throw new Error(`KurrentDB ledger: ${what} lost the race for the site log ${maxRetries + 1} times in a row; nothing was written`);
        }
        events.forEach((e, i) => {
          (e as { position: number }).position = count + 1 + i;
        });
        // Applied at once, so a read that follows sees them even if it joins a sync begun
        // before this write (the index skips positions it already holds).
        for (const e of events) this.index.apply(e);
        for (const [stream, head] of heads) this.verifiedHeads.set(stream, head);
        this.live.notify();
        for (const { a, sealed } of members) {
          const last = sealed[sealed.length - 1]!;
          a.resolve({ events: sealed, nextExpected: last.revision, position: last.position, sealedHere: true });
        }
      }
      for (const { a, err } of refused) a.reject(err as Error);
      for (const a of retries) {
        try {
          a.resolve(await this.retried(a.stream, a.events));
        } catch (err) {
          a.reject(err as Error);
        }
      }
      return;
    }
  }

  /** Append sealed events to the site log at `count`; false when another writer got there first (nothing written). */
  private async writeToLog(sealed: ReadonlyArray<Envelope>, count: number): Promise<boolean> {
    try {
      const r = await this.client.appendToStream(
        this.logStream,
        // CACO data may be any JSON value; the client's type allows only objects, arrays and strings.
        sealed.map((e) => toEventData(e) as EventData),
        { streamState: expectedLogState(count) as AppendStreamState },
      );
      // `throwOnAppendFailure=false` in the connection string answers a conflict this way.
      return r.success;
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError)) throw err;
      return false;
    }
  }

  /** A retry of an append already stored: answer with the stored events, or refuse a mismatch. */
  private async retried(stream: string, events: ReadonlyArray<NewEvent>): Promise<AppendResult> {
    const stored: Envelope[] = [];
    let first: Envelope | undefined;
    for (let i = 0; i < events.length; i++) {
      const at = this.index.positionOfId(events[i]!.id);
      const e = at === undefined ? undefined : await this.readAt(at);
      if (i === 0) first = e;
      if (!e || !first || e.stream !== stream || e.revision !== first.revision + i) {
        throw new InvalidArgumentError(`events[${i}].id`, `a retried append must repeat the same events in the same stream; "${events[i]!.id}" does not match what is stored`);
      }
      stored.push(e);
    }
    // The same events means the whole of what was stored, as the SQLite store answers it: a
    // retry that starts or stops inside a stored append (between the events one of its
    // signatures covers: signsFor) is another append. Its members are written signed before
    // a group's retries are answered, so a signature tells where an append (or a run of one
    // source in it) ends.
    const last = stored[stored.length - 1]!;
    if (last.sig === '') {
      throw new InvalidArgumentError('events', `a retried append must repeat the same events; the stored append that holds "${last.id}" goes on after it`);
    }
    const head = stored[0]!;
    if (head.revision > 0 && (await this.eventBefore(head))?.sig === '') {
      throw new InvalidArgumentError('events[0].id', `a retried append must repeat the same events; "${head.id}" is not the first event of the stored append that holds it`);
    }
    refuseUnprovenRetry('KurrentDB ledger', stream, stored, this.opts.keyring);
    return { events: stored, nextExpected: last.revision, position: last.position };
  }

  /** The event before `e` in its stream (one read), if it is there. */
  private async eventBefore(e: Envelope): Promise<Envelope | undefined> {
    const positions = this.index.positionsOf(e.stream);
    // In order: the one before e's position.
    let lo = 0;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (positions[mid]! < e.position) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    const before = await this.readAt(positions[lo - 1]!);
    return before && before.stream === e.stream && before.revision === e.revision - 1 ? before : undefined;
  }

  private async readAt(position: number): Promise<Envelope | undefined> {
    const [e] = await this.readLog(position - 1, 1);
    return e && !('unreadable' in e) ? e : undefined;
  }

  async *readStream(stream: string, fromRevision = 0, opts: ReadStreamOptions = {}): AsyncIterable<Envelope> {
    await this.sync();
    const positions = new Set(this.index.positionsOf(stream));
    for (const { from, to } of readRanges([...positions])) {
      for (let at = from - 1; at < to; ) {
        const page = await this.readLog(at, Math.min(PAGE, to - at));
        if (page.length === 0) break;
        for (const e of page) {
          at = e.position;
          if (!positions.has(e.position)) continue;
          if ('unreadable' in e) {
            if (!opts.onUnreadable) throw new CorruptCommitError('the KurrentDB ledger', e.position, e.reason);
            await opts.onUnreadable(e);
          } else if (e.revision >= fromRevision) yield e;
        }
      }
    }
  }

  async *readAll(opts: ReadAllOptions = {}): AsyncIterable<Envelope> {
    let from = opts.from ?? 0;
    let left = opts.limit ?? Infinity;
    const cats = opts.categories ? new Set(opts.categories) : undefined;
    while (left > 0) {
      const page = await this.readLog(from, PAGE);
      for (const e of page) {
        from = e.position;
        if ('unreadable' in e) {
          if (!opts.onUnreadable) throw new CorruptCommitError('the KurrentDB ledger', e.position, e.reason);
          await opts.onUnreadable(e);
          continue;
        }
        if (cats && !cats.has(categoryOf(e.stream))) continue;
        yield e;
        if (--left <= 0) return;
      }
      if (page.length < PAGE) return;
    }
  }

  /**
   * Catch-up and live are one loop reading the log by position (core/store/catch-up.ts), so
   * there is no boundary to lose or double an event at. KurrentDB's own subscription to the
   * log only wakes that loop early; a poll covers a lost push.
   */
  async subscribeAll(handler: EventHandler, opts: SubscribeAllOptions = {}): Promise<StoreSubscription> {
    this.startPush();
    return runCatchUpSubscription({
      from: opts.from ?? 0,
      categories: opts.categories,
      readPage: (from, limit) => this.readLog(from, limit),
      head: () => this.headPosition(),
      live: this.live,
      pollMs: this.opts.pollMs ?? 250,
      handler,
      onUnreadable: opts.onUnreadable,
      onError: opts.onError,
      giveUpAfterMs: opts.giveUpAfterMs,
      handlerFailures: opts.handlerFailures,
      storeName: 'the KurrentDB ledger',
    });
  }

  private startPush(): void {
    if (this.pushSub || this.closed) return;
    const sub = this.client.subscribeToStream(this.logStream, { fromRevision: END });
    this.pushSub = sub;
    sub.on('data', () => this.live.notify());
    // A dropped push subscription costs only latency (the poll goes on); try again later.
    sub.on('error', () => {
      if (this.pushSub === sub) this.pushSub = undefined;
      if (!this.closed) setTimeout(() => this.startPush(), 1000).unref();
    });
  }

  async headPosition(): Promise<number> {
    try {
      for await (const r of this.client.readStream(this.logStream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
        const rec = record(r);
        if (rec) return positionOfRevision(rec.revision);
      }
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
    }
    return 0;
  }

  async streamHeads(): Promise<ReadonlyArray<{ stream: string; revision: number; hash: string }>> {
    await this.sync();
    return this.index.allHeads();
  }

  async get(name: string): Promise<number> {
    try {
      for await (const r of this.client.readStream(checkpointStream(this.prefix, name), { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
        const d = record(r)?.data;
        // As every other store reads a checkpoint (an integer >= 0): -7 was taken, and the
        // agent's reader then failed at each start with "from: must be a position >= 0" (a helper's review).
        if (typeof d === 'object' && d !== null && 'name' in d && d.name === name && 'position' in d) return checkpointPosition(name, d.position, `KurrentDB stream ${checkpointStream(this.prefix, name)}`);
        throw new InvalidArgumentError('checkpoint', `"${name}" holds ${JSON.stringify(d)?.slice(0, 200)}, not a position`);
      }
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
    }
    return 0;
  }

  async put(name: string, position: number): Promise<void> {
    if (!Number.isSafeInteger(position) || position < 0) throw new InvalidArgumentError('position', `must be an integer >= 0, got ${position}`);
    const stream = checkpointStream(this.prefix, name);
    await this.client.appendToStream(stream, { id: randomUUID(), contentType: 'application/json', type: 'caco.checkpoint', data: { name, position }, metadata: undefined });
    // Only the last checkpoint matters: KurrentDB may scavenge the rest.
    if (!this.checkpointMetaSet.has(stream)) {
      await this.client.setStreamMetadata(stream, CHECKPOINT_STREAM_METADATA);
      this.checkpointMetaSet.add(stream);
    }
  }

  /** Delete the site log and this process's checkpoint streams (tests). */
  async destroy(): Promise<void> {
    await this.client.deleteStream(this.logStream).catch((err: unknown) => {
      if (!isStreamNotFound(err)) throw err;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.written;
    this.live.close();
    await this.pushSub?.unsubscribe().catch(() => undefined);
    await this.client.dispose();
  }
}
