import { randomUUID } from 'node:crypto';
import { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { categoryOf, type Envelope, type NewEvent } from '../envelope/envelope.ts';
import { CacoError, ConcurrencyError, InvalidArgumentError } from '../errors/errors.ts';
import type { Keyring } from '../ledger/keyring.ts';
import type { KeyResolver } from '../ledger/key-resolver.ts';
import { hashBatch, headsOf } from '../ledger/seal.ts';
import { BatchingSigner } from '../ledger/batching-signer.ts';
import { ChainVerifier, type VerifiedHead } from '../ledger/chain-verifier.ts';
import { connectNats } from '../bus/nats-bus.ts';
import type { NatsCredentials } from '../nats-auth/credentials.ts';
import type { AppendResult, CheckpointStore, EventHandler, EventStore, ExpectedRevision, QuarantineRecord, QuarantineStore, ReadAllOptions, ReadStreamOptions, StoreSubscription, SubscribeAllOptions, SubscriptionStatus, UnreadableHandler } from './event-store.ts';
import { describeExpected, expectationHolds, validateAppend } from './validate.ts';
import { anchorStreamName, checkpointBucketName, CorruptCommitError, UnverifiedHeadError, decodeCommit, encodeCommit, ledgerStreamName, ledgerSubjectPrefix, POSITIONS_PER_COMMIT, positionOf, quarantineBucketName, startSeqAfter, tryDecodeCommit } from './jetstream-commit.ts';
import { NatsCheckpointStore } from './nats-checkpoints.ts';
import { isStreamNotFound, WRONG_LAST_SEQUENCE } from './nats-streams.ts';
import { livePullMaxBytes, pullMaxBytes, readRange, type RawCommit } from './jetstream-reader.ts';
import { retryWhileUnavailable, type RetryOptions } from './nats-retry.ts';
import { JetStreamPublisher, type PublishAck } from './jetstream-publisher.ts';
import { NatsQuarantineStore } from './nats-quarantine.ts';
import { HandlerFailure, Resumer } from './resume.ts';
import { keepStoredCommit } from './stored-form.ts';
import { HOUR_MS } from '../time/index.ts';
import { FifoMap } from '../collections/fifo-map.ts';

export interface JetStreamStoreOptions {
  /** NATS URL(s) to connect to; ignored when `nc` is given. Default NATS_URL, then 127.0.0.1:4222. */
  readonly servers?: string | ReadonlyArray<string>;
  /** An open connection to share (the store then does not close it). */
  readonly nc?: NatsConnection;
  /** Who to connect as (a credentials file or loaded credentials); ignored when `nc` is given. Default NATS_CREDS. */
  readonly credentials?: string | NatsCredentials;
  /** The site whose ledger this is: stream `CACO_<SITE>`, subjects `caco.<site>.ledger.>`. */
  readonly site: string;
  readonly keyring: Keyring;
  /**
   * Who may sign for a source, for choosing the event an append chains on (see `loadHead`).
   * Default: the keyring's public keys.
   */
  readonly keys?: KeyResolver;
  /** JetStream replicas for the ledger stream and the checkpoint bucket (default 1). */
  readonly replicas?: number;
  /** How long the server remembers a commit's id to drop a re-sent append (default 1 h). */
  readonly duplicateWindowMs?: number;
  /** Connection name shown by the server. */
  readonly name?: string;
  /** How long to wait for a publish acknowledgement before re-sending it (default 5 s, 3 sends). */
  readonly ackTimeoutMs?: number;
  /** Messages asked for per pull by range reads (default 1024; two pulls are kept in flight). */
  readonly pullBatch?: number;
  /**
   * Bytes one pull may owe, for range reads and the live consumer (default 16 MiB, and never less
   * than two of the server's largest message for range reads, `pullMaxBytes`, or four for the
   * live consumer, `livePullMaxBytes`; give at least four). The live consumer's pulls then hold
   * at most 100 messages each, nats.js's count for a pull bounded in bytes.
   */
  readonly pullMaxBytes?: number;
  /** How long a call keeps retrying while the stream has no leader (default 60 s; see nats-retry.ts). */
  readonly unavailableBudgetMs?: number;
  /**
   * Readers (audit, replay): fail with a LedgerNotFoundError when the site's stream is
   * missing, and create nothing (no stream, no checkpoint bucket).
   */
  readonly mustExist?: boolean;
}

/** `mustExist` was asked for and the site has no ledger stream on this server. */
export class LedgerNotFoundError extends CacoError {
  override readonly _tag = 'LedgerNotFoundError';
  constructor(readonly streamName: string, site: string) {
    super(`--site: no ledger for site "${site}" on this NATS server (no stream ${streamName}); check --site / CACO_SITE and NATS_URL`);
  }
}

/**
 * What an append to a ledger stream builds on. The two halves can differ: a message anyone
 * published on the stream's subject (junk, a forgery) is the subject's last message, so
 * the server's expected-sequence check needs its sequence, but it is not an event the
 * stream's writer may chain on.
 */
interface Head {
  /** The stream's last verified event; undefined when it has none (a new stream). */
  readonly verified: VerifiedHead | undefined;
  /** JetStream sequence of the last message on the stream's subject, verified or not (0: none). */
  readonly seq: number;
}

/** Ranges of up to this many commits are read by direct get rather than through a consumer. */
const DIRECT_READ_MAX = 64;
/** Beyond this many lost races an `'any'` append gives up rather than spin. */
const MAX_ANY_ATTEMPTS = 50;
/** Commit ids remembered with their sequence, for answering a retried append without a read. */
const RECENT_COMMITS = 10_000;
/** What one pull of the stream heads may owe (see headsPerPull). */
const HEADS_PULL_BYTES = 64 * 1024 * 1024;

/**
 * Last commits per pull when reading the stream heads: as many as fit in 64 MiB at the server's
 * max_payload (64 at the default 1 MiB, one at NATS's largest), at most `pullBatch`. A pull of
 * 1,024 owed up to 1,024 × max_payload. Counted, not bounded in bytes: nats.js takes a count or a
 * byte bound, not both, and a fetch by bytes alone asks for 100 messages and then waits out its
 * heartbeats (7.5 s) once they are delivered, for every 100 streams (the review of a fetch by
 * bytes: 3,000 heads in 218 s against 0.2 s).
 */
export function headsPerPull(nc: NatsConnection, pullBatch = 1024): number {
  return Math.max(1, Math.min(pullBatch, Math.floor(HEADS_PULL_BYTES / (nc.info?.max_payload ?? 1024 * 1024))));
}

/**
 * The ledger on NATS JetStream: one stream per site, one subject per ledger stream, one
 * message per append (the events of one decision travel together, which is what makes an
 * append atomic on a 2.9 server). The revision check is the server's
 * `Nats-Expected-Last-Subject-Sequence`; `Nats-Msg-Id` (the first event id) drops re-sent
 * appends inside the duplicate window.
 */
export class JetStreamEventStore implements EventStore, CheckpointStore, QuarantineStore {
  readonly kind = 'jetstream' as const;
  readonly streamName: string;
  readonly subjectPrefix: string;
  /** Last known head per ledger stream; `null` = known not to exist. A hint: the server decides. */
  private readonly heads = new Map<string, Head | null>();
  /**
   * The ledger stream's replica count, as the server has it. Replicas can disagree on a 2.9
   * server (nats-server#4365, see nats-server-defects.ts), so with more than one an append
   * never guesses a head and small reads ask the leader; on one server both shortcuts are safe.
   */
  private replicaCount = 1;
  /**
   * Where recent commits are, by their id (the first event's): this process's acknowledged
   * appends and the verified commits its head reads passed over. A retried append is found
   * here, or by the read of the commits after the head it last knew (see loadHead).
   */
  /** Appends whose message id was already held by something that is not their commit (a forgery, or junk): each was stored under a random id instead. */
  msgIdsTaken = 0;
  private readonly commitSeqs = new FifoMap<string, { readonly stream: string; readonly seq: number }>(RECENT_COMMITS);
  /**
   * The other events of those commits, by id: where each is in its commit. An append that
   * starts with one is a retry only if it starts where the commit or a source's run in it
   * starts (idempotentResult); otherwise it is refused, not stored again under the same ids
   * (the server's duplicate check knows only a commit's first id).
   */
  private readonly innerIds = new FifoMap<string, { readonly stream: string; readonly seq: number; readonly k: number }>(RECENT_COMMITS);
  private readonly keys: KeyResolver;
  private readonly signer: BatchingSigner;
  private readonly q: NatsQuarantineStore;
  /** Appends to one ledger stream run one after another; different streams run in parallel. */
  private readonly locks = new Map<string, Promise<void>>();
  private readonly subs = new Set<JetStreamSubscription>();
  private closed = false;
  private readonly retryOpts: RetryOptions;
  /** Appends' publishes, their acknowledgements matched on one reply subscription (see jetstream-publisher.ts). */
  private readonly publisher: JetStreamPublisher;

  private constructor(
    readonly nc: NatsConnection,
    private readonly owned: boolean,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly checkpoints: NatsCheckpointStore,
    private readonly opts: JetStreamStoreOptions,
  ) {
    this.streamName = ledgerStreamName(opts.site);
    this.subjectPrefix = ledgerSubjectPrefix(opts.site);
    this.retryOpts = opts.unavailableBudgetMs !== undefined ? { budgetMs: opts.unavailableBudgetMs } : {};
    this.keys = opts.keys ?? opts.keyring;
    this.signer = new BatchingSigner(opts.keyring);
    this.publisher = new JetStreamPublisher(nc, opts.ackTimeoutMs ?? 5000);
    this.q = new NatsQuarantineStore(nc, jsm, js, quarantineBucketName(opts.site), opts.replicas ?? 1);
  }

  /** Connect (or use `opts.nc`), and create the site's stream and checkpoint bucket if missing. */
  static async connect(opts: JetStreamStoreOptions): Promise<JetStreamEventStore> {
    const streamName = ledgerStreamName(opts.site);
    const prefix = ledgerSubjectPrefix(opts.site);
    const nc = opts.nc ?? (await connectNats({ ...(opts.servers ? { servers: opts.servers } : {}), ...(opts.credentials ? { credentials: opts.credentials } : {}), name: opts.name ?? `caco-store-${opts.site}` }));
    try {
      const timeout = opts.ackTimeoutMs ?? 5000;
      const jsm = await jetstreamManager(nc, { timeout });
      const js = jetstream(nc, { timeout });
      const replicas = opts.mustExist ? await assertStream(jsm, streamName, prefix, opts.site) : await ensureLedgerStream(jsm, streamName, prefix, opts);
      const checkpoints = await NatsCheckpointStore.open(jsm, { bucket: checkpointBucketName(opts.site), replicas: opts.replicas ?? 1, ...(opts.unavailableBudgetMs !== undefined ? { unavailableBudgetMs: opts.unavailableBudgetMs } : {}), ...(opts.mustExist ? { create: false } : {}) });
      const store = new JetStreamEventStore(nc, opts.nc === undefined, jsm, js, checkpoints, opts);
      store.replicaCount = replicas;
      return store;
    } catch (err) {
      if (opts.nc === undefined) await nc.close();
      throw err;
    }
  }

  get replicas(): number {
    return this.replicaCount;
  }

  private get replicated(): boolean {
    return this.replicaCount > 1;
  }

  subjectOf(stream: string): string {
    return this.subjectPrefix + stream;
  }

  async append(stream: string, events: ReadonlyArray<NewEvent>, expected: ExpectedRevision): Promise<AppendResult> {
    validateAppend(stream, events, expected);
    if (events.length > POSITIONS_PER_COMMIT) {
      throw new InvalidArgumentError('events', `the JetStream ledger takes at most ${POSITIONS_PER_COMMIT} events in one append, got ${events.length}`);
    }
    return this.withStreamLock(stream, () => this.appendLocked(stream, events, expected));
  }

  private async appendLocked(stream: string, events: ReadonlyArray<NewEvent>, expected: ExpectedRevision): Promise<AppendResult> {
    const subject = this.subjectOf(stream);
    const firstId = events[0]!.id;
    // The server's duplicate check: the first event's id, unless a message that is not a commit
    // of this append already holds it (below), then one nobody can predict.
    let msgID = firstId;
    let head = this.heads.get(stream);
    let fresh = false;
    // On a replicated stream an unknown head is read, never guessed. A guess of "no stream"
    // is sent as an expected sequence of 0, which a clustered 2.9 leader cannot check before
    // it proposes the message: a wrong guess becomes a replicated failure, and failures
    // counted differently by the replicas (nats-server#4365, fixed in 2.9.21) make a follower
    // skip acknowledged messages, which are lost if it is elected. The read also finds a
    // commit of this append that an earlier try stored (an acknowledgement lost to a time-out).
    if (head === undefined && !this.replicated && (expected === 'any' || expected === 'no-stream')) {
      // One server checks an expected sequence of 0 like any other: guess that a stream this
      // process has not seen is new (most are), which saves a read per new stream; a wrong
      // guess is refused as a conflict and the head is read then.
      head = null;
    } else if (head === undefined) {
      head = await this.loadHead(stream);
      fresh = true;
    }
    for (let attempt = 1; ; attempt++) {
      // A retry of an append that is stored gets what is stored, whatever it expected: found
      // among this process's acknowledged appends or by the head read just made.
      const stored = this.commitSeqs.get(firstId);
      if (stored !== undefined && stored.stream === stream) return this.idempotentResult(stream, events, stored.seq, 0);
      // Or a part of one, from inside it (and then refused): see innerIds.
      const inner = this.innerIds.get(firstId);
      if (inner !== undefined) return this.idempotentResult(stream, events, inner.seq, inner.k);
      if (!expectationHolds(expected, head?.verified?.revision)) {
        if (!fresh) {
          head = await this.loadHead(stream);
          fresh = true;
          continue;
        }
        throw new ConcurrencyError(stream, describeExpected(expected), head?.verified?.revision ?? 'no-stream');
      }
      // Hashed here; the head signed with the heads of the other appends made in the same turn
      // (one signature per source for all of them, see core/ledger/batch-signature.ts).
      const sealed = hashBatch(stream, events, head?.verified);
      await Promise.all(headsOf([sealed]).map(async (h) => ((h as { sig: string }).sig = await this.signer.sign(h.source, h.hash))));
      const body = encodeCommit(sealed);
      const max = this.nc.info?.max_payload;
      if (max !== undefined && body.byteLength > max) {
        throw new InvalidArgumentError('events', `the append encodes to ${body.byteLength} bytes, over the server's max_payload of ${max}`);
      }
      let ack;
      try {
        ack = await this.publishCommit(subject, body, msgID, head?.seq ?? 0);
      } catch (err) {
        if (apiCode(err) === WRONG_LAST_SEQUENCE && attempt < MAX_ANY_ATTEMPTS) {
          // Someone else appended since our head was read, or this very commit was stored by
          // a try whose acknowledgement was lost (its re-send is refused here, before the
          // duplicate check): look again, then the check above decides.
          head = await this.loadHead(stream);
          fresh = true;
          continue;
        }
        // Unknown outcome (timeout, disconnect): forget the head; a retry of the same append is safe.
        this.heads.delete(stream);
        throw err;
      }
      if (ack.duplicate) {
        // What holds the id is this append only if it is a verified commit of this stream
        // starting with this event: event ids can be predicted (they derive from their inputs),
        // and anyone who can publish on the ledger's subjects could store anything under one
        // first, which a retry would otherwise have taken, unchecked, as what this append stored.
        // loadHead remembers (commitSeqs) only commits that verify; the check at the top of the
        // loop then answers from it. (The head read goes on from the one known.)
        head = await this.loadHead(stream);
        fresh = true;
        const holder = await this.holderOf(firstId, stream, ack.seq);
        // A verified commit of another stream holds the id: an id is the ledger's, once.
        if (holder === 'another stream') return this.idempotentResult(stream, events, ack.seq, 0);
        if (holder === 'not a commit' && msgID === firstId) {
          msgID = `${firstId}/${randomUUID()}`;
          this.msgIdsTaken++;
        }
        if (attempt < MAX_ANY_ATTEMPTS) continue;
        throw new CacoError(`append to ${stream}: the message id ${firstId} is held by message ${ack.seq}, which is not a verified commit of this append; gave up after ${attempt} tries`);
      }
      // The sealed events are ours alone: give them their positions in place rather than copy.
      for (let i = 0; i < sealed.length; i++) (sealed[i] as { position: number }).position = positionOf(ack.seq, i);
      const out: Envelope[] = sealed;
      const last = out[out.length - 1]!;
      this.remember(stream, out, ack.seq);
      this.heads.set(stream, { verified: { revision: last.revision, hash: last.hash }, seq: ack.seq });
      return { events: out, nextExpected: last.revision, position: last.position, sealedHere: true };
    }
  }

  /**
   * Publish, re-sending on a lost acknowledgement: the first try may have landed (a publish
   * buffered across a reconnect often has its ack lost). A single server then answers the
   * re-send as a duplicate (it checks the message id first); a clustered 2.9 leader refuses
   * it as a wrong last sequence (it checks that before proposing), and the caller finds the
   * stored commit by reading (loadHead).
   */
  private async publishCommit(subject: string, body: Uint8Array, msgID: string, lastSeq: number): Promise<PublishAck> {
    // Re-sent with the same id for as long as a leader election may last (see nats-retry.ts).
    const ack = await retryWhileUnavailable(() => this.publisher.publish(subject, body, { msgID, expectLastSubjectSequence: lastSeq }), this.retryOpts);
    // Only the ledger stream captures its subjects: an acknowledgement naming another stream
    // did not come from it, and its sequence would give the events wrong positions.
    if (ack.stream !== this.streamName) throw new CacoError(`the acknowledgement of an append to ${subject} names stream "${ack.stream.slice(0, 64)}", not ${this.streamName}; the append's outcome is unknown (retrying it is safe)`);
    return ack;
  }

  /**
   * What holds the message id `firstId` at `seq`, after loadHead(stream): this append's own
   * commit (loadHead verified it; the loop answers from commitSeqs), a verified commit of
   * another stream starting with that event, or something that is not a verified commit.
   */
  private async holderOf(firstId: string, stream: string, seq: number): Promise<'this append' | 'another stream' | 'not a commit'> {
    if (this.commitSeqs.get(firstId)?.stream === stream) return 'this append';
    const m = await retryWhileUnavailable(() => this.jsm.streams.getMessage(this.streamName, { seq }), this.retryOpts);
    const d = m ? tryDecodeCommit(this.streamName, seq, m.data) : undefined;
    if (d === undefined || 'unreadable' in d || d[0]?.id !== firstId || d[0].stream === stream) return 'not a commit';
    // Verified only as part of its own stream's chain (loadHead remembers verified commits).
    await this.loadHead(d[0].stream);
    const k = this.commitSeqs.get(firstId);
    return k !== undefined && k.stream === d[0].stream && k.seq === seq ? 'another stream' : 'not a commit';
  }

  /** A verified commit of `stream` at `seq`, for a retried append (commitSeqs, innerIds). */
  private remember(stream: string, events: ReadonlyArray<Envelope>, seq: number): void {
    this.commitSeqs.set(events[0]!.id, { stream, seq });
    for (let k = 1; k < events.length; k++) this.innerIds.set(events[k]!.id, { stream, seq, k });
  }

  /**
   * What the SQLite store answers to a retried append: the stored events from the `k`th of the
   * commit at `seq` on, if they are the same and the whole of what was stored.
   */
  private async idempotentResult(stream: string, events: ReadonlyArray<NewEvent>, seq: number, k: number): Promise<AppendResult> {
    const m = await retryWhileUnavailable(() => this.jsm.streams.getMessage(this.streamName, { seq }), this.retryOpts);
    const stored = m ? decodeCommit(this.streamName, seq, m.data) : [];
    const out: Envelope[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = stored[k + i];
      if (!e || e.stream !== stream || e.id !== events[i]!.id) {
        throw new InvalidArgumentError(`events[${i}].id`, `a retried append must repeat the same events in the same stream; "${events[i]!.id}" does not match what is stored`);
      }
      out.push(e);
    }
    // The same events means the whole of what was stored, as the SQLite store answers it: a
    // retry that starts or stops inside the stored commit (between the events one of its
    // signatures covers: a commit is signed at its end and where a source's run in it ends,
    // signsFor) is another append.
    const last = out[out.length - 1]!;
    if (last.sig === '') {
      throw new InvalidArgumentError('events', `a retried append must repeat the same events; the stored append that holds "${last.id}" goes on after it`);
    }
    if (k > 0 && stored[k - 1]!.sig === '') {
      throw new InvalidArgumentError('events[0].id', `a retried append must repeat the same events; "${out[0]!.id}" is not the first event of the stored append that holds it`);
    }
    return { events: out, nextExpected: last.revision, position: last.position };
  }

  /**
   * The stream's head as the server has it now: its last message's sequence, and its last
   * event that verifies (hash, signature by a registered key, revision and prevHash after
   * the verified event before it). Anyone able to publish on the subject can put a message
   * after the real head; chaining on it would make this writer sign for a forgery (and a
   * forged revision would stall every expected-revision append), so the writer chains on
   * the last verified event and only the expected sequence takes the newer message into
   * account. The scan goes on from the head known before, if any, so it reads a stream's
   * whole subject once per process and then only what others appended.
   */
  private async loadHead(stream: string): Promise<Head | null> {
    const subject = this.subjectOf(stream);
    const last = await retryWhileUnavailable(() => this.jsm.streams.getMessage(this.streamName, { last_by_subj: subject }), this.retryOpts);
    const known = this.heads.get(stream) ?? undefined;
    // Events this writer saw on the subject are gone (the stream was given a limit after it
    // was opened, say): sealing now would start the stream again at revision 0, or chain after
    // a removed head. Refused, as the table stores refuse a removed head (writer-heads.ts).
    if (known !== undefined && known.seq > 0 && (!last || last.seq < known.seq)) {
      throw new UnverifiedHeadError(`the JetStream ledger ${this.streamName}`, positionOf(known.seq, 0), `the last message of ${stream} this writer saw (sequence ${known.seq}) is gone${last ? `: the subject now ends at sequence ${last.seq}` : ' with every message of the stream'}; events were removed from the ledger. Nothing was appended: run caco audit verify, and see whether the stream has a limit (max_age, max_msgs, max_bytes)`);
    }
    if (!last) {
      this.heads.set(stream, null);
      return null;
    }
    if (known && known.seq === last.seq) return known;
    const verifier = new ChainVerifier(this.keys);
    verifier.seed(stream, known?.verified);
    const startSeq = known ? known.seq + 1 : 1;
    const judge = (c: RawCommit) => {
      const d = tryDecodeCommit(this.streamName, c.seq, c.data);
      if (!('unreadable' in d)) for (const e of d) if (e.stream === stream) verifier.push(e);
      // One message is one whole commit: a commit left open by it has no signed head.
      verifier.flush();
      // Remembered for a retried append, only if verified: anyone who learnt an id could
      // store a commit under it.
      if (!('unreadable' in d) && d[0]!.stream === stream && verifier.head(stream)?.hash === d[d.length - 1]!.hash) this.remember(stream, d, c.seq);
    };
    if (startSeq === last.seq) judge({ seq: last.seq, data: last.data, subject });
    else for await (const chunk of this.range(subject, startSeq, last.seq)) for (const c of chunk) judge(c);
    const head: Head = { verified: verifier.head(stream), seq: last.seq };
    this.heads.set(stream, head);
    return head;
  }

  private withStreamLock<T>(stream: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(stream);
    // An idle stream (the usual case) starts at once instead of a turn later: every turn
    // between an acknowledgement and the next publish splits nats.js's batched socket writes.
    const run = prev === undefined ? fn() : prev.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(stream, tail);
    void tail.then(() => {
      if (this.locks.get(stream) === tail) this.locks.delete(stream);
    });
    return run;
  }


  async *readStream(stream: string, fromRevision = 0, opts: ReadStreamOptions = {}): AsyncIterable<Envelope> {
    const subject = this.subjectOf(stream);
    const last = await retryWhileUnavailable(() => this.jsm.streams.getMessage(this.streamName, { last_by_subj: subject }), this.retryOpts);
    if (!last) return;
    // The last commit often holds everything asked for (a one-commit stream, or a read from
    // the head): then no consumer is needed. Only for a single commit that holds revision 0,
    // when a reader takes unreadable messages: an earlier one on the subject must be reported.
    const lastEvents = tryDecodeCommit(this.streamName, last.seq, last.data);
    if (!('unreadable' in lastEvents) && lastEvents[0]!.revision <= fromRevision && (!opts.onUnreadable || lastEvents[0]!.revision === 0)) {
      for (const e of lastEvents) if (e.revision >= fromRevision) yield e;
      return;
    }
    for await (const chunk of this.range(subject, 1, last.seq)) {
      for (const c of chunk) {
        const d = tryDecodeCommit(this.streamName, c.seq, c.data, c.subject, this.subjectPrefix);
        if ('unreadable' in d) await this.unreadable(d, opts.onUnreadable);
        else for (const e of d) if (e.revision >= fromRevision) yield e;
      }
    }
  }

  /** @internal report an unreadable message to the reader's handler, or fail the read as before. */
  async unreadable(u: Parameters<UnreadableHandler>[0], handler: UnreadableHandler | undefined): Promise<void> {
    if (!handler) throw new CorruptCommitError(this.streamName, Math.floor(u.position / POSITIONS_PER_COMMIT), u.reason.replace(/^.*? is not a CACO ledger commit: /, ''));
    await handler(u);
  }

  async *readAll(opts: ReadAllOptions = {}): AsyncIterable<Envelope> {
    const from = opts.from ?? 0;
    let left = opts.limit ?? Infinity;
    if (left <= 0) return;
    const cats = opts.categories ? new Set(opts.categories) : undefined;
    const endSeq = await this.lastSeq();
    for await (const chunk of this.range(this.subjectPrefix + '>', startSeqAfter(from), endSeq)) {
      for (const c of chunk) {
        const d = tryDecodeCommit(this.streamName, c.seq, c.data, c.subject, this.subjectPrefix);
        if ('unreadable' in d) {
          if (d.position > from) await this.unreadable(d, opts.onUnreadable);
          continue;
        }
        for (const e of d) {
          if (e.position <= from) continue;
          if (cats && !cats.has(categoryOf(e.stream))) continue;
          yield e;
          if (--left <= 0) return;
        }
      }
    }
  }

  /**
   * Position of the first event of the stream's last commit, as the server counts it (0 when
   * empty), without reading it: an audit compares it with what a read delivered.
   */
  async lastPosition(): Promise<number> {
    const seq = await this.lastSeq();
    return seq === 0 ? 0 : positionOf(seq, 0);
  }

  /** @internal the sequence of the stream's last commit (0 when empty). */
  async lastSeq(): Promise<number> {
    const info = await retryWhileUnavailable(() => this.jsm.streams.info(this.streamName), this.retryOpts);
    return info.state.messages === 0 ? 0 : info.state.last_seq;
  }

  /** @internal the commits on `filter` from `startSeq` to `endSeq`, in order, in chunks. */
  async *range(filter: string, startSeq: number, endSeq: number): AsyncGenerator<RawCommit[]> {
    let from = startSeq;
    if (endSeq - startSeq < DIRECT_READ_MAX) {
      // A few commits (an agent catching up one step) are read one by one: no consumer to
      // create, so nothing waits on a consumer placed on a node that is down (on a 3-node
      // cluster with one node dead, about one creation in three times out). On a replicated
      // stream they are asked of the leader, not by direct get, which any replica answers: a
      // replica that disagrees with the leader (nats-server#4365, see nats-server-defects.ts)
      // would hand genuine commits at the wrong sequences, and readers would refuse them as
      // out of place. Any gap in the answers hands the rest to the consumer reader, which
      // tells a commit that is not there yet from one that is gone.
      const got = await this.getEach(filter, startSeq, endSeq);
      if (got.commits.length) yield got.commits;
      from = got.next;
    }
    if (from <= endSeq) yield* readRange({ nc: this.nc, jsm: this.jsm, stream: this.streamName, filter, startSeq: from, endSeq, batch: this.opts.pullBatch ?? 1024, maxBytes: this.pullBytes });
  }

  /** Bytes one range read pull may owe (see `JetStreamStoreOptions.pullMaxBytes`). */
  get pullBytes(): number {
    return this.opts.pullMaxBytes ?? pullMaxBytes(this.nc);
  }

  /** Bytes one live consumer pull may owe (see `livePullMaxBytes`). */
  get livePullBytes(): number {
    return this.opts.pullMaxBytes ?? livePullMaxBytes(this.nc);
  }

  /** Gets of `startSeq..endSeq` in parallel (the leader's when replicated, else direct); stops at the first sequence not answered. */
  private async getEach(filter: string, startSeq: number, endSeq: number): Promise<{ commits: RawCommit[]; next: number }> {
    const seqs = Array.from({ length: endSeq - startSeq + 1 }, (_, i) => startSeq + i);
    const answers = await Promise.all(
      seqs.map((seq) =>
        (this.replicated ? this.jsm.streams.getMessage(this.streamName, { seq }) : this.jsm.direct.getMessage(this.streamName, { seq })).then(
          (m) => m,
          () => null,
        ),
      ),
    );
    const wildcard = filter.endsWith('>') ? filter.slice(0, -1) : undefined;
    const commits: RawCommit[] = [];
    for (let i = 0; i < seqs.length; i++) {
      const m = answers[i];
      if (!m || m.seq !== seqs[i]) return { commits, next: seqs[i]! };
      if (wildcard !== undefined ? m.subject.startsWith(wildcard) : m.subject === filter) commits.push({ seq: m.seq, data: m.data, subject: m.subject });
    }
    return { commits, next: endSeq + 1 };
  }

  /** @internal for the subscription */
  orderedConsumer(filter: string, startSeq: number): Promise<Consumer> {
    return this.js.consumers.get(this.streamName, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSeq,
      inactive_threshold: 60_000,
    });
  }

  async subscribeAll(handler: EventHandler, opts: SubscribeAllOptions = {}): Promise<StoreSubscription> {
    const sub = new JetStreamSubscription(this, handler, opts);
    await sub.start();
    this.subs.add(sub);
    sub.onClose = () => this.subs.delete(sub);
    return sub;
  }

  async headPosition(): Promise<number> {
    const m = await retryWhileUnavailable(() => this.jsm.streams.getMessage(this.streamName, { last_by_subj: this.subjectPrefix + '>' }), this.retryOpts);
    if (!m) return 0;
    // An unreadable last message still has a position: a subscription passes it there.
    const d = tryDecodeCommit(this.streamName, m.seq, m.data);
    return 'unreadable' in d ? d.position : positionOf(m.seq, d.length - 1);
  }

  streamHeads(): Promise<ReadonlyArray<{ stream: string; revision: number; hash: string }>> {
    // A read: through a leader election (or a consumer placed on a node that is down) it is
    // simply done again.
    return retryWhileUnavailable(() => this.streamHeadsOnce(), this.retryOpts);
  }

  private async streamHeadsOnce(): Promise<ReadonlyArray<{ stream: string; revision: number; hash: string }>> {
    const info = await this.jsm.streams.info(this.streamName);
    if (info.state.messages === 0) return [];
    // The consumer below answers from the replica it is placed on, which may lag the leader (one
    // resumed after a pause): its last commits would be old ones, and an audit would report
    // heads that disagree with the events. The leader's newest commit is the last of its own
    // stream, so a replica that has it has every stream's; one that has not is asked again.
    const newest = this.replicated ? await this.jsm.streams.getMessage(this.streamName, { last_by_subj: this.subjectPrefix + '>' }) : null;
    // One consumer delivering the last commit of every subject: no request per stream.
    const c = await this.js.consumers.get(this.streamName, { filter_subjects: this.subjectPrefix + '>', deliver_policy: DeliverPolicy.LastPerSubject });
    const out: Array<{ stream: string; revision: number; hash: string }> = [];
    let seen = 0;
    // Pulls that end by themselves: a last commit the server counts but can no longer load (a
    // corrupt block) never brings `pending` to 0, and must end this in one expiry, not hang it.
    try {
      for (let done = false; !done; ) {
        const msgs = await c.fetch({ max_messages: headsPerPull(this.nc, this.opts.pullBatch), expires: 5000 });
        let got = 0;
        for await (const m of msgs) {
          got++;
          seen = Math.max(seen, m.seq);
          // The last message of a subject as stored, verified or not: an unreadable one names no head.
          const events = tryDecodeCommit(this.streamName, m.seq, m.data);
          if (!('unreadable' in events)) {
            const last = events[events.length - 1]!;
            out.push({ stream: last.stream, revision: last.revision, hash: last.hash });
          }
          if (m.info.pending === 0) {
            done = true;
            break;
          }
        }
        if (got === 0) done = true;
      }
    } finally {
      c.delete().catch(() => undefined);
    }
    // Worded for isTransientNatsError ("leader"): streamHeads asks again, within its budget.
    if (newest && seen < newest.seq) throw new Error(`${this.streamName}: the stream heads were read from a replica behind the leader, or one that cannot load the newest commit (it delivered up to message ${seen}, the leader holds ${newest.seq})`);
    return out.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
  }

  get(name: string): Promise<number> {
    return this.checkpoints.get(name);
  }

  put(name: string, position: number): Promise<void> {
    return this.checkpoints.put(name, position);
  }

  quarantine(r: QuarantineRecord): Promise<void> {
    return this.q.quarantine(r);
  }

  quarantined(): Promise<ReadonlyArray<QuarantineRecord>> {
    return this.q.quarantined();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subs].map((s) => s.close()));
    await Promise.all([...this.locks.values()]);
    this.publisher.close();
    if (this.owned && !this.nc.isClosed()) await this.nc.drain();
  }

  /** Delete the site's ledger stream, its anchor and checkpoint bucket (tests, `caco reset`). Irreversible. */
  async destroy(): Promise<void> {
    await Promise.all([...this.subs].map((s) => s.close()));
    for (const name of [this.streamName, anchorStreamName(this.opts.site)]) {
      await this.jsm.streams.delete(name).catch((err: unknown) => {
        if (!isStreamNotFound(err)) throw err;
      });
    }
    await this.checkpoints.destroy();
    await this.q.destroy();
    this.heads.clear();
  }
}

