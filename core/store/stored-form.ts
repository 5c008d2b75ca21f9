/**
 * What a store read an event from, kept beside the event (not in it) so the relay can publish
 * the stored bytes rather than serialise the event again, and can hand on the rest of its
 * commit (which vouches for an unsigned event) without reading it again. Pure: no I/O.
 *
 * Kept in a WeakMap keyed by the envelope object the store made: a copy (`{ ...e }`, an
 * upcast) has no stored form, so nothing stale can be published for it.
 */
import type { Envelope } from '../envelope/envelope.ts';

/** One JetStream commit message as stored, and the events decoded from it. */
export interface StoredCommit {
  readonly bytes: Uint8Array;
  readonly events: ReadonlyArray<Envelope>;
}

/** A commit's message (JetStream), or the stored JSON of the event's data (SQLite's column). */
type StoredForm = StoredCommit | string;

const forms = new WeakMap<Envelope, StoredForm>();

export function keepStoredCommit(c: StoredCommit): void {
  for (const e of c.events) forms.set(e, c);
}

export function keepStoredData(e: Envelope, dataJson: string): void {
  forms.set(e, dataJson);
}

/**
 * The events after `e` in its commit, up to its signed head, when the store read them
 * together (a JetStream message); undefined when it cannot tell.
 */
export function commitTailOf(e: Envelope): ReadonlyArray<Envelope> | undefined {
  const f = forms.get(e);
  if (f === undefined || typeof f === 'string') return undefined;
  const i = f.events.indexOf(e);
  if (i < 0) return undefined;
  const out: Envelope[] = [];
  for (let k = i + 1; k < f.events.length; k++) {
    const x = f.events[k]!;
    if (x.stream !== e.stream) break;
    out.push(x);
    if (x.sig !== '') break;
  }
  return out;
}

/**
 * The envelope as the relay publishes it: `{"position":…,` then the event exactly as stored
 * (a JetStream commit's bytes for it), or, from SQLite, its fields around the stored data
 * JSON. Falls back to JSON.stringify for an event with no stored form.
 */
export function relayBytes(e: Envelope): Uint8Array {
  const f = forms.get(e);
  if (f !== undefined) {
    if (typeof f === 'string') return Buffer.from(envelopeJsonWithData(e, f), 'utf8');
    const span = f.events.length === 1 ? onlyElement(f.bytes) : spanOf(f, e);
    if (span) {
      const head = `{"position":${e.position},`;
      const out = Buffer.allocUnsafe(head.length + span.end - span.start - 1);
      out.write(head, 0, 'latin1');
      // The stored object without its opening brace.
      out.set(f.bytes.subarray(span.start + 1, span.end), head.length);
      return out;
    }
  }
  return Buffer.from(JSON.stringify(e), 'utf8');
}

function spanOf(f: StoredCommit, e: Envelope): { start: number; end: number } | undefined {
  const i = f.events.indexOf(e);
  return i < 0 ? undefined : elementSpan(f.bytes, i);
}

/** `[{…}]` exactly, as this store writes a one-event commit: the object's span without a scan. */
function onlyElement(b: Uint8Array): { start: number; end: number } | undefined {
  const n = b.length;
  if (n >= 4 && b[0] === OPEN_BRACKET && b[1] === OPEN_BRACE && b[n - 2] === CLOSE_BRACE && b[n - 1] === 0x5d) return { start: 1, end: n - 1 };
  return elementSpan(b, 0);
}

/** The envelope's JSON with `data` as stored (no parse and re-serialise of the payload). */
function envelopeJsonWithData(e: Envelope, dataJson: string): string {
  return (
    `{"position":${e.position},"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"version":${e.version},"stream":${JSON.stringify(e.stream)},"revision":${e.revision},` +
    `"time":${JSON.stringify(e.time)},"source":${JSON.stringify(e.source)},"correlationId":${JSON.stringify(e.correlationId)},"causationId":${e.causationId === null ? 'null' : JSON.stringify(e.causationId)},` +
    `"data":${dataJson},"prevHash":"${e.prevHash}","hash":"${e.hash}",${e.covers !== undefined ? `"covers":${e.covers},` : ''}"sig":${JSON.stringify(e.sig)}}`
  );
}

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * Where element `index` of a JSON array of objects lies in `bytes` ([start, end), from its
 * `{` to just after its `}`); undefined if the bytes are not shaped so. One pass, tracking
 * strings and depth: cheaper than serialising the event again.
 */
export function elementSpan(bytes: Uint8Array, index: number): { start: number; end: number } | undefined {
  let i = 0;
  const n = bytes.length;
  while (i < n && bytes[i] !== OPEN_BRACKET) i++;
  i++;
  let k = 0;
  while (i < n) {
    // Skip whitespace and commas between elements.
    while (i < n && bytes[i] !== OPEN_BRACE) {
      const c = bytes[i]!;
      if (c !== COMMA && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return undefined;
      i++;
    }
    if (i >= n) return undefined;
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = bytes[i]!;
      if (inString) {
        if (c === BACKSLASH) i++;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === 0x5d) {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) return undefined;
    if (k === index) return { start, end: i };
    k++;
  }
  return undefined;
}
