import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors/errors.ts';
import type { EventStore } from '../store/event-store.ts';
import type { AnchorLog } from './anchor-log.ts';
import { FileAnchorLog } from './file-anchor-log.ts';

/** Where a SQLite ledger's anchor lives by default: `anchor.jsonl` beside it. */
export function anchorFileFor(sqlitePath: string): string {
  return join(dirname(resolve(sqlitePath)), 'anchor.jsonl');
}

export interface AnchorLocation {
  readonly store: EventStore;
  /** The site name of the NATS resources (Stack.site). */
  readonly site: string;
  readonly sqlitePath?: string;
  /** The default anchor file of a ledger that is not a file (PostgreSQL). */
  readonly anchorFile?: string;
}

/**
 * The anchor log for a ledger. `spec` is what `--anchor` says: a file path, or `kv` / `nats`
 * for the site's anchor stream on NATS; without it, the ledger's default place (a file beside
 * a SQLite ledger, the site's anchor stream beside a JetStream one). `create` is for writers:
 * readers never create anything.
 */
export async function openAnchorLog(at: AnchorLocation, opts: { spec?: string; create: boolean }): Promise<AnchorLog> {
  const spec = opts.spec;
  const onNats = spec === 'kv' || spec === 'nats' || (spec === undefined && at.store.kind === 'jetstream');
  if (onNats) {
    const nc = (at.store as { nc?: import('@nats-io/transport-node').NatsConnection }).nc;
    if (at.store.kind !== 'jetstream' || !nc) throw new ConfigError('--anchor', `"${spec}" is the anchor stream on NATS, which only a JetStream ledger has; use --store jetstream, or give the anchor file's path`);
    const { JetStreamAnchorLog } = await import('./jetstream-anchor-log.ts');
    // The anchor is as durable as the ledger it anchors: same replica count.
    const replicas = (at as { config?: { replicas?: number } }).config?.replicas;
    return JetStreamAnchorLog.open(nc, at.site, { create: opts.create, ...(replicas !== undefined ? { replicas } : {}) });
  }
  if (spec !== undefined) return new FileAnchorLog(resolve(spec));
  if (at.anchorFile) return new FileAnchorLog(resolve(at.anchorFile));
  if (!at.sqlitePath) throw new ConfigError('--anchor', `a ${at.store.kind} ledger has no default anchor; give --anchor <file>`);
  return new FileAnchorLog(anchorFileFor(at.sqlitePath));
}