/**
 * Checks the site's stream exists and holds its subjects, and for a writer that the server may
 * not remove events from it (ledgerStreamDefect; a reader reads what is there, and the audit
 * names what is missing); returns its replica count.
 */
async function assertStream(jsm: JetStreamManager, name: string, prefix: string, site: string, writer = false): Promise<number> {
  let info;
  try {
    info = await jsm.streams.info(name);
  } catch (err) {
    if (isStreamNotFound(err)) throw new LedgerNotFoundError(name, site);
    throw err;
  }
  if (!info.config.subjects?.includes(prefix + '>')) {
    throw new InvalidArgumentError('site', `JetStream stream ${name} exists but does not hold ${prefix}> (it holds ${(info.config.subjects ?? []).join(', ')})`);
  }
  const defect = writer ? ledgerStreamDefect(info.config) : undefined;
  if (defect !== undefined) throw refuseLimitedStream(name, defect);
  return info.config.num_replicas ?? 1;
}

/**
 * Why the server may remove events from a ledger stream so configured (undefined when it never
 * will): a limit on age, count or bytes, retention other than limits, or delete and purge
 * allowed. The server refuses to turn deny_delete and deny_purge off again, but limits can be
 * set on a stream at any time (`nats stream edit`): with max_age 1 s, or max_msgs 3, it deleted
 * acknowledged, signed events while every append went on succeeding (a helper's review).
 */
