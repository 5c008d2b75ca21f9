import { DiscardPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureStream, isStreamNotFound, kvStream } from '../store/nats-streams.ts';
import { parseStored, type KeyRegistryStore } from './registry-store.ts';

/** The registry's KV bucket for a site: `caco_<site>_keys`, beside the checkpoint bucket. */
export function keyBucketName(site: string): string {
  return `caco_${site}_keys`;
}

/**
 * The registry on NATS: a JetStream KV bucket, laid out as the NATS KV API lays one out
 * (`KV_<bucket>`, subject `$KV.<bucket>.<keyId>`), so `nats kv get caco_<site>_keys <keyId>`
 * shows an entry. History is kept (10 values per key) so a revocation that someone overwrote
 * can still be seen by an auditor.
 */
export class KvKeyRegistryStore implements KeyRegistryStore {
  private readonly streamName: string;
  private readonly prefix: string;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly ownsConnection: boolean,
    private readonly jsm: JetStreamManager,
    readonly bucket: string,
  ) {
    ({ name: this.streamName, prefix: this.prefix } = kvStream(bucket));
  }

  /** Open the bucket; `create: false` fails instead of creating it (commands that only read). */
  static async open(nc: NatsConnection, site: string, opts: { ownsConnection?: boolean; create?: boolean; replicas?: number } = {}): Promise<KvKeyRegistryStore> {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    const s = new KvKeyRegistryStore(nc, opts.ownsConnection ?? false, jsm, keyBucketName(site));
    await s.ensure(opts.create ?? true, opts.replicas ?? 1);
    return s;
  }

  private async ensure(create: boolean, replicas: number): Promise<void> {
    const there = await ensureStream(
      this.jsm,
      {
        name: this.streamName,
        subjects: [`${this.prefix}>`],
        max_msgs_per_subject: 10,
        discard: DiscardPolicy.New,
        allow_rollup_hdrs: true,
        deny_delete: true,
        allow_direct: true,
        // As durable as the ledger: a site that cannot read its registry refuses every command.
        num_replicas: replicas,
      },
      create,
    );
    if (!there) throw new Error(`no key registry bucket ${this.bucket} on this NATS server; run \`caco run\` (or \`caco keys init\`) for the site first`);
  }

  async get(keyId: string): Promise<unknown> {
    const m = await this.jsm.streams.getMessage(this.streamName, { last_by_subj: this.prefix + keyId });
    if (!m) return undefined;
    const op = m.header?.get('KV-Operation');
    if (op === 'DEL' || op === 'PURGE') return undefined;
    return parseStored(m.string());
  }

  async put(keyId: string, entry: unknown): Promise<void> {
    await this.putRaw(keyId, JSON.stringify(entry));
  }

  async putRaw(keyId: string, text: string): Promise<void> {
    await this.jsm.jetstream().publish(this.prefix + keyId, text);
  }

  /**
   * One stream info request (paged by the client past the server's page size): every key
   * id with a value kept, a deleted one's marker included (a lookup then finds nothing).
   */
  async keyIds(): Promise<string[]> {
    const info = await this.jsm.streams.info(this.streamName, { subjects_filter: '>' });
    return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(this.prefix.length));
  }

  async list(): Promise<Array<{ keyId: string; value: unknown }>> {
    const keys = (await this.keyIds()).sort();
    const out: Array<{ keyId: string; value: unknown }> = [];
    for (const keyId of keys) {
      const value = await this.get(keyId);
      if (value !== undefined) out.push({ keyId, value });
    }
    return out;
  }

  /** Remove the bucket (tests). */
  async destroy(): Promise<void> {
    await this.jsm.streams.delete(this.streamName).catch((err: unknown) => {
      if (!isStreamNotFound(err)) throw err;
    });
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.nc.close();
  }
}
