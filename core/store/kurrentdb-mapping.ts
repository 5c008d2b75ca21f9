/**
 * Pure mapping between CACO's ledger and KurrentDB's records (no client, no I/O), so it can
 * be tested without a server. See docs/kurrentdb-store.md for the table and the reasons.
 *
 * The layout: one KurrentDB stream per site, the *site log* (`caco-<site>-ledger`), holds every
 * CACO event in commit order. CACO's global position is the log's stream revision + 1, so
 * positions are dense (1, 2, 3, ...) and every writer agrees on them: KurrentDB's optimistic
 * concurrency on that one stream orders all writers. The CACO stream, its revision and the
 * ledger fields travel in the event's metadata.
 */
import { createHash } from 'node:crypto';
import type { Envelope } from '../envelope/envelope.ts';
import { InvalidArgumentError } from '../errors/errors.ts';
import type { UnreadableRecord } from './event-store.ts';
import { redactUrl } from '../config/redact.ts';

/**
 * The metadata each CACO event carries in KurrentDB (`$correlationId`/`$causationId` are KurrentDB's own conventions).
 * A type, not an interface, so it fits the client's `Record<string, unknown>` metadata.
 */
export type CacoMetadata = {
  readonly caco: 1;
  readonly id: string;
  readonly stream: string;
  readonly revision: number;
  readonly version: number;
  readonly time: string;
  readonly source: string;
  readonly $correlationId: string;
  readonly $causationId: string | null;
  readonly prevHash: string;
  readonly hash: string;
  readonly sig: string;
  /** On a commit's signed head that vouches for more than itself (see core/envelope/envelope.ts). */
  readonly covers?: number;
};

/** The event as handed to `appendToStream` (the shape of the client's `jsonEvent`). */
export interface KurrentEventData {
  readonly id: string;
  readonly contentType: 'application/json';
  readonly type: string;
  readonly data: unknown;
  readonly metadata: CacoMetadata;
}

/** What this module needs of a record read back (a subset of the client's RecordedEvent). */
export interface KurrentRecord {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly isJson: boolean;
  readonly data: unknown;
  readonly metadata: unknown;
}

/** Stream names KurrentDB reserves start with `$`; CACO's site names are lower-case words. */
export function siteLogStream(prefix: string): string {
  return `${prefix}-ledger`;
}

