/**
 * What the PostgreSQL hostile-row tests share: events, a store in a schema of its own (dropped
 * afterwards), and rows forged straight into its table, as someone other than CACO would.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { PostgresEventStore } from '../../../core/store/postgres-store.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';
import type { Logger } from '../../../core/log/logger.ts';
import { postgresUrl, uniqueSchema } from '../../support/postgres.ts';

export const ev = (n: number, source = 'agent'): NewEvent => ({ id: randomUUID(), type: 'test.thing.happened', version: 1, time: '2024-01-01T00:00:00.000Z', source, correlationId: 'c', causationId: null, data: { n } });
export const H = (c: string) => c.repeat(64);

export const quiet: Logger = { info() {}, warn() {}, error() {}, debug() {}, child: () => quiet } as unknown as Logger;

export async function withStore(prefix: string, fn: (store: PostgresEventStore, keyring: MemoryKeyring, schema: string) => Promise<void>): Promise<void> {
  const keyring = new MemoryKeyring('hostile-rows');
  const schema = uniqueSchema(prefix);
  const store = await PostgresEventStore.open({ connectionString: postgresUrl(), schema, keyring, pollMs: 50 });
  try {
    await fn(store, keyring, schema);
  } finally {
    await store.destroy().catch(() => undefined);
    await store.close();
  }
}

export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected the promise to reject');
}

export async function count(store: PostgresEventStore, schema: string): Promise<number> {
  const r = await store.unsafeQuery<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.events`);
  return Number(r[0]!.n);
}

/** A forged row: every column given, sig and hash as the caller says. */
export async function forge(store: PostgresEventStore, schema: string, row: { position: number | string; stream: string; revision: number; prevHash: string; hash: string; sig?: string; data?: string; id?: string }): Promise<void> {
  await store.unsafeExec(
    `INSERT INTO ${schema}.events (position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig, covers)
     VALUES ($1::bigint, $2, $3, $4, 'test.thing.happened', 1, '2024-01-01T00:00:00.000Z', 'agent', 'c', NULL, $5, $6, $7, $8, NULL)`,
    String(row.position), row.id ?? `forged-${randomUUID()}`, row.stream, row.revision, row.data ?? '{"n":666}', row.prevHash, row.hash, row.sig ?? 'x',
  );
}
