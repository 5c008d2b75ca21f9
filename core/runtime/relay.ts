import type { Bus } from '../bus/bus.ts';
import type { CheckpointStore, EventStore, SubscriptionStatus } from '../store/event-store.ts';
import { startCheckpointedConsumer, type CheckpointedConsumer } from '../store/checkpointed-consumer.ts';
import type { Logger } from '../log/logger.ts';
import { ENVELOPE_ID, type Envelope } from '../envelope/envelope.ts';
import { subjects } from './subjects.ts';
import { commitTailJson, relayBytes } from '../store/stored-form.ts';
import { VerifiedEventStore, storedEnvelope } from '../store/verified-store.ts';
import { COMMIT_PROOF_HEADER } from '../ledger/commit-proof.ts';
import { metricsHooks } from '../observability/hooks.ts';
import { ATTR, SpanKind, endSpan, envelopeAttributes, eventContext, startSpan, traceHeaders, tracingEnabled } from '../observability/tracing.ts';
import { readerCheckpoint, type CheckpointTagging } from './tagged-checkpoint.ts';

/** What an untrusted relay checkpoint costs, for its warning (see Relay.start). */
const REPUBLISH_FROM_START = "every event is published on the bus again: this site's agents drop what is at or before their own position, an outside agent must drop what is at or before the highest position it handled (docs/consuming-events.md), and a JetStream stream on the event subjects stores what is older than its duplicate window again";

export interface RelayOptions {
  readonly store: EventStore;
  readonly checkpoints: CheckpointStore;
  readonly bus: Bus;
  readonly site: string;
  readonly log: Logger;
  /** Checkpoint name; default `relay`. */
  readonly name?: string;
  /** Write the checkpoint after this many events (and on stop); default 100. */
  readonly checkpointEvery?: number;
  /** How long a failing subscription retries before the relay is reported dead (default 120 s). */
  readonly giveUpAfterMs?: number;
  /**
   * The tag of a checkpoint position (TaggedCheckpoint), signed by a key of the site. Without
   * it the checkpoint is kept as stored, and one moved forward skips events without a word.
   */
  readonly checkpointTag?: CheckpointTagging;
}

/**
 * Tails the store and publishes each event on `caco.<site>.evt.<type>` with the event id as
 * `Nats-Msg-Id`, so a JetStream stream on those subjects drops the repeats that at-least-once
 * delivery allows after a restart. It resumes from its checkpoint and never skips: the next
 * event is published only after the previous one was handed to the bus.
 */
export class Relay {
  private sub: CheckpointedConsumer | undefined;
  private published = 0;
  /** The rest of the last commit read again for a proof (SQLite), reused for its other events. */
  private tail: { stream: string; events: Envelope[] } | undefined;
  /** Relayed JSON of the events of the commits being published (see relayedJson). */
  private readonly proofParts = new Map<string, string>();

  constructor(private readonly o: RelayOptions) {}

  get name(): string {
    return this.o.name ?? 'relay';
  }

  get position(): number {
    return this.sub?.position ?? 0;
  }

  get count(): number {
    return this.published;
  }

  async start(): Promise<void> {
    // A checkpoint moved forward would skip events that nothing publishes again; one the
    // site did not write is not trusted, and the relay publishes from the start instead:
    // a repeat is what at-least-once delivery already allows its readers, a skip is not.
    const checkpoint = readerCheckpoint(this.o.checkpoints, this.name, this.o.checkpointTag && { ...this.o.checkpointTag, log: this.o.log, fallback: { position: async () => 0, means: REPUBLISH_FROM_START } });
    const nats = this.o.bus.kind === 'nats';
    // The checkpointed consumer resumes from the relay's checkpoint, writes it every
    // `checkpointEvery` events and at stop, and skips a copy of an event already published.
    this.sub = await startCheckpointedConsumer({
      store: this.o.store,
      checkpoints: {
        get: () => checkpoint.get(),
        put: async (_name, position) => {
          // On NATS the checkpoint moves only once what it covers has reached the server: NatsBus
          // holds publishes back to send a turn's together, and a crash after a checkpoint that
          // passed unsent events would never publish them. (The in-process bus delivers at once;
          // its flush waits for subscribers' handlers, which must not hold up the relay.)
          if (nats) await this.o.bus.flush();
          await checkpoint.put(position);
        },
      },
      name: this.name,
      handler: (e) => this.publish(e),
      checkpointEvery: this.o.checkpointEvery ?? 100,
      failures: {
        // A publish that fails (the bus is down) is retried from the relay's position.
        handlerFailures: 'retry',
        ...(this.o.giveUpAfterMs !== undefined ? { giveUpAfterMs: this.o.giveUpAfterMs } : {}),
        onError: (err, info) => {
          const fields = { reader: this.name, attempt: info.attempt, position: info.position, err: err instanceof Error ? err.message : String(err) };
          if (info.fatal) this.o.log.fatal(fields, 'relay gave up: nothing more is published (health check fails)');
          else this.o.log.error(fields, 'relay failed; resuming from its position after a back-off');
        },
      },
    });
    this.o.log.debug({ from: this.sub.position }, 'relay started');
  }