export function ledgerStreamDefect(c: Partial<StreamConfig>): string | undefined {
  const limited = (v: number | undefined) => v !== undefined && v > 0;
  if (c.retention !== undefined && c.retention !== RetentionPolicy.Limits) return `its retention is "${c.retention}", which removes messages once consumed`;
  if (limited(c.max_age)) return `max_age is ${c.max_age! / 1e9} s`;
  if (limited(c.max_msgs)) return `max_msgs is ${c.max_msgs}`;
  if (limited(c.max_bytes)) return `max_bytes is ${c.max_bytes}`;
  if (limited(c.max_msgs_per_subject)) return `max_msgs_per_subject is ${c.max_msgs_per_subject}`;
  if (c.deny_delete !== true) return 'it allows deleting messages (deny_delete is off)';
  if (c.deny_purge !== true) return 'it allows purging (deny_purge is off)';
  return undefined;
}

/** A writer's refusal of a ledger stream the server may remove events from (ledgerStreamDefect). */
function refuseLimitedStream(name: string, defect: string): CacoError {
  return new CacoError(
    `JetStream stream ${name} is the ledger, but ${defect}: the server would delete ledger events, and nothing would say so until an audit. Nothing was written. Set it back as CACO makes a ledger stream: no limits (nats stream edit ${name} --max-age 0 --max-msgs -1 --max-bytes -1 --max-msgs-per-subject -1), retention limits, deny_delete and deny_purge on; then run caco audit verify to see whether events are already gone`,
  );
}

