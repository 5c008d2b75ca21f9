import type { MessageDef, MessageOf } from '../../schemas/index.ts';

/**
 * The envelope every CACO message travels in. Stored events carry the ledger fields
 * (`prevHash`, `hash`, `sig`, and `covers` on a commit's signed head); `position` is assigned
 * by the store and is not hashed, because adapters number their global log differently (a
 * SQLite row id, a JetStream sequence) while the ledger's content must hash the same on every
 * stack.
 *
 * Signatures are per commit (docs/ledger.md): one append is one commit, and only its last
 * event carries `sig`, over its hash, which chains over every event before it. That event
 * says how many events the signature vouches for in `covers` (hashed, so the boundary
 * cannot be moved; absent when it covers only itself). The other events of the commit have
 * `sig: ''`. A ledger written before this (one signature per event, no `covers`) reads as a
 * ledger of one-event commits.
 */
/** A message's discriminant and payload: what a schema definition types (`MessageOf` in schemas/). */
export interface Message {
  readonly type: string;
  readonly data: unknown;
}

/** Every envelope field but the message's own `type` and `data`. */
export interface EnvelopeFields {
  readonly id: string;
  readonly version: number;
  readonly stream: string;
  readonly revision: number;
  readonly position: number;
  readonly time: string;
  readonly source: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly prevHash: string;
  readonly hash: string;
  /**
   * On a commit's signed head: how many events its signature vouches for (itself and the
   * `covers - 1` before it in the stream, all of its source). Absent (undefined) on every
   * other event, and on a head that covers only itself. Hashed.
   */
  readonly covers?: number | undefined;
  /** ed25519 signature (base64) of `hash` by the source's key; '' on an event its commit's head signs for. */
  readonly sig: string;
}

/**
 * A stored event. Generic over a union of messages (`Envelope<ComputeEvent>`), it is itself a
 * union that narrows on `type`: `if (e.type === 'compute.job.submitted') e.data.jobId`.
 */
export type Envelope<M extends Message = Message> = M extends Message ? EnvelopeFields & { readonly type: M['type']; readonly data: M['data'] } : never;

/**
 * A type guard for the events a reader handles: `const handles = isOneOf([JobSubmitted, JobPlanned])`,
 * then `if (handles(e)) switch (e.type) { … }` with `e.data` typed by each schema. It checks the
 * type name only, which is sound because no event reaches a reader unchecked: appends are
 * decoded against their schema by the runtime or the gateway before they are signed, reads
 * are verified (hash, chain, signature) before they are handed on, and older versions are
 * upgraded to the latest on read (schemas/upcasters.ts), so `data` has the latest shape.
 */
export function isOneOf<const Defs extends ReadonlyArray<MessageDef>>(defs: Defs): (e: Envelope) => e is Envelope<MessageOf<Defs[number]>> {
  const types = new Set<string>(defs.map((d) => d.type));
  return (e: Envelope): e is Envelope<MessageOf<Defs[number]>> => types.has(e.type);
}

/** What a decider hands to the store: the fields the store cannot know yet are absent. */
export interface NewEvent {
  readonly id: string;
  readonly type: string;
  readonly version: number;
  readonly time: string;
  readonly source: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly data: unknown;
}

/** The fields that are hashed: everything but `position`, `hash` and `sig` (`covers` is hashed). */
export type Sealable = Omit<Envelope, 'position' | 'hash' | 'sig'>;

export const GENESIS_HASH = '0'.repeat(64);

/** The most events one signature may cover: a JetStream commit holds at most 1,024 events. */
export const MAX_COVERS = 1024;

/** Stream names become NATS subject tokens, so they must not contain `.`, `*`, `>` or spaces. */
export const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_:-]{0,199}$/;

/**
 * An envelope's `id`, `source`, `correlationId` and `causationId`: 1 to 128 printable ASCII
 * characters without spaces, as the envelope schema decodes them (schemas/common.ts, Token).
 * They travel in NATS headers, logs and trace attributes, so nothing else is stored either: a
 * CR or LF in a header value made nats.js refuse every publish of that event.
 */
export const ENVELOPE_ID = /^[!-~]{1,128}$/;

/** `job-42` → `job`. A category groups the streams one agent owns. */
export function categoryOf(stream: string): string {
  const i = stream.indexOf('-');
  return i < 0 ? stream : stream.slice(0, i);
}
