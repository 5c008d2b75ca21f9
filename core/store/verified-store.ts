import { STREAM_NAME, type Envelope, type NewEvent } from '../envelope/envelope.ts';
import { ChainVerifier, type Judged, type StreamSnapshot } from '../ledger/chain-verifier.ts';
import { SignatureCache } from '../ledger/signature-cache.ts';
import { FifoMap } from '../collections/fifo-map.ts';
import { StreamCheckpoints, type StreamCheckpoint } from './stream-checkpoints.ts';
import type { KeyResolver } from '../ledger/key-resolver.ts';
import type { Logger } from '../log/logger.ts';
import type { Upcasters } from '../../schemas/index.ts';
import { cacoUpcasters } from '../../schemas/index.ts';
import { MemoryQuarantineStore } from './memory-quarantine.ts';
import type {
  AppendResult,
  EventHandler,
  EventStore,
  ExpectedRevision,
  QuarantineRecord,
  QuarantineStore,
  ReadAllOptions,
  ReadStreamOptions,
  StoreSubscription,
  SubscribeAllOptions,
  UnreadableRecord,
} from './event-store.ts';

/** A verified stream read can also say what it left out, for a reader that must not be silent about it. */
export interface VerifiedReadStreamOptions extends ReadStreamOptions {
  /** Each record of the stream refused on this read (failed verification, or unreadable): it is quarantined and skipped. */
  readonly onRefused?: (r: { readonly position: number; readonly reason: string }) => void;
}

export interface VerifiedStoreOptions {
  /** Who may sign for a source (the keyring, or a key registry). */
  readonly keys: KeyResolver;
  /** Where refused events are recorded (the store's own quarantine table or bucket). */
  readonly quarantine: QuarantineStore;
  readonly log: Logger;
  /**
   * Events of an older version of their type are handed on upgraded to its latest version
   * (after they were verified: the hash and signature are of the stored event). Default: none.
   */
  readonly upcasters?: Upcasters;
  /** Revisions between the verified states kept of each stream (see `StreamCheckpoints`); default 1,000. */
  readonly checkpointEvery?: number;
}

/**
 * The event as stored, for an envelope a verified read handed on upgraded (see
 * `VerifiedStoreOptions.upcasters`): its data and version are the ones its hash and signature
 * cover. Any other envelope is itself.
 */
export function storedEnvelope(e: Envelope): Envelope {
  return storedOf.get(e) ?? e;
}

/** Upgraded envelope → the stored one it was made from. */
const storedOf = new WeakMap<Envelope, Envelope>();

/** What verify-on-read has refused in this process. */
export interface QuarantineCounters {
  /** Distinct positions refused (each logged and recorded once). */
  readonly refused: number;
  /** Records that could not be written to the quarantine store (each also logged). */
  readonly recordFailures: number;
}

/**
 * A verified view for a reader that only reads (a projection, the dashboard, a CLI report):
 * refusals are logged and counted, and recorded in memory only, since a read-only command
 * must not write to the ledger's files; `caco audit verify` is the report of record.
 * Events of an older version are read upgraded, by CACO's upcasters unless others are given.
 */
export function verifiedView(store: EventStore, keys: KeyResolver, log: Logger, upcasters: Upcasters = cacoUpcasters()): VerifiedEventStore {
  if (store instanceof VerifiedEventStore) return store;
  return new VerifiedEventStore(store, { keys, quarantine: new MemoryQuarantineStore(), log, upcasters });
}

/** Positions remembered as reported; past this the memory is dropped (and a position may be logged again). */
const MAX_REMEMBERED = 100_000;
/** Refusals logged one line each before the log counts them instead. */
const LOGGED_REFUSALS = 100;

