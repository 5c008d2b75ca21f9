import { createHash } from 'node:crypto';
import type { Envelope } from '../envelope/envelope.ts';
import type { UnreadableRecord } from './event-store.ts';
import { CorruptCommitError } from './jetstream-commit.ts';

/**
 * The events table as the SQL stores (SQLite, PostgreSQL) read it: the same columns in the same
 * order, read as arrays (no per-row objects on the replay path).
 */
export const EVENT_COLUMNS = 'position, id, stream, revision, type, version, time, source, correlation_id, causation_id, data, prev_hash, hash, sig, covers';

/**
 * One row of `EVENT_COLUMNS`. pg returns BIGINT as a string and SQLite an integer as a number
 * (or a bigint); a position is checked before it is used (`rowPosition`).
 */
export type EventRow = [number | string | bigint, string, string, number, string, number, string, string, string, string | null, string, string, string, string, number | null];

/**
 * The largest position a reader can hold: 2^53 - 1. Readers keep positions as JavaScript
 * numbers, which hold every integer only up to there (9007199254740993 reads back as
 * 9007199254740992). No writer hands out a position past it, and the PostgreSQL table refuses
 * one (CHECK); a row there was put in by someone else.
 */
export const MAX_POSITION = Number.MAX_SAFE_INTEGER;

/**
 * The largest event data a reader takes from a row (bytes of UTF-8). No writer bounds it, but a
 * row over 512 MiB cannot become a JavaScript string at all: the PostgreSQL driver threw in its
 * socket handler and ended every reader's process (a 600 MB row built with repeat()).
 */
export const MAX_READ_DATA_BYTES = 16 * 1024 * 1024;

/** The largest value of any other column a reader takes (ids, names, hashes, signatures are far smaller). */
export const MAX_READ_CELL_BYTES = 64 * 1024;

/**
 * What a store's query puts in place of a value over its bound (MAX_READ_DATA_BYTES for data,
 * MAX_READ_CELL_BYTES for the rest), followed by its size: not JSON, no id or hash (it starts
 * with U+0001), so nothing mistakes it for what it stands for.
 */
export const OVERSIZE_CELL = '\u0001caco: too large: ';

/** EVENT_COLUMNS one by one, in row order. */
export const EVENT_COLUMN_NAMES: ReadonlyArray<string> = EVENT_COLUMNS.split(', ');

/** A stored position, if it is one a reader can hold (an integer from 1 to MAX_POSITION); else why not. */
export function rowPosition(raw: unknown): number | { readonly problem: string } {
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 1) return raw;
  if (typeof raw === 'string' && /^[1-9][0-9]{0,15}$/.test(raw)) {
    const n = Number(raw);
    if (n <= MAX_POSITION) return n;
  }
  if (typeof raw === 'bigint' && raw >= 1n && raw <= BigInt(MAX_POSITION)) return Number(raw);
  const shown = typeof raw === 'string' ? raw.slice(0, 40) : String(raw).slice(0, 40);
  return { problem: `position ${shown} is not a ledger position (an integer from 1 to 2^53 - 1 = ${MAX_POSITION}, the largest a reader can hold): the row was not written by CACO` };
}

/**
 * Where to report a row whose position is not one (see `rowPosition`): the position itself
 * when it is a safe integer, MAX_POSITION for one past it (every row after it is past it too,
 * so a reader that moves there has passed them all), 0 for anything else.
 */
function reportedPosition(raw: unknown): number {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : raw > 0 ? MAX_POSITION : 0;
  if (typeof raw === 'bigint') return raw > BigInt(MAX_POSITION) ? MAX_POSITION : raw < BigInt(Number.MIN_SAFE_INTEGER) ? 0 : Number(raw);
  if (typeof raw === 'string' && /^-?[0-9]+$/.test(raw)) {
    const n = BigInt(raw);
    return n > BigInt(MAX_POSITION) ? MAX_POSITION : n < BigInt(Number.MIN_SAFE_INTEGER) ? 0 : Number(n);
  }
  return 0;
}

export function envelopeOfRow(r: EventRow): Envelope {
  const position = rowPosition(r[0]);
  if (typeof position !== 'number') throw new Error(position.problem);
  return {
    id: r[1],
    type: r[4],
    version: r[5],
    stream: r[2],
    revision: r[3],
    position,
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

/**
 * A row as an event, or as what it is when its position is not one a reader can hold or its
 * data is not JSON (someone wrote the table by hand).
 */
export function readEventRow(r: EventRow): Envelope | UnreadableRecord {
  const position = rowPosition(r[0]);
  if (typeof position !== 'number') {
    const at = reportedPosition(r[0]);
    return unreadableRow(r, at, `${position.problem}; reported at position ${at}`);
  }
  for (let i = 1; i < r.length; i++) {
    const cell = r[i];
    if (typeof cell === 'string' && cell.startsWith(OVERSIZE_CELL)) {
      const name = EVENT_COLUMN_NAMES[i] ?? `column ${i}`;
      return unreadableRow(r, position, `row ${name} is ${cell.slice(OVERSIZE_CELL.length)} bytes, more than the ${name === 'data' ? MAX_READ_DATA_BYTES : MAX_READ_CELL_BYTES} a reader takes (not read)`);
    }
  }
  try {
    return envelopeOfRow(r);
  } catch (err) {
    return unreadableRow(r, position, `row data is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Rows read at positions no reader reaches (below 1), as the unreadable records they are. */
export function strayRows(rows: ReadonlyArray<EventRow>): UnreadableRecord[] {
  const out: UnreadableRecord[] = [];
  for (const r of rows) {
    const x = readEventRow(r);
    if ('unreadable' in x) out.push({ ...x, reason: `${x.reason}; no reader reads a row below position 1, so it was left out of every read (moved there, or put there)` });
  }
  return out;
}

function unreadableRow(r: EventRow, position: number, reason: string): UnreadableRecord {
  const bytes = Buffer.from(String(r[10]), 'utf8');
  return {
    unreadable: true,
    position,
    stream: r[2],
    reason,
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** The error a reader without an `onUnreadable` handler gets for such a row; `ledger` names the store. */
export function unreadableRowError(ledger: string, u: UnreadableRecord): CorruptCommitError {
  return new CorruptCommitError(ledger, u.position, u.reason);
}

/** Rows of a stream read per page (readStream). */
export const STREAM_PAGE = 512;