/** @internal Creates the site's ledger stream if missing; returns its replica count as the server holds it. Refuses one the server may remove events from. */
export async function ensureLedgerStream(jsm: JetStreamManager, name: string, prefix: string, opts: Pick<JetStreamStoreOptions, 'site' | 'replicas' | 'duplicateWindowMs'>): Promise<number> {
  try {
    return await assertStream(jsm, name, prefix, opts.site, true);
  } catch (err) {
    if (!(err instanceof LedgerNotFoundError)) throw err;
  }
  try {
    const info = await jsm.streams.add({
      name,
      subjects: [prefix + '>'],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: opts.replicas ?? 1,
      duplicate_window: (opts.duplicateWindowMs ?? HOUR_MS) * 1_000_000,
      // A ledger is append-only: no message is ever removed from it.
      deny_delete: true,
      deny_purge: true,
      allow_direct: true,
    });
    return info.config.num_replicas ?? 1;
  } catch (err) {
    if (!/already in use|exists/i.test(err instanceof Error ? err.message : '')) throw err;
  }
  // Another process created it between the look and the add, perhaps with another replica
  // count: the store must know the stream's own (a replicated ledger is read differently).
  return assertStream(jsm, name, prefix, opts.site, true);
}

function apiCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** While behind the stream's end with no delivery for this long (and no handler running), the live consumer is replaced. */
const STALL_MS = 3000;
/** How often a live subscription compares what it delivered with the stream's end. */
const WATCH_MS = 1000;