/**
 * Verify on read: the store every reader in a process uses (agents, relay, projections).
 * Each event a read or a subscription hands on has been checked by a ChainVerifier of
 * that reader: hash, signature by a registered key of its source, revision and prevHash
 * after the stream's last verified event. What fails, and any message that is not an
 * event at all, is quarantined — one log line, a record with its position and reason in
 * the store's quarantine, a counter — and skipped: the reader goes on with the next event.
 *
 * A reader that starts after the start of the ledger (a subscription from a checkpoint)
 * learns each stream's verified head the first time it meets the stream, by verifying
 * that stream's events before its start; so it judges the next event as a reader from
 * the start would. Appends pass through: the writer's own chaining is the store's affair.
 *
 * Upcasting happens here too, once, after verification: with `upcasters`, an event stored at
 * an older version of its type is handed on as a copy at the latest version (every reader in
 * the process, agents and projections alike, sees only latest versions). The copy keeps the
 * stored event's `hash` and `sig`, which are of the stored bytes; `storedEnvelope` gives the
 * stored event back (the relay publishes that). A failing upcaster throws `UpcastError`.
 */
export class VerifiedEventStore implements EventStore {
  readonly kind: EventStore['kind'];
  private readonly reported = new Set<number>();
  private refused = 0;
  private recordFailures = 0;
  /** Shared by every reader here, and filled by this process's own appends. */
  private readonly sigs = new SignatureCache();
  /**
   * What readers learnt of each stream: its verified state every `every` revisions and the
   * furthest state learnt. A reader starting part-way through the log carries on from the last
   * one before its start instead of verifying the stream from its first event again. Without
   * them every page of a catch-up read (`gw.read`, 500 events) re-verified the whole history of
   * each stream it touched (~170 ms a page for one stream of 20,000 events); with the furthest
   * state alone, so did every read starting before it (~330 ms a read at 30,000 events).
   */
  readonly checkpoints: StreamCheckpoints;

  constructor(
    readonly inner: EventStore,
    private readonly o: VerifiedStoreOptions,
  ) {
    this.kind = inner.kind;
    this.checkpoints = new StreamCheckpoints(o.checkpointEvery);
  }

  get counters(): QuarantineCounters {
    return { refused: this.refused, recordFailures: this.recordFailures };
  }

  async append(stream: string, events: ReadonlyArray<NewEvent>, expected: ExpectedRevision): Promise<AppendResult> {
    const res = await this.inner.append(stream, events, expected);
    // Sealed by this call with this process's keys: its readers need not check these
    // signatures again. (Not a retry's answer: that is read back from storage, where anyone
    // who guessed the event id may have put something else.)
    if (res.sealedHere) for (const e of res.events) if (e.sig !== '') this.sigs.add(e.hash, e.sig);
    return res;
  }

  /**
   * @internal what `v` has verified of `stream` after its event at `lastPosition`, if no commit
   * of it is open: kept as the stream's furthest state and, with `anchor`, as an anchor.
   */
  checkpoint(stream: string, lastPosition: number, state: StreamSnapshot | undefined, anchor: boolean): void {
    if (state?.head) this.checkpoints.offer(stream, { lastPosition, state: { head: state.head, passedOver: state.passedOver } }, anchor);
  }

  /** A reader's own verifier, positioned at `from`; see `VerifiedCursor`. */
  cursor(from = 0, categories?: ReadonlyArray<string>): VerifiedCursor {
    return new VerifiedCursor(this, from, categories);
  }

  readAll(opts: ReadAllOptions = {}): AsyncIterable<Envelope> {
    return this.readAllSeeded(opts, []);
  }

  /**
   * `readAll` from a position where the reader already knows some streams' verified heads
   * (an agent restoring from a snapshot it has checked): those streams are judged from
   * these heads instead of being learnt by verifying their events before `from` again.
   */
  async *readAllSeeded(opts: ReadAllOptions, seeds: ReadonlyArray<{ readonly stream: string; readonly revision: number; readonly hash: string }>): AsyncIterable<Envelope> {
    yield* this.judged(opts, seeds, undefined);
  }

  /**
   * `readAll` for a reader who must not cost the site more than `meter.budget` (a `gw.read`
   * answered to anyone): the events it reads from the store and the events it verifies to learn
   * the history of the streams it meets count; once they reach the budget the read ends early,
   * having handed on only events it verified, and `meter` says where it stopped. What it learnt
   * is kept, so the same read again carries on from there.
   */
  readAllMetered(opts: ReadAllOptions, meter: ReadMeter): AsyncIterable<Envelope> {
    return this.judged(opts, [], meter);
  }