/** One stream per checkpoint (KurrentDB keeps only its last event; see `CHECKPOINT_STREAM_METADATA`). */
export function checkpointStream(prefix: string, name: string): string {
  // Checkpoint names may hold any characters; a digest keeps the stream name plain.
  return `${prefix}-checkpoint-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

export const CHECKPOINT_STREAM_METADATA = { maxCount: 1 } as const;

/** CACO position (1-based, dense) of the log event at this revision. */
export function positionOfRevision(revision: bigint): number {
  if (revision < 0n || revision >= BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError('revision', `log revision ${revision} has no CACO position`);
  return Number(revision) + 1;
}

/**
 * The log revision to read from for events whose position is greater than `position`
 * (exclusive `from`, as in ReadAllOptions): position p sits at revision p - 1, so the first
 * wanted event is at revision `position`.
 */
export function revisionAfterPosition(position: number): bigint {
  if (!Number.isSafeInteger(position) || position < 0) throw new InvalidArgumentError('from', `must be a position >= 0, got ${position}`);
  return BigInt(position);
}

/** The expected state of the site log for an append made when it held `count` events. */
export function expectedLogState(count: number): 'no_stream' | bigint {
  return count === 0 ? 'no_stream' : BigInt(count - 1);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * KurrentDB event ids are UUIDs. A CACO id that is one (lower-case, as CACO makes them) is used
 * as it is; any other id maps to a UUID (version 8, RFC 9562 "custom") derived from its SHA-256,
 * so a retried append carries the same KurrentDB id. The CACO id itself is always in metadata.
 */
export function kurrentEventId(id: string): string {
  if (UUID.test(id)) return id;
  const h = createHash('sha256').update(id).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A sealed CACO event as a KurrentDB event for the site log. */
export function toEventData(e: Envelope): KurrentEventData {
  return {
    id: kurrentEventId(e.id),
    contentType: 'application/json',
    type: e.type,
    data: e.data,
    metadata: {
      caco: 1,
      id: e.id,
      stream: e.stream,
      revision: e.revision,
      version: e.version,
      time: e.time,
      source: e.source,
      $correlationId: e.correlationId,
      $causationId: e.causationId,
      prevHash: e.prevHash,
      hash: e.hash,
      sig: e.sig,
      ...(e.covers !== undefined ? { covers: e.covers } : {}),
    },
  };
}

function unreadable(position: number, reason: string, raw: unknown, stream?: string): UnreadableRecord {
  const bytes = raw instanceof Uint8Array ? Buffer.from(raw) : Buffer.from(JSON.stringify(raw ?? null) ?? '', 'utf8');
  return {
    unreadable: true,
    position,
    ...(stream !== undefined ? { stream } : {}),
    reason,
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/**
 * A record of the site log as a CACO event, or as an unreadable record when it is not one
 * (someone else wrote to the log: binary data, missing or malformed CACO metadata). Nothing
 * here checks hashes or signatures: verify-on-read does (core/store/verified-store.ts).
 */
export function fromRecord(r: KurrentRecord): Envelope | UnreadableRecord {
  const position = positionOfRevision(r.revision);
  const m = r.metadata as Partial<Record<keyof CacoMetadata, unknown>> | undefined;
  if (!r.isJson) return unreadable(position, 'the record is not JSON (content type is not application/json)', r.data);
  if (m === null || typeof m !== 'object' || m instanceof Uint8Array || m.caco !== 1) return unreadable(position, 'the record has no CACO metadata', r.data);
  const stream = isStr(m.stream) ? m.stream : undefined;
  const bad = (field: string) => unreadable(position, `CACO metadata field "${field}" is missing or of the wrong type`, r.data, stream);
  if (!isStr(m.id)) return bad('id');
  if (stream === undefined) return bad('stream');
  if (!isInt(m.revision) || m.revision < 0) return bad('revision');
  if (!isInt(m.version)) return bad('version');
  if (!isStr(m.time)) return bad('time');
  if (!isStr(m.source)) return bad('source');
  if (!isStr(m.$correlationId)) return bad('$correlationId');
  if (!(m.$causationId === null || isStr(m.$causationId))) return bad('$causationId');
  if (!isStr(m.prevHash)) return bad('prevHash');
  if (!isStr(m.hash)) return bad('hash');
  if (!isStr(m.sig)) return bad('sig');
  if (m.covers !== undefined && (!isInt(m.covers) || m.covers < 1)) return bad('covers');
  return {
    id: m.id,
    type: r.type,
    version: m.version,
    stream,
    revision: m.revision,
    position,
    time: m.time,
    source: m.source,
    correlationId: m.$correlationId,
    causationId: m.$causationId,
    data: r.data,
    prevHash: m.prevHash,
    hash: m.hash,
    covers: m.covers,
    sig: m.sig,
  };
}

/** Accepted connection-string schemes (the client's own list; `esdb` is deprecated but still read). */
const URL_SCHEME = /^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\/\S+$/;

/**
 * The query options the client reads (its parseConnectionString, @kurrent/kurrentdb-client 1.x),
 * compared as it compares them: lower case, without '_' and '-'.
 */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(
  ['userCertFile', 'userKeyFile', 'maxDiscoverAttempts', 'connectionName', 'defaultDeadline', 'discoveryInterval', 'gossipTimeout', 'nodePreference', 'tls', 'tlsVerifyCert', 'tlsCAFile', 'throwOnAppendFailure', 'keepAliveInterval', 'keepAliveTimeout', 'dnsDiscover'].map(flatOption),
);

function flatOption(key: string): string {
  return key.trim().toLowerCase().replace(/[_-]/g, '');
}

/**
 * A clear error for a connection string the client would refuse with a less helpful one, and
 * for an option it does not know: of those it warns on the console with the whole string,
 * password included, and goes on without the setting (a helper's review: "tlsverify", a typo
 * of tlsVerifyCert, printed kurrentdb://admin:S3cretPw@…).
 */
export function checkConnectionString(url: string, setting = '--kurrentdb-url'): string {
  if (!URL_SCHEME.test(url.trim())) {
    throw new InvalidArgumentError(setting, `"${redactUrl(url)}" is not a KurrentDB connection string; use e.g. kurrentdb://127.0.0.1:2113?tls=false`);
  }
  // The options follow the hosts, which follow the credentials, read as the client reads them
  // (user:password@, up to the first '@': a password may hold '?', an option value '@').
  const afterScheme = url.trim().replace(/^[a-z+]+:\/\//i, '');
  const credentials = /^[^:]+:[^@]+@/.exec(afterScheme);
  const hosts = credentials ? afterScheme.slice(credentials[0].length) : afterScheme;
  const query = hosts.includes('?') ? hosts.slice(hosts.indexOf('?') + 1) : '';
  for (const pair of query.split('&')) {
    const key = pair.split('=')[0] ?? '';
    if (key !== '' && !KNOWN_OPTIONS.has(flatOption(key))) {
      throw new InvalidArgumentError(setting, `"${key.slice(0, 40)}" is not an option the KurrentDB client reads (tls, tlsVerifyCert, tlsCAFile, connectionName, nodePreference, …): it would be ignored`);
    }
  }
  return url.trim();
}

