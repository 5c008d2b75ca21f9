import { createHash } from 'node:crypto';
import { DiscardPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { SITE_NAME } from '../config/config.ts';
import { InvalidArgumentError } from '../errors/errors.ts';
import { checkSnapshotSize, parseSnapshot, type AgentSnapshot, type SnapshotStore } from '../runtime/snapshot.ts';
import { checkpointKey } from './jetstream-commit.ts';
import { retryWhileUnavailable, type RetryOptions } from './nats-retry.ts';
import { ensureStream, isStreamNotFound, kvStream } from './nats-streams.ts';

export interface NatsSnapshotOptions {
  /** Bucket name (see `snapshotBucketName`). */
  readonly bucket: string;
  readonly replicas?: number;
  /** Bytes per KV value: a snapshot larger than this is stored in parts (default 512 KiB, under NATS's 1 MiB default payload limit). */
  readonly partBytes?: number;
  readonly unavailableBudgetMs?: number;
}

/** `london` → `caco_london_snapshots`. */
export function snapshotBucketName(site: string): string {
  if (!SITE_NAME.test(site)) throw new InvalidArgumentError('site', `"${site}" is not a site name`);
  return `caco_${site}_snapshots`;
}

interface Head {
  readonly parts: number;
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Agent snapshots in a JetStream key-value bucket, laid out as the NATS KV API lays one out
 * (like the checkpoints, core/store/nats-checkpoints.ts). A snapshot can be far larger than
 * one message may be, so it is stored in parts `c.<agent>.<i>` and then a head `h.<agent>`
 * naming how many parts and the SHA-256 of the whole; a reader that finds the parts do not
 * add up (a save under way) reports it, and the agent replays instead.
 */
export class NatsSnapshotStore implements SnapshotStore {
  private readonly streamName: string;
  private readonly prefix: string;
  private readonly partBytes: number;

  private constructor(
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    readonly bucket: string,
    opts: NatsSnapshotOptions,
    private readonly retryOpts: RetryOptions,
  ) {
    ({ name: this.streamName, prefix: this.prefix } = kvStream(bucket));
    this.partBytes = opts.partBytes ?? 512 * 1024;
  }

  static async open(jsm: JetStreamManager, opts: NatsSnapshotOptions): Promise<NatsSnapshotStore> {
    if (!/^[-_A-Za-z0-9]+$/.test(opts.bucket)) throw new InvalidArgumentError('bucket', `"${opts.bucket}" is not a valid KV bucket name`);
    if (opts.partBytes !== undefined && !(Number.isSafeInteger(opts.partBytes) && opts.partBytes >= 1024)) throw new InvalidArgumentError('partBytes', `must be an integer >= 1024, got ${opts.partBytes}`);
    const s = new NatsSnapshotStore(jsm, jsm.jetstream(), opts.bucket, opts, opts.unavailableBudgetMs !== undefined ? { budgetMs: opts.unavailableBudgetMs } : {});
    await ensureStream(jsm, {
      name: s.streamName,
      subjects: [`${s.prefix}>`],
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.New,
      allow_rollup_hdrs: true,
      deny_delete: true,
      allow_direct: true,
      num_replicas: opts.replicas ?? 1,
    });
    return s;
  }

  private async getValue(key: string): Promise<Uint8Array | undefined> {
    const m = await retryWhileUnavailable(() => this.jsm.streams.getMessage(this.streamName, { last_by_subj: this.prefix + key }), this.retryOpts);
    if (!m) return undefined;
    const op = m.header?.get('KV-Operation');
    if (op === 'DEL' || op === 'PURGE') return undefined;
    return m.data;
  }

  async load(agent: string): Promise<AgentSnapshot | undefined> {
    const key = checkpointKey(agent);
    const headBytes = await this.getValue(`h.${key}`);
    if (!headBytes) return undefined;
    const head = headOf(headBytes, agent);
    // The head says how much will be read: checked before a part is, and the parts held to it
    // as they come, so a head or parts someone wrote cannot make a restore read without bound.
    const parts: Uint8Array[] = [];
    let read = 0;
    for (let i = 0; i < head.parts; i++) {
      const p = await this.getValue(`c.${key}.${i}`);
      if (!p) throw new Error(`snapshot of ${agent}: part ${i} of ${head.parts} is missing`);
      read += p.byteLength;
      if (read > head.bytes) throw new Error(`snapshot of ${agent}: its parts hold more than the ${head.bytes} bytes its head names (the bucket was changed)`);
      parts.push(p);
    }
    const whole = Buffer.concat(parts);
    if (whole.byteLength !== head.bytes || createHash('sha256').update(whole).digest('hex') !== head.sha256) {
      throw new Error(`snapshot of ${agent}: its parts do not add up to the snapshot its head names (a save was under way, or the bucket was changed)`);
    }
    return parseSnapshot(whole.toString('utf8'), `snapshot of ${agent}`);
  }

  async save(s: AgentSnapshot): Promise<void> {
    const key = checkpointKey(s.agent);
    const whole = Buffer.from(JSON.stringify(s), 'utf8');
    checkSnapshotSize(whole.byteLength, `snapshot of ${s.agent}`);
    const parts = Math.max(1, Math.ceil(whole.byteLength / this.partBytes));
    for (let i = 0; i < parts; i++) {
      const part = whole.subarray(i * this.partBytes, (i + 1) * this.partBytes);
      await retryWhileUnavailable(() => this.js.publish(`${this.prefix}c.${key}.${i}`, part, { retries: 3 }), this.retryOpts);
    }
    const head: Head = { parts, bytes: whole.byteLength, sha256: createHash('sha256').update(whole).digest('hex') };
    await retryWhileUnavailable(() => this.js.publish(`${this.prefix}h.${key}`, JSON.stringify(head), { retries: 3 }), this.retryOpts);
  }

  /** Remove the bucket (tests, `caco reset`). */
  async destroy(): Promise<void> {
    await this.jsm.streams.delete(this.streamName).catch((err: unknown) => {
      if (!isStreamNotFound(err)) throw err;
    });
  }
}

/** A snapshot head as stored, checked: whole numbers within MAX_SNAPSHOT_BYTES, parts of at least 1 KiB (the least partBytes). */
function headOf(bytes: Uint8Array, agent: string): Head {
  const where = `snapshot of ${agent}`;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new InvalidArgumentError(where, 'its head is not JSON');
  }
  const h = (typeof v === 'object' && v !== null ? v : {}) as Partial<Record<keyof Head, unknown>>;
  const size = h.bytes;
  const parts = h.parts;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new InvalidArgumentError(where, 'its head names no size in bytes');
  checkSnapshotSize(size, where);
  if (typeof parts !== 'number' || !Number.isSafeInteger(parts) || parts < 1 || parts > Math.max(1, Math.ceil(size / 1024))) throw new InvalidArgumentError(where, `its head names ${String(parts).slice(0, 20)} parts for ${size} bytes`);
  if (typeof h.sha256 !== 'string') throw new InvalidArgumentError(where, 'its head names no SHA-256');
  return { parts, bytes: size, sha256: h.sha256 };
}