  private async *judged(opts: ReadAllOptions, seeds: ReadonlyArray<{ readonly stream: string; readonly revision: number; readonly hash: string }>, meter: ReadMeter | undefined): AsyncIterable<Envelope> {
    const judge = new ReaderJudge(this, opts.from ?? 0, meter);
    for (const h of seeds) judge.seed(h.stream, { revision: h.revision, hash: h.hash });
    let left = opts.limit ?? Infinity;
    if (left <= 0) return;
    // The limit counts delivered events: refused ones do not use it up.
    const { limit: _limit, ...rest } = opts;
    const onUnreadable = (u: UnreadableRecord) => {
      if (meter) {
        meter.read++;
        if (judge.settled) meter.settled = Math.max(meter.settled, u.position);
      }
      return this.refuseUnreadable(u);
    };
    try {
      for await (const e of this.inner.readAll({ ...rest, onUnreadable })) {
        if (meter) {
          if (meter.spent >= meter.budget) return void (meter.stopped = true);
          meter.read++;
        }
        const released = await judge.accepts(e);
        // Its stream's history was not verified within the budget: the read ends before it.
        if (released === null) return void (meter!.stopped = true);
        if (meter && judge.settled) meter.settled = e.position;
        for (const x of released) {
          yield this.upcast(x);
          if (--left <= 0) return;
        }
      }
    } finally {
      if (meter) judge.leaveCheckpoints();
    }
    // The end of the log: a commit still open has no signed head after it.
    await judge.finish();
  }

  async *readStream(stream: string, fromRevision = 0, opts: VerifiedReadStreamOptions = {}): AsyncIterable<Envelope> {
    // The chain is judged from its first event, or from the last state verified before
    // `fromRevision` (refusals before it were reported by whoever verified them).
    const v = this.newVerifier();
    const known = fromRevision > 0 ? this.checkpoints.belowRevision(stream, fromRevision) : undefined;
    if (known) v.seedState(stream, known.state);
    const judged = async function* (this: VerifiedEventStore, decided: ReadonlyArray<Judged>): AsyncGenerator<Envelope> {
      for (const { event, verdict } of decided) {
        if (!verdict.ok) {
          await this.refuse(event, verdict.reason);
          opts.onRefused?.({ position: event.position, reason: verdict.reason });
        } else if (event.revision >= fromRevision) yield this.upcast(event);
      }
    };
    const learning = new Learning(this, v, stream, known);
    try {
      const onUnreadable = async (u: UnreadableRecord) => {
        await this.refuseUnreadable(u);
        opts.onRefused?.({ position: u.position, reason: u.reason });
      };
      for await (const e of this.inner.readStream(stream, learning.fromRevision, { onUnreadable })) {
        if (learning.judgedAlready(e)) continue;
        const decided = v.push(e);
        learning.pushed(e);
        yield* judged.call(this, decided);
      }
    } finally {
      learning.done();
    }
    yield* judged.call(this, v.flush());
  }

  async subscribeAll(handler: EventHandler, opts: SubscribeAllOptions = {}): Promise<StoreSubscription> {
    const judge = new ReaderJudge(this, opts.from ?? 0);
    // Events verified but not yet handled: a commit's head releases the whole commit, and if
    // the handler fails part-way, the subscription hands the head again (its position is
    // the last one passed), and the rest of the commit goes first.
    let backlog: Envelope[] = [];
    return this.inner.subscribeAll(
      async (e) => {
        const released = (await judge.accepts(e, backlog.length > 0)) ?? [];
        if (released.length > 0) backlog = backlog.length > 0 ? backlog.concat(released) : released;
        while (backlog.length > 0) {
          await handler(this.upcast(backlog[0]!));
          backlog = backlog.slice(1);
        }
      },
      { ...opts, onUnreadable: (u) => this.refuseUnreadable(u) },
    );
  }

  headPosition(): Promise<number> {
    return this.inner.headPosition();
  }

  streamHeads(): Promise<ReadonlyArray<{ stream: string; revision: number; hash: string }>> {
    return this.inner.streamHeads();
  }