/**
 * What each process knows of the site log, built by reading it in order: stream heads, where
 * each stream's events sit, and every event id (for idempotent retries). Appends are checked
 * against it at exactly the log revision they are conditioned on, which is what makes the
 * per-stream optimistic concurrency hold across writers. Memory grows with the log (about
 * 100 bytes an event): the documented limit of this layout.
 */
export class LogIndex {
  /** Events (and unreadable records) applied: the log's length, and the last CACO position. */
  count = 0;
  private readonly heads = new Map<string, { revision: number; hash: string }>();
  private readonly positions = new Map<string, number[]>();
  private readonly ids = new Map<string, number>();

  /**
   * Apply the next record of the log. One already applied is skipped (the log never changes
   * under a position, and a writer applies its own events while a read may bring them too);
   * one past the next is a gap, a bug.
   */
  apply(e: Envelope | UnreadableRecord): void {
    if (e.position <= this.count) return;
    if (e.position !== this.count + 1) throw new Error(`site log index: expected position ${this.count + 1}, got ${e.position}`);
    this.count = e.position;
    if ('unreadable' in e) return;
    this.heads.set(e.stream, { revision: e.revision, hash: e.hash });
    let list = this.positions.get(e.stream);
    if (!list) this.positions.set(e.stream, (list = []));
    list.push(e.position);
    this.ids.set(e.id, e.position);
  }

  head(stream: string): { revision: number; hash: string } | undefined {
    return this.heads.get(stream);
  }

  positionOfId(id: string): number | undefined {
    return this.ids.get(id);
  }

  /** Positions of a stream's events, in revision order. */
  positionsOf(stream: string): ReadonlyArray<number> {
    return this.positions.get(stream) ?? [];
  }

  /** Every stream's head, by stream name (byte order, as SQLite's ORDER BY). */
  allHeads(): Array<{ stream: string; revision: number; hash: string }> {
    return [...this.heads].map(([stream, h]) => ({ stream, revision: h.revision, hash: h.hash })).sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
  }
}

/**
 * Contiguous ranges of log positions to read for a sorted list of positions: positions closer
 * than `gap` share one read (fewer round trips; the extra records are skipped by the reader).
 */
export function readRanges(positions: ReadonlyArray<number>, gap = 256): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  for (const p of positions) {
    const last = out[out.length - 1];
    if (last && p - last.to <= gap) last.to = p;
    else out.push({ from: p, to: p });
  }
  return out;
}
