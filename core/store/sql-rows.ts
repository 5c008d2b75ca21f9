import { createHash } from 'node:crypto';
import type { Envelope } from '../envelope/envelope.ts';
import type { UnreadableRecord } from './event-store.ts';
import { CorruptCommitError } from './jetstream-commit.ts';

/**
 * The events table as the SQL stores (SQLite, PostgreSQL) read it: the same columns in the same
 * order, read as arrays (no per-row objects on the replay path).
 */
export const EVENT_COLUMNS = 'position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig, covers';

/** One row of `EVENT_COLUMNS`. pg returns BIGINT as a string (it may exceed 2^53); positions never do, so they are read as numbers. */
export type EventRow = [number | string, string, string, number, string, number, string, string, string, string | null, string, string, string, string, number | null];

export function envelopeOfRow(r: EventRow): Envelope {
  return {
    id: r[1],
    type: r[4],
    version: r[5],
    stream: r[2],
    revision: r[3],
    position: Number(r[0]),
    time: r[6],
    source: r[7],
    correlationId: r[8],
    causationId: r[9],
    data: JSON.parse(r[10]) as unknown,
    prevHash: r[11],
    hash: r[12],
    // As the stores' own appends return it: the key is there, undefined when NULL.
    covers: r[14] === null || r[14] === undefined ? undefined : Number(r[14]),
    sig: r[13],
  };
}

/** A row as an event, or as what it is when its data is not JSON (someone wrote the table by hand). */
export function readEventRow(r: EventRow): Envelope | UnreadableRecord {
  try {
    return envelopeOfRow(r);
  } catch (err) {
    const bytes = Buffer.from(String(r[10]), 'utf8');
    return {
      unreadable: true,
      position: Number(r[0]),
      stream: r[2],
      reason: `row data is not JSON (${err instanceof Error ? err.message : String(err)})`,
      bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  }
}

/** The error a reader without an `onUnreadable` handler gets for such a row; `ledger` names the store. */
export function unreadableRowError(ledger: string, u: UnreadableRecord): CorruptCommitError {
  return new CorruptCommitError(ledger, u.position, u.reason);
}