/**
 * Catch-up reads ranges from the subscription's own position; live is an ordered consumer
 * that starts at the very next sequence, so nothing falls between the two.
 *
 * The live part does not trust the client library to recover its consumer on its own. After a
 * server restart the ephemeral consumer is gone and nats.js re-creates it with back-offs of up
 * to 5 s per try (plus API timeouts on a loaded server), and gives up for good after 30 failed
 * re-creations when the consumer has received nothing yet, which is the common case here
 * because catch-up went through the range reader. A subscription then waited on a consumer that
 * would never deliver (the restart test that failed under load). So the subscription watches
 * itself: when the stream holds commits past what it delivered, nothing was delivered for
 * STALL_MS and no handler is running, or when the consumer ends or fails, it drops the
 * consumer and starts again from its own position: catch-up by range, then a new consumer.
 * The Resumer paces the restarts (back-off), reports each to `onError`, and gives up (status
 * `failed`) only after `giveUpAfterMs` without a delivery. A message that is not a commit is
 * handed to `onUnreadable` and passed over.
 */
class JetStreamSubscription implements StoreSubscription {
  private pos: number;
  /** The next stream sequence to deliver from. */
  private nextSeq: number;
  private closed = false;
  /** The error that ended the subscription, for caughtUp() to throw. */
  private failure: unknown;
  private consumer: Consumer | undefined;
  private msgs: ConsumerMessages | undefined;
  private running: Promise<void> = Promise.resolve();
  private waiters: Array<{ target: number; resolve: () => void }> = [];
  private readonly cats: Set<string> | undefined;
  private readonly resumer: Resumer;
  /** Commits delivered so far: the watchdog's measure of progress. */
  private delivered = 0;
  private inHandler = false;
  /** Times the live consumer was replaced (stall, end or error), for diagnostics. */
  restarts = 0;
  lastRestartReason: string | undefined;
  onClose: (() => void) | undefined;

