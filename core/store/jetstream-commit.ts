/**
 * Pure pieces of the JetStream ledger: names, subjects, the commit message format and the
 * mapping from JetStream sequences to global positions. No I/O here.
 */
import { createHash } from 'node:crypto';
import type { Envelope } from '../envelope/envelope.ts';
import type { UnreadableRecord } from './event-store.ts';
import { CacoError, InvalidArgumentError } from '../errors/errors.ts';

/**
 * One commit message carries one append; its events get positions `seq * 1024 + index`, so
 * positions grow with the JetStream sequence and every event has its own position.
 */
export const POSITIONS_PER_COMMIT = 1024;

const SITE = /^[A-Za-z0-9_-]{1,64}$/;

export function assertSite(site: string): void {
  if (!SITE.test(site)) {
    throw new InvalidArgumentError('site', `"${site}" is not a valid site name (letters, digits, "_" and "-", at most 64): it becomes a NATS subject token and a stream name`);
  }
}

/** `london` → `CACO_LONDON`. */
export function ledgerStreamName(site: string): string {
  assertSite(site);
  return `CACO_${site.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

export function ledgerSubjectPrefix(site: string): string {
  assertSite(site);
  return `caco.${site}.ledger.`;
}

export function checkpointBucketName(site: string): string {
  assertSite(site);
  return `caco_${site}_checkpoints`;
}

/**
 * `london` → `CACO_LONDON-ANCHOR`: the site's anchor checkpoints (core/anchor), apart from the
 * ledger. A ledger stream's name never holds a `-`, so no site's ledger is another's anchor.
 */
export function anchorStreamName(site: string): string {
  return `${ledgerStreamName(site)}-ANCHOR`;
}

export function anchorSubject(site: string): string {
  assertSite(site);
  return `caco.${site}.anchor`;
}

export function quarantineBucketName(site: string): string {
  assertSite(site);
  return `caco_${site}_quarantine`;
}

export function positionOf(seq: number, index: number): number {
  return seq * POSITIONS_PER_COMMIT + index;
}

/** The JetStream sequence of the first commit that can hold an event after `position`. */
export function startSeqAfter(position: number): number {
  return Math.max(1, Math.floor(position / POSITIONS_PER_COMMIT));
}

/** The stored form of an event: everything but `position`, which the sequence gives. */
type StoredEvent = Omit<Envelope, 'position'>;

export function encodeCommit(events: ReadonlyArray<Envelope>): Uint8Array {
  // Written field by field (what JSON.stringify of the stored form gives, in the envelope's
  // field order): an append spends a visible share of its time here, and the object copy
  // and generic serialiser cost twice this.
  let out = '[';
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (i > 0) out += ',';
    out +=
      `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"version":${JSON.stringify(e.version)},"stream":${JSON.stringify(e.stream)},"revision":${JSON.stringify(e.revision)},` +
      `"time":${JSON.stringify(e.time)},"source":${JSON.stringify(e.source)},"correlationId":${JSON.stringify(e.correlationId)},"causationId":${JSON.stringify(e.causationId)},` +
      `${e.data === undefined ? '' : `"data":${JSON.stringify(e.data)},`}"prevHash":${JSON.stringify(e.prevHash)},"hash":${JSON.stringify(e.hash)},${e.covers !== undefined ? `"covers":${JSON.stringify(e.covers)},` : ''}"sig":${JSON.stringify(e.sig)}}`;
  }
  return Buffer.from(out + ']', 'utf8');
}

/** A message on a ledger subject that is not a commit written by this store. */
export class CorruptCommitError extends CacoError {
  override readonly _tag = 'CorruptCommitError';
  constructor(
    readonly streamName: string,
    readonly seq: number,
    reason: string,
    /** What is wrong at `seq`, as the message says it; by default a message that is no commit. */
    what = 'is not a CACO ledger commit',
  ) {
    super(`${streamName} message ${seq} ${what}: ${reason}`);
  }
}

/**
 * A table store's writer refuses to append on a row that does not verify (writer-heads.ts): a
 * CorruptCommitError to everything that handles one (a reader's subscription ends on it as on
 * a corrupt message), worded for what it is, a refused append and the row it was refused on,
 * not "a message that is not a commit".
 */
export class UnverifiedHeadError extends CorruptCommitError {
  constructor(ledger: string, position: number, reason: string) {
    super(ledger, position, reason, 'holds a row this writer will not append after');
    this.message = `${ledger}: append refused at position ${position}: ${reason}`;
  }
}

export function decodeCommit(streamName: string, seq: number, data: Uint8Array): Envelope[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (err) {
    throw new CorruptCommitError(streamName, seq, err instanceof Error ? err.message : String(err));
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > POSITIONS_PER_COMMIT) {
    throw new CorruptCommitError(streamName, seq, 'expected a JSON array of 1 to 1024 events');
  }
  const out: Envelope[] = new Array<Envelope>(parsed.length);
  for (let i = 0; i < parsed.length; i++) {
    const e = parsed[i] as StoredEvent | null;
    if (typeof e !== 'object' || e === null || typeof e.id !== 'string' || typeof e.stream !== 'string' || typeof e.revision !== 'number') {
      throw new CorruptCommitError(streamName, seq, `event ${i} lacks id, stream or revision`);
    }
    out[i] = {
      id: e.id,
      type: e.type,
      version: e.version,
      stream: e.stream,
      revision: e.revision,
      position: positionOf(seq, i),
      time: e.time,
      source: e.source,
      correlationId: e.correlationId,
      causationId: e.causationId,
      data: e.data,
      prevHash: e.prevHash,
      hash: e.hash,
      covers: e.covers,
      sig: e.sig,
    };
  }
  return out;
}

/**
 * `decodeCommit` for a reader that must go on: a message that is not a commit comes back as
 * an UnreadableRecord at the commit's first position, naming the ledger stream its subject
 * belongs to when `subject` is given.
 */
export function tryDecodeCommit(streamName: string, seq: number, data: Uint8Array, subject?: string, subjectPrefix?: string): Envelope[] | UnreadableRecord {
  try {
    return decodeCommit(streamName, seq, data);
  } catch (err) {
    if (!(err instanceof CorruptCommitError)) throw err;
    const stream = subject !== undefined && subjectPrefix !== undefined && subject.startsWith(subjectPrefix) ? subject.slice(subjectPrefix.length) : undefined;
    return {
      unreadable: true,
      position: positionOf(seq, 0),
      ...(stream !== undefined ? { stream } : {}),
      reason: err.message,
      bytes: data.byteLength,
      sha256: createHash('sha256').update(data).digest('hex'),
    };
  }
}

/**
 * Checkpoint names become KV keys. Safe names are kept as they are (readable with `nats kv`);
 * any other name is base64url-encoded behind a leading `=`, which no safe name starts with.
 */
export function checkpointKey(name: string): string {
  if (name.length === 0) throw new InvalidArgumentError('name', 'a checkpoint needs a non-empty name');
  if (/^[-_/A-Za-z0-9][-/_=.A-Za-z0-9]*$/.test(name) && !name.includes('..') && !name.endsWith('.')) return name;
  return `=${Buffer.from(name, 'utf8').toString('base64url')}`;
}

/** The checkpoint name a KV key stands for (the inverse of checkpointKey). */
export function checkpointNameOfKey(key: string): string {
  return key.startsWith('=') ? Buffer.from(key.slice(1), 'base64url').toString('utf8') : key;
}
