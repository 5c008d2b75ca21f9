import { ENVELOPE_ID, MAX_COVERS, STREAM_NAME, type NewEvent } from '../envelope/envelope.ts';
import { InvalidArgumentError } from '../errors/errors.ts';
import type { ExpectedRevision } from './event-store.ts';
import { assertPlainJson } from './plain-json.ts';
import { isValidSubject } from '../bus/subject.ts';

/** Printable ASCII without spaces, at most 200: kept byte for byte by every store's text column. */
const PRINTABLE_TYPE = /^[!-~]{1,200}$/;
/** A type the relay can publish on (caco.<site>.evt.<type>: the bus's own subject rule) and every store keeps as given. */
const isEventType = (type: string): boolean => PRINTABLE_TYPE.test(type) && isValidSubject(type, false);
const PRINTABLE_TIME = /^[ -~]{1,64}$/;
/** The largest schema version an event may carry (a signed 32-bit integer, as the stores keep it). */
export const MAX_EVENT_VERSION = 2 ** 31 - 1;

/** Argument checks shared by every adapter, so they all reject the same input the same way. */
export function validateAppend(stream: string, events: ReadonlyArray<NewEvent>, expected: ExpectedRevision): void {
  if (!STREAM_NAME.test(stream)) {
    throw new InvalidArgumentError('stream', `"${stream}" is not a valid stream name (letters, digits, "_", ":" and "-", at most 200, starting with a letter or digit)`);
  }
  if (events.length === 0) throw new InvalidArgumentError('events', 'append needs at least one event');
  // One append is one commit, sealed by one signature over its head, which covers at most
  // MAX_COVERS events: a longer one was stored, and every reader and the audit refused all of
  // it as 'not covered by a signature' (a helper's review: the grid agent's catch-up).
  if (events.length > MAX_COVERS) throw new InvalidArgumentError('events', `${events.length} events in one append; at most ${MAX_COVERS}, the most one commit's signature covers: append them in several commits`);
  if (!(expected === 'any' || expected === 'no-stream' || (Number.isInteger(expected) && expected >= 0))) {
    throw new InvalidArgumentError('expected', `must be "any", "no-stream" or a revision >= 0, got ${JSON.stringify(expected)}`);
  }
  const ids = new Set<string>();
  const token = (i: number, field: string, v: string) => {
    if (!ENVELOPE_ID.test(v)) throw new InvalidArgumentError(`events[${i}].${field}`, `must be 1 to 128 printable ASCII characters without spaces (got ${v.length} characters: ${JSON.stringify(v.slice(0, 40))})`);
  };
  events.forEach((e, i) => {
    if (typeof e.id !== 'string' || e.id.length === 0) throw new InvalidArgumentError(`events[${i}].id`, 'must be a non-empty string');
    token(i, 'id', e.id);
    if (ids.has(e.id)) throw new InvalidArgumentError(`events[${i}].id`, `"${e.id}" appears twice in one append`);
    ids.add(e.id);
    if (typeof e.type !== 'string' || !e.type) throw new InvalidArgumentError(`events[${i}].type`, 'must be a non-empty string');
    // The relay publishes each event on caco.<site>.evt.<type>: a type no subject can end with
    // would be stored, and then stop the relay at it for good (it retries a failed publish).
    if (!isEventType(e.type)) throw new InvalidArgumentError(`events[${i}].type`, `must be dot-separated tokens of printable ASCII without "*", ">" or spaces, at most 200 characters (got ${JSON.stringify(e.type.slice(0, 40))})`);
    // Every store keeps it in a 32-bit integer column (PostgreSQL's INTEGER refused a whole group for one).
    if (!Number.isInteger(e.version) || e.version < 1 || e.version > MAX_EVENT_VERSION) throw new InvalidArgumentError(`events[${i}].version`, `must be an integer from 1 to ${MAX_EVENT_VERSION}`);
    if (typeof e.source !== 'string' || !e.source) throw new InvalidArgumentError(`events[${i}].source`, 'must name the agent that decided the event');
    token(i, 'source', e.source);
    // The fields below are hashed as given and stored as JSON: anything that JSON would
    // change (a Date for a string, undefined for null) makes an event that fails its own audit.
    if (typeof e.time !== 'string' || !e.time) throw new InvalidArgumentError(`events[${i}].time`, 'must be a non-empty string (an ISO 8601 time)');
    // Stored in a text column as UTF-8: a NUL is refused by PostgreSQL (failing the whole group),
    // and a lone surrogate is stored as U+FFFD, so the event would no longer match its own hash.
    if (!PRINTABLE_TIME.test(e.time)) throw new InvalidArgumentError(`events[${i}].time`, `must be an ISO 8601 time: printable ASCII, at most 64 characters (got ${JSON.stringify(e.time.slice(0, 40))})`);
    if (typeof e.correlationId !== 'string') throw new InvalidArgumentError(`events[${i}].correlationId`, 'must be a string');
    token(i, 'correlationId', e.correlationId);
    if (e.causationId !== null && typeof e.causationId !== 'string') throw new InvalidArgumentError(`events[${i}].causationId`, 'must be a string, or null for an event nothing caused');
    if (e.causationId !== null) token(i, 'causationId', e.causationId);
    if (e.data === undefined) throw new InvalidArgumentError(`events[${i}].data`, 'must be a JSON value (null for none)');
    assertPlainJson(e.data, `events[${i}].data`);
  });
}

export function describeExpected(expected: ExpectedRevision): string {
  return typeof expected === 'number' ? `revision ${expected}` : expected;
}

/** True when a stream at `current` (undefined = no stream) satisfies `expected`. */
export function expectationHolds(expected: ExpectedRevision, current: number | undefined): boolean {
  if (expected === 'any') return true;
  if (expected === 'no-stream') return current === undefined;
  return current === expected;
}