  constructor(
    private readonly store: JetStreamEventStore,
    private readonly handler: EventHandler,
    private readonly opts: SubscribeAllOptions,
  ) {
    this.pos = opts.from ?? 0;
    this.nextSeq = startSeqAfter(this.pos);
    this.cats = opts.categories ? new Set(opts.categories) : undefined;
    this.resumer = new Resumer(() => this.pos, opts.onError, opts.giveUpAfterMs, opts.handlerFailures === 'retry');
  }

  get position(): number {
    return this.pos;
  }

  status(): SubscriptionStatus {
    return this.resumer.status();
  }

  async start(): Promise<void> {
    this.running = this.resumer.run(() => this.followOnce(), () => this.closed).catch((err: unknown) => {
      this.failure = err;
      this.closed = true;
      this.release(true);
    });
  }

  /** One life of the reader and consumer; it always ends in an error the Resumer judges. */
  private async followOnce(): Promise<void> {
    let reason: string;
    try {
      reason = await this.follow();
    } catch (err) {
      if (this.closed) return;
      await this.dropConsumer();
      this.restarts++;
      this.lastRestartReason = err instanceof HandlerFailure ? `handler failed: ${errorText(err.cause)}` : `consumer failed: ${errorText(err)}`;
      throw err;
    }
    if (this.closed) return;
    await this.dropConsumer();
    this.restarts++;
    this.lastRestartReason = reason;
    throw new Error(reason);
  }

