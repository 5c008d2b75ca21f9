import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { anchorStreamName, anchorSubject } from '../store/jetstream-commit.ts';
import { ensureStream, isStreamNotFound } from '../store/nats-streams.ts';
import { readRange } from '../store/jetstream-reader.ts';
import { collectAnchorRead, notCheckpoint, type AnchorItem, type AnchorLog, type AnchorRead } from './anchor-log.ts';
import { isCheckpointRecord, type AnchorCheckpoint } from './checkpoint.ts';
import { retryWhileUnavailable } from '../store/nats-retry.ts';

/**
 * Anchor checkpoints on NATS: a stream of their own (not the ledger's), file-backed, that
 * denies deletes and purges, so a checkpoint once written stays. Appends expect the last
 * sequence they know, so two writers cannot fork the chain.
 */
export class JetStreamAnchorLog implements AnchorLog {
  readonly stream: string;
  readonly subject: string;
  private lastSeq = 0;

  private constructor(
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly nc: NatsConnection,
    site: string,
  ) {
    this.stream = anchorStreamName(site);
    this.subject = anchorSubject(site);
  }

  get where(): string {
    return `nats:${this.stream}`;
  }

  /** Open on a connection; `create` makes the stream when it is missing (writers), else reads only. */
  static async open(nc: NatsConnection, site: string, opts: { create: boolean; replicas?: number }): Promise<JetStreamAnchorLog> {
    const jsm = await jetstreamManager(nc);
    const log = new JetStreamAnchorLog(jsm, jetstream(nc), nc, site);
    if (opts.create) {
      await ensureStream(jsm, {
        name: log.stream,
        subjects: [log.subject],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.New,
        num_replicas: opts.replicas ?? 1,
        deny_delete: true,
        deny_purge: true,
        allow_direct: true,
        max_msg_size: 64 * 1024,
      });
    }
    return log;
  }

  async exists(): Promise<boolean> {
    try {
      await retryWhileUnavailable(() => this.jsm.streams.info(this.stream));
      return true;
    } catch (err) {
      if (isStreamNotFound(err)) return false;
      throw err;
    }
  }

  async read(): Promise<AnchorRead> {
    return collectAnchorRead(await this.items());
  }

  /**
   * Every message in order; one that is no checkpoint (not JSON, `[1]`, no hash) named in its
   * place and passed over, as the writer passes over it (lastRecord), so the checkpoints after
   * it are still checked. A missing message ends the read.
   */
  private async items(): Promise<AnchorItem[]> {
    const items: AnchorItem[] = [];
    let expected = 1;
    const holds: { lastSeq?: number } = {};
    for await (const m of this.messages(holds)) {
      if (m.seq !== expected) {
        items.push({ problem: `${this.where} message ${expected} is missing (the next one is ${m.seq})` });
        return items;
      }
      expected++;
      let record: unknown;
      try {
        record = JSON.parse(Buffer.from(m.data).toString('utf8'));
      } catch {
        items.push({ problem: `${this.where} message ${m.seq} is not a JSON checkpoint`, passedOver: true });
        continue;
      }
      if (isCheckpointRecord(record)) items.push({ record });
      else items.push({ problem: `${this.where} message ${m.seq} is not a checkpoint (${notCheckpoint(record)})`, passedOver: true });
    }
    if (holds.lastSeq !== undefined && expected !== holds.lastSeq + 1) items.push({ problem: `${this.where} holds messages up to ${holds.lastSeq} but only ${expected - 1} could be read` });
    return items;
  }

  /**
   * Every message of the anchor subject in order; none when there is no stream or it holds none.
   * Learns the last sequence the next append expects; `holds.lastSeq` is the last one it holds
   * messages up to, when it holds any.
   */
  private async *messages(holds: { lastSeq?: number } = {}): AsyncGenerator<{ readonly seq: number; readonly data: Uint8Array }> {
    let state;
    try {
      // Asked again through an election of the anchor's own replicas, as every other read is:
      // an audit must not report an anchor as unreadable because its leader was being chosen.
      state = (await retryWhileUnavailable(() => this.jsm.streams.info(this.stream))).state;
    } catch (err) {
      if (isStreamNotFound(err)) return;
      throw err;
    }
    this.lastSeq = state.last_seq;
    if (state.messages === 0) return;
    holds.lastSeq = state.last_seq;
    for await (const chunk of readRange({ nc: this.nc, jsm: this.jsm, stream: this.stream, filter: this.subject, startSeq: 1, endSeq: state.last_seq, batch: 256 })) {
      for (const m of chunk) yield { seq: m.seq, data: m.data };
    }
  }

  /**
   * Still the whole stream at once (read): unlike the file, it is not read as it goes. A year
   * of minute checkpoints is ~330 MB of records held while the audit or the writer's start-up
   * check runs; fetching a batch at a time needs an async fold, which the audit's per-event
   * check (synchronous) does not have. Left as it was; the file anchor is the one read in chunks.
   */
  async scan(): Promise<Iterable<AnchorItem>> {
    return this.items();
  }

  /**
   * The last message that is a checkpoint (isCheckpointRecord), as the file's tail passes over
   * lines that are not: a `[1]` or a message that is not JSON must not make the next checkpoint
   * link to genesis, or to a checkpoint before it (a fork the stream would take, since its
   * expected-last-sequence check passes). Reads the whole stream, and learns the last sequence
   * the next append expects.
   */
  async lastRecord(): Promise<unknown> {
    let last: unknown;
    for await (const m of this.messages()) {
      try {
        const r: unknown = JSON.parse(Buffer.from(m.data).toString('utf8'));
        if (isCheckpointRecord(r)) last = r;
      } catch {
        // Not JSON: passed over here; read() and the audit name it.
      }
    }
    return last;
  }

  async append(cp: AnchorCheckpoint): Promise<void> {
    // Through a leader election the same checkpoint is re-sent; its id makes a second copy a duplicate.
    const ack = await retryWhileUnavailable(() => this.js.publish(this.subject, JSON.stringify(cp), { msgID: cp.hash, expect: { lastSequence: this.lastSeq } }));
    this.lastSeq = ack.seq;
  }

  async close(): Promise<void> {}
}