  quarantined(): Promise<ReadonlyArray<QuarantineRecord>> {
    return this.o.quarantine.quarantined();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** @internal `e` at the latest version of its type (a copy), or `e` itself; see `storedEnvelope`. */
  upcast(e: Envelope): Envelope {
    const u = this.o.upcasters;
    if (u === undefined) return e;
    const up = u.upcastEnvelope(e);
    if (up !== e) storedOf.set(up, e);
    return up;
  }

  /** @internal a new verifier with this store's keys. */
  newVerifier(): ChainVerifier {
    return new ChainVerifier(this.o.keys, this.sigs);
  }

  /** @internal */
  async refuse(e: Envelope, reason: string): Promise<void> {
    const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 200) : undefined);
    const stream = str(e.stream);
    const eventId = str(e.id);
    const type = str(e.type);
    const source = str(e.source);
    await this.record({
      position: e.position,
      reason,
      ...(stream !== undefined ? { stream } : {}),
      ...(Number.isSafeInteger(e.revision) ? { revision: e.revision } : {}),
      ...(eventId !== undefined ? { eventId } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(source !== undefined ? { source } : {}),
    });
  }

  /** @internal */
  async refuseUnreadable(u: UnreadableRecord): Promise<void> {
    await this.record({ position: u.position, reason: u.reason, ...(u.stream !== undefined ? { stream: u.stream } : {}), bytes: u.bytes, sha256: u.sha256 });
  }

  private async record(r: Omit<QuarantineRecord, 'detectedAt'>): Promise<void> {
    // Every reader in the process meets the same bad event: it is reported once.
    if (this.reported.has(r.position)) return;
    // Reasons quote what the writer put there: bounded, whoever wrote it.
    if (r.reason.length > 300) r = { ...r, reason: r.reason.slice(0, 300) + '…' };
    if (this.reported.size >= MAX_REMEMBERED) this.reported.clear();
    this.reported.add(r.position);
    this.refused++;
    // Anyone who can append to the store can make refusals by the hundred thousand (no key
    // needed): a line each for the first ones, then one a thousand with the count, so the log
    // says what happened without being the flood's copy (the quarantine keeps the records).
    if (this.refused <= LOGGED_REFUSALS) this.o.log.warn({ position: r.position, stream: r.stream, revision: r.revision, eventId: r.eventId, type: r.type, source: r.source, reason: r.reason }, 'ledger event quarantined: it failed verification and is skipped');
    else if (this.refused % 1000 === 0) this.o.log.warn({ refused: this.refused, position: r.position, reason: r.reason }, `${this.refused} ledger events quarantined so far; after the first ${LOGGED_REFUSALS}, one line a thousand (the quarantine lists them)`);
    try {
      await this.o.quarantine.quarantine({ ...r, detectedAt: new Date().toISOString() });
    } catch (err) {
      // The log line above is then the record; the reader goes on either way.
      this.recordFailures++;
      this.o.log.error({ position: r.position, err: err instanceof Error ? err.message : String(err) }, 'could not write the quarantine record');
    }
  }
}

const RECENT_VERDICTS = 2048;

/**
 * What a metered read (`readAllMetered`) may spend and has spent: events read from the store,
 * and events verified to learn a stream's history before the read's start.
 */
export class ReadMeter {
  read = 0;
  verified = 0;
  /** The read ended because the budget was spent (not at the end of the log). */
  stopped = false;
  /**
   * The last position read with every event up to it decided (handed on or refused): a reader
   * may continue after it even when nothing was handed on (all refused, or filtered out).
   */
  settled: number;

  constructor(
    readonly budget: number,
    from: number,
  ) {
    this.settled = from;
  }

  get spent(): number {
    return this.read + this.verified;
  }
}

/**
 * A metered read of any store: `readAllMetered` on a verified one; on another, its events as
 * read, each counted, until the budget is spent.
 */
export async function* readMetered(store: EventStore, from: number, meter: ReadMeter): AsyncIterable<Envelope> {
  if (store instanceof VerifiedEventStore) return yield* store.readAllMetered({ from }, meter);
  if (meter.budget <= 0) return void (meter.stopped = true);
  for await (const e of store.readAll({ from, limit: meter.budget })) {
    meter.read++;
    meter.settled = e.position;
    yield e;
  }
  if (meter.read >= meter.budget) meter.stopped = true;
}