  /** Catch up by range, then follow live until the consumer ends, fails or stalls; returns why it stopped. */
  private async follow(): Promise<string> {
    // Catch up with the fast range reader while there is a backlog, then hand over to an
    // ordered consumer at the very next sequence for the live part.
    for (let pass = 0; pass < 3 && !this.closed; pass++) {
      const endSeq = await this.store.lastSeq();
      if (endSeq < this.nextSeq) break;
      for await (const chunk of this.store.range(this.store.subjectPrefix + '>', this.nextSeq, endSeq)) {
        for (const c of chunk) {
          if (this.closed) return 'closed';
          await this.deliver(c.seq, c.data, c.subject);
        }
      }
    }
    if (this.closed) return 'closed';
    this.consumer = await this.store.orderedConsumer(this.store.subjectPrefix + '>', this.nextSeq);
    if (this.closed) return 'closed';
    // Bounded in bytes, not in messages: 1,024 messages could owe 1,024 × max_payload (1 GiB at
    // the default, 64 GiB at the largest), all buffered here if junk of that size is put on a
    // ledger subject while the handler is slower. A message above the bound gets a 409 and no
    // delivery; the watchdog then sees a stall and the range reader, whose bound grows for such
    // a message, reads past it (a test puts one there).
    const msgs = await this.consumer.consume({ max_bytes: this.store.livePullBytes, expires: 5000 });
    this.msgs = msgs;
    if (this.closed) {
      await msgs.close();
      return 'closed';
    }
    let stalled: string | undefined;
    const watchdog = this.watch(() => {
      stalled = 'stalled: the stream holds commits the live consumer did not deliver';
      void msgs.close();
    });
    try {
      for await (const m of msgs) {
        if (this.closed) return 'closed';
        await this.deliver(m.seq, m.data, m.subject);
      }
    } finally {
      watchdog();
    }
    return stalled ?? 'the live consumer ended';
  }

