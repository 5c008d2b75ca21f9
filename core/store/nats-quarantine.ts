import { readQuarantineRecord } from './quarantine-record.ts';
import { DiscardPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { QuarantineRecord, QuarantineStore } from './event-store.ts';
import { ensureStream, isStreamNotFound, kvStream, WRONG_LAST_SEQUENCE } from './nats-streams.ts';
import { readRange } from './jetstream-reader.ts';
import { retryWhileUnavailable } from './nats-retry.ts';

/**
 * The JetStream ledger's dead letters: a KV bucket `caco_<site>_quarantine` (stream
 * `KV_caco_<site>_quarantine`), one key per refused position, so `nats kv get` shows a
 * record. The first report of a position is kept: every reader of the site refuses the
 * same bad event, and each may report it. A separate bucket, not the ledger stream, because
 * nothing on a ledger subject may be needed to run the ledger. The bucket is created on the
 * first record, so a clean site (or a read-only auditor) never needs it.
 */
export class NatsQuarantineStore implements QuarantineStore {
  private readonly streamName: string;
  private readonly prefix: string;
  private ensured: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    readonly bucket: string,
    private readonly replicas = 1,
  ) {
    ({ name: this.streamName, prefix: this.prefix } = kvStream(bucket));
  }

  async quarantine(r: QuarantineRecord): Promise<void> {
    this.ensured ??= this.ensure().catch((err: unknown) => {
      this.ensured = undefined;
      throw err;
    });
    await this.ensured;
    try {
      await this.js.publish(this.prefix + String(r.position), JSON.stringify(r), { expect: { lastSubjectSequence: 0 } });
    } catch (err) {
      if ((err as { code?: unknown }).code !== WRONG_LAST_SEQUENCE) throw err;
      // Reported before (by this or another reader): the first record stands.
    }
  }

  async quarantined(): Promise<ReadonlyArray<QuarantineRecord>> {
    let last: number;
    try {
      const info = await retryWhileUnavailable(() => this.jsm.streams.info(this.streamName));
      if (info.state.messages === 0) return [];
      last = info.state.last_seq;
    } catch (err) {
      if (isStreamNotFound(err)) return [];
      throw err;
    }
    const out: QuarantineRecord[] = [];
    for await (const chunk of readRange({ nc: this.nc, jsm: this.jsm, stream: this.streamName, filter: `${this.prefix}>`, startSeq: 1, endSeq: last, batch: 256 })) {
      for (const c of chunk) {
        // A key deleted or purged (`nats kv del`) leaves an empty marker: no record.
        if (c.data.length === 0) continue;
        // Checked as any store's: what is not a record is listed as such, at the ledger position its key names.
        const key = c.subject.startsWith(this.prefix) ? c.subject.slice(this.prefix.length) : '';
        const at = /^\d{1,16}$/.test(key) && Number.isSafeInteger(Number(key)) ? Number(key) : 0;
        out.push(readQuarantineRecord(Buffer.from(c.data).toString('utf8'), at, `the quarantine bucket ${this.bucket} (key "${key.slice(0, 40)}")`));
      }
    }
    return out.sort((a, b) => a.position - b.position);
  }

  async destroy(): Promise<void> {
    await this.jsm.streams.delete(this.streamName).catch((err: unknown) => {
      if (!isStreamNotFound(err)) throw err;
    });
  }

  private async ensure(): Promise<void> {
    await ensureStream(this.jsm, {
      name: this.streamName,
      subjects: [`${this.prefix}>`],
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.New,
      deny_delete: true,
      allow_direct: true,
      num_replicas: this.replicas,
    });
  }
}
