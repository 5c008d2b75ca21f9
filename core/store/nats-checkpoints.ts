import { DiscardPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { InvalidArgumentError } from '../errors/errors.ts';
import type { CheckpointStore } from './event-store.ts';
import { checkpointKey } from './jetstream-commit.ts';
import { retryWhileUnavailable, type RetryOptions } from './nats-retry.ts';
import { ensureStream, isStreamNotFound, kvStream } from './nats-streams.ts';
import { checkPutPosition, checkpointPosition } from './checkpoint-value.ts';

export interface NatsCheckpointOptions {
  readonly bucket: string;
  readonly replicas?: number;
  /** How long a read or write keeps retrying while the bucket has no leader (default 60 s). */
  readonly unavailableBudgetMs?: number;
  /** Make the bucket when it is missing (default true); readers pass false and create nothing. */
  readonly create?: boolean;
}

/**
 * Checkpoints in a JetStream key-value bucket. The bucket is laid out exactly as the NATS KV
 * API lays one out (`KV_<bucket>` holding `$KV.<bucket>.<key>`, one value per key), so
 * `nats kv get <bucket> <key>` shows a checkpoint, without another client library.
 */
export class NatsCheckpointStore implements CheckpointStore {
  private readonly streamName: string;
  private readonly prefix: string;

  private constructor(
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    readonly bucket: string,
    private readonly retryOpts: RetryOptions = {},
  ) {
    ({ name: this.streamName, prefix: this.prefix } = kvStream(bucket));
  }

  static async open(jsm: JetStreamManager, opts: NatsCheckpointOptions): Promise<NatsCheckpointStore> {
    if (!/^[-_A-Za-z0-9]+$/.test(opts.bucket)) throw new InvalidArgumentError('bucket', `"${opts.bucket}" is not a valid KV bucket name`);
    const store = new NatsCheckpointStore(jsm, jsm.jetstream(), opts.bucket, opts.unavailableBudgetMs !== undefined ? { budgetMs: opts.unavailableBudgetMs } : {});
    if (opts.create !== false) await store.ensure(opts.replicas ?? 1);
    return store;
  }

  private async ensure(replicas: number): Promise<void> {
    await ensureStream(this.jsm, {
      name: this.streamName,
      subjects: [`${this.prefix}>`],
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.New,
      allow_rollup_hdrs: true,
      deny_delete: true,
      allow_direct: true,
      num_replicas: replicas,
      duplicate_window: 120_000_000_000,
    });
  }

  async get(name: string): Promise<number> {
    const m = await retryWhileUnavailable(() => this.jsm.streams.getMessage(this.streamName, { last_by_subj: this.prefix + checkpointKey(name) }), this.retryOpts);
    if (!m) return 0;
    const op = m.header?.get('KV-Operation');
    if (op === 'DEL' || op === 'PURGE') return 0;
    return checkpointPosition(name, m.string(), `stream ${this.streamName}`);
  }

  async put(name: string, position: number): Promise<void> {
    checkPutPosition(position);
    // Writing the same value twice is harmless, so a lost acknowledgement is simply re-sent.
    await retryWhileUnavailable(() => this.js.publish(this.prefix + checkpointKey(name), String(position), { retries: 3 }), this.retryOpts);
  }

  /** Remove the bucket (tests, `caco reset`). */
  async destroy(): Promise<void> {
    await this.jsm.streams.delete(this.streamName).catch((err: unknown) => {
      if (!isStreamNotFound(err)) throw err;
    });
  }
}

export { isStreamNotFound } from './nats-streams.ts';