/**
 * One pass of a verifier over a stream's events in order, from a checkpoint or its start:
 * skips what the checkpoint covers, and leaves checkpoints behind it (an anchor at each
 * multiple of `every` revisions, and the last state with no commit open).
 */
class Learning {
  /** The last point with no commit open (a reader may start inside one): what is remembered. */
  private closed: { readonly position: number; readonly state: StreamSnapshot | undefined } | undefined;
  private mark: number;
  readonly fromRevision: number;

  constructor(
    private readonly store: VerifiedEventStore,
    private readonly v: ChainVerifier,
    private readonly stream: string,
    private readonly known: StreamCheckpoint | undefined,
  ) {
    this.mark = known ? known.state.head.revision : -1;
    // An event at or below the verified head's revision fails its link and changes nothing
    // (a forgery of an old revision, stored later): only the revisions after it are read.
    this.fromRevision = this.mark + 1;
  }

  /** Judged already by the reader that left the checkpoint. */
  judgedAlready(e: Envelope): boolean {
    return this.known !== undefined && e.position <= this.known.lastPosition;
  }

  /** After `v.push(e)`. */
  pushed(e: Envelope): void {
    if (this.v.pendingCount !== 0) return;
    this.closed = { position: e.position, state: this.v.closedState(this.stream) };
    const head = this.closed.state?.head;
    if (head && this.store.checkpoints.crosses(this.mark, head.revision)) {
      this.store.checkpoint(this.stream, e.position, this.closed.state, true);
      this.mark = head.revision;
    }
  }

  /** The pass is over (or stops here): its furthest closed state is kept. */
  done(): void {
    if (this.closed) this.store.checkpoint(this.stream, this.closed.position, this.closed.state, false);
  }
}

/**
 * One reader's verifier: events must come in log order, from just after `from`. An event
 * whose commit's signed head is still to come is held (see ChainVerifier); `accepts` hands
 * back the events it may deliver now, in order.
 */
class ReaderJudge {
  private readonly verifier: ChainVerifier;
  /** Verdicts on the last events judged, by position (a redelivery goes back at most a page or a commit). */
  private readonly recent = new FifoMap<number, { hash: string; ok: boolean }>(RECENT_VERDICTS);
  /** Streams started from a caller's word (`seed`): what this reader verifies of them is not shared. */
  private seeded: Set<string> | undefined;
  /** With a meter: the streams this reader has judged events of, and the last position it judged. */
  private readonly touched = new Set<string>();
  private lastPushed = -1;

  constructor(
    private readonly store: VerifiedEventStore,
    private readonly from: number,
    private readonly meter?: ReadMeter,
  ) {
    this.verifier = store.newVerifier();
  }

  /** Start `stream` from a head the caller verified (see `readAllSeeded`). */
  seed(stream: string, head: { revision: number; hash: string }): void {
    this.verifier.seed(stream, head);
    (this.seeded ??= new Set()).add(stream);
  }

  /** Whether every event pushed so far is decided (no commit is waiting for its head). */
  get settled(): boolean {
    return this.verifier.pendingCount === 0;
  }

  /**
   * The events `e` lets through: none while its commit is open, the whole commit at its
   * signed head. A redelivered event gets its first verdict again (the verifier has moved
   * past it, and would call it a replay); with `handing` (its commit is still being handed
   * on) nothing more is released for it. Null, with a meter, when learning the history of
   * `e`'s stream spent the meter's budget: `e` is not judged.
   */
  async accepts(e: Envelope, handing = false): Promise<Envelope[] | null> {
    const before = this.recent.get(e.position);
    if (before && before.hash === e.hash) return before.ok && !handing ? [e] : [];
    if (this.from > 0 && typeof e.stream === 'string' && STREAM_NAME.test(e.stream) && !this.verifier.knows(e.stream) && !(await this.learn(e.stream, e.position))) return null;
    const judged = this.verifier.push(e);
    if (this.meter) {
      this.touched.add(e.stream);
      this.lastPushed = e.position;
    }
    return this.decide(judged);
  }