  /** Calls `onStall` once if the subscription stops making progress while behind; returns a stop function. */
  private watch(onStall: () => void): () => void {
    let seen = this.delivered;
    let since = Date.now();
    let checking = false;
    const timer = setInterval(() => {
      if (this.closed || checking) return;
      if (this.delivered !== seen || this.inHandler) {
        seen = this.delivered;
        since = Date.now();
        return;
      }
      if (Date.now() - since < STALL_MS) return;
      checking = true;
      this.store
        .lastSeq()
        .then((last) => {
          if (this.closed || this.delivered !== seen) return;
          if (last >= this.nextSeq) {
            clearInterval(timer);
            onStall();
          } else since = Date.now();
        })
        // Cannot reach the server now: the consumer is no better off; look again later.
        .catch(() => undefined)
        .finally(() => (checking = false));
    }, WATCH_MS);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  private async dropConsumer(): Promise<void> {
    const msgs = this.msgs;
    const consumer = this.consumer;
    this.msgs = undefined;
    this.consumer = undefined;
    await msgs?.close().catch(() => undefined);
    consumer?.delete().catch(() => undefined);
  }

  private async deliver(seq: number, data: Uint8Array, subject: string): Promise<void> {
    // A restarted consumer may hand back a commit that was already delivered.
    if (seq < this.nextSeq) return;
    const d = tryDecodeCommit(this.store.streamName, seq, data, subject, this.store.subjectPrefix);
    if ('unreadable' in d) {
      if (d.position > this.pos && !this.closed) {
        await this.store.unreadable(d, this.opts.onUnreadable);
        this.pos = d.position;
      }
    } else {
      // For the relay: the stored bytes of each event, and the rest of its commit.
      keepStoredCommit({ bytes: data, events: d });
      for (const e of d) {
        if (e.position <= this.pos) continue;
        if (this.closed) return;
        if (!this.cats || this.cats.has(categoryOf(e.stream))) {
          this.inHandler = true;
          try {
            await this.handler(e);
          } catch (err) {
            throw new HandlerFailure(err);
          } finally {
            this.inHandler = false;
          }
        }
        this.pos = e.position;
      }
    }
    this.nextSeq = seq + 1;
    this.delivered++;
    this.resumer.progressed();
    if (this.waiters.length) this.release(false);
  }

  private release(all: boolean): void {
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (all || w.target <= this.pos) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  async caughtUp(): Promise<void> {
    if (this.failure) throw this.failure;
    // Closed: nothing more will be delivered, and the store may not answer.
    if (this.closed) return;
    const head = await this.store.headPosition();
    if (this.pos >= head) return;
    await new Promise<void>((resolve) => {
      this.waiters.push({ target: head, resolve });
      this.release(this.closed);
    });
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.resumer.close();
      await this.msgs?.close().catch(() => undefined);
    }
    await this.running;
    this.release(true);
    await this.dropConsumer();
    this.onClose?.();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