  /** The relay's subscription state; `failed` means it publishes nothing more. */
  status(): SubscriptionStatus | undefined {
    return this.sub?.status();
  }

  private async publish(read: Envelope): Promise<void> {
    // What the ledger holds, as written (not an upgrade of it): subscribers check its hash and signature.
    const e = storedEnvelope(read);
    // The span's name and attributes are built only when tracing is on: this runs per event.
    const span = tracingEnabled() ? startSpan(`relay publish ${e.type}`, eventContext(e.id), { ...envelopeAttributes(e), [ATTR.stream]: e.stream, [ATTR.site]: this.o.site }, SpanKind.PRODUCER) : undefined;
    try {
      // An event its commit's head signs for travels with the rest of its commit, so a
      // subscriber can check it on its own (see checkWithCommit).
      const proof = e.sig === '' ? await this.commitProof(e) : undefined;
      const kept = this.proofParts.size > 0 ? this.proofParts.get(`${e.position}:${e.hash}`) : undefined;
      await this.o.bus.publish(subjects.event(this.o.site, e.type), kept !== undefined ? Buffer.from(kept, 'utf8') : relayBytes(e), {
        headers: {
          'Nats-Msg-Id': e.id,
          'Caco-Type': e.type,
          'Caco-Stream': e.stream,
          'Caco-Position': String(e.position),
          ...(proof !== undefined ? { [COMMIT_PROOF_HEADER]: proof } : {}),
          // An event stored before correlation ids were held to ENVELOPE_ID may have one no header can carry.
          ...(span ? { ...traceHeaders(span.ctx), ...(ENVELOPE_ID.test(e.correlationId) ? { 'Caco-Correlation-Id': e.correlationId } : {}) } : {}),
        },
      });
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
    endSpan(span);
    this.published++;
    metricsHooks.relayed(this.o.site, e);
  }

  /**
   * The events after `e` in its commit, up to its signed head, as a JSON array of stored
   * envelopes: from what the store read with it (a JetStream message), else read again from
   * the stream (SQLite), once per commit.
   */
  private async commitProof(e: Envelope): Promise<string> {
    const kept = commitTailJson(e);
    if (kept !== undefined) return '[' + kept.join(',') + ']';
    let tail: Envelope[];
    const cached = this.tail;
    if (cached && cached.stream === e.stream && cached.events.length > 0 && cached.events[0]!.revision <= e.revision + 1 && cached.events[cached.events.length - 1]!.revision > e.revision) {
      tail = cached.events.filter((x) => x.revision > e.revision);
    } else {
      const inner = this.o.store instanceof VerifiedEventStore ? this.o.store.inner : this.o.store;
      const read: Envelope[] = [];
      // The subscriber checks the proof itself: this read needs no verifying.
      for await (const x of inner.readStream(e.stream, e.revision + 1)) {
        read.push(x);
        if (x.sig !== '') break;
      }
      this.tail = { stream: e.stream, events: read };
      tail = read;
    }
    return '[' + tail.map((x) => this.relayedJson(x)).join(',') + ']';
  }

  /**
   * An event's relayed JSON, kept while its commit is being published: each event of a commit
   * is in the proof of every event before it, so it is encoded once, not once per proof.
   */
  private relayedJson(x: Envelope): string {
    const key = `${x.position}:${x.hash}`;
    let json = this.proofParts.get(key);
    if (json === undefined) {
      json = Buffer.from(relayBytes(x)).toString('utf8');
      if (this.proofParts.size >= 2048) this.proofParts.clear();
      this.proofParts.set(key, json);
    }
    return json;
  }

  /** Resolves once everything stored so far has been published. */
  async caughtUp(): Promise<void> {
    await this.sub?.caughtUp();
  }

  async stop(): Promise<void> {
    if (!this.sub) return;
    await this.sub.close();
    this.sub = undefined;
  }
}