  /**
   * A metered reader stops part-way, and reads again from there: it leaves the state of every
   * stream it judged (with no commit open) after the last event it read, so the next read
   * learns nothing it has verified again.
   */
  leaveCheckpoints(): void {
    for (const stream of this.touched) if (!this.seeded?.has(stream)) this.store.checkpoint(stream, this.lastPushed, this.verifier.closedState(stream), false);
  }

  /** The end of the read: what is still waiting for a signed head is refused. */
  async finish(): Promise<void> {
    await this.decide(this.verifier.flush());
  }

  private async decide(judged: ReadonlyArray<Judged>): Promise<Envelope[]> {
    const out: Envelope[] = [];
    let anchor: Envelope | undefined;
    for (const { event, verdict } of judged) {
      // A multiple of the checkpoint spacing passed: the stream's state after this commit is an anchor.
      if (verdict.ok && event.revision % this.store.checkpoints.every === 0) anchor = event;
      // Events before this reader's start (a commit it joined part-way) were handed on by an earlier reader.
      if (event.position <= this.from) continue;
      this.remember(event, verdict.ok);
      if (verdict.ok) out.push(event);
      else await this.store.refuse(event, verdict.reason);
    }
    if (anchor && !this.seeded?.has(anchor.stream)) {
      const last = judged[judged.length - 1]!.event;
      // Only when the commit is decided and the last event judged is of the same stream.
      if (last.stream === anchor.stream) this.store.checkpoint(anchor.stream, last.position, this.verifier.closedState(anchor.stream), true);
    }
    return out;
  }

  private remember(e: Envelope, ok: boolean): void {
    this.recent.set(e.position, { hash: e.hash, ok });
  }

  /**
   * The stream's state before `before`, from its own events (refusals there were reported by
   * whoever read them), including a commit left open there: the reader may start part-way
   * through one.
   */
  private async learn(stream: string, before: number): Promise<boolean> {
    const v = this.store.newVerifier();
    // Carry on from the last state verified before this start (an anchor, or where the last reader stopped).
    const known = this.store.checkpoints.before(stream, before);
    if (known) v.seedState(stream, known.state);
    const learning = new Learning(this.store, v, stream, known);
    try {
      for await (const x of this.store.inner.readStream(stream, learning.fromRevision, { onUnreadable: () => undefined })) {
        if (x.position >= before) break;
        if (learning.judgedAlready(x)) continue;
        // Out of budget: what was learnt is kept (the next read carries on from it), the reader stops.
        if (this.meter && this.meter.spent >= this.meter.budget) return false;
        v.push(x);
        if (this.meter) this.meter.verified++;
        learning.pushed(x);
      }
    } finally {
      learning.done();
    }
    this.verifier.seedFrom(v, stream);
    return true;
  }
}

/**
 * A reader that reads the log in pages and keeps its verifier between them (the lockstep
 * scheduler). `position` moves past refused and unreadable messages too, so a page of
 * nothing but refusals is still progress.
 */
export class VerifiedCursor {
  private readonly judge: ReaderJudge;
  private pos: number;

  constructor(
    private readonly store: VerifiedEventStore,
    from: number,
    private readonly categories?: ReadonlyArray<string>,
  ) {
    this.pos = from;
    this.judge = new ReaderJudge(store, from);
  }

  get position(): number {
    return this.pos;
  }

  /** The next verified events after `position`, reading at most `limit` stored ones. */
  async next(limit: number): Promise<Envelope[]> {
    const out: Envelope[] = [];
    const it = this.store.inner.readAll({
      from: this.pos,
      limit,
      ...(this.categories ? { categories: this.categories } : {}),
      onUnreadable: async (u) => {
        await this.store.refuseUnreadable(u);
        this.pos = Math.max(this.pos, u.position);
      },
    });
    for await (const e of it) {
      // A commit's events come out together, at its signed head (which may be on the next page).
      for (const x of (await this.judge.accepts(e)) ?? []) out.push(this.store.upcast(x));
      this.pos = Math.max(this.pos, e.position);
    }
    return out;
  }
}
