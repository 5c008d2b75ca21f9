/**
 * What a store read an event from, kept beside the event (not in it) so the relay can publish
 * the stored bytes rather than serialise the event again, and can hand on the rest of its
 * commit (which vouches for an unsigned event) without reading it again. Pure: no I/O.
 *
 * Kept in a WeakMap keyed by the envelope object the store made: a copy (`{ ...e }`, an
 * upcast) has no stored form, so nothing stale can be published for it.
 *
 * What the map holds never refers to an envelope. V8's young-generation collector keeps a
 * WeakMap's values alive, so a value that reached its own key (a commit holding its decoded
 * events) kept every event a live subscription delivered alive through two collections. V8
 * then allocates envelopes at that site straight into the old generation ("pretenuring"), for
 * the life of the process: a JetStream replay after the relay had followed a burst spent
 * 6–10× the time in the collector (100–190 ms a pass over 60,000 events, against 15–25) and ran at ~95k
 * instead of ~150k events/s.
 */
import type { Envelope } from '../envelope/envelope.ts';

/** One JetStream commit message as stored, and the events decoded from it. */
export interface StoredCommit {
  readonly bytes: Uint8Array;
  readonly events: ReadonlyArray<Envelope>;
}

/** What is kept of a commit: its bytes and, per event, what finding its tail needs. */
interface CommitForm {
  readonly bytes: Uint8Array;
  /** Position of its first event; its events' positions follow on. */
  readonly first: number;
  readonly streams: ReadonlyArray<string>;
  /** Whether each event carries a signature (its commit's head, or a batch's). */
  readonly signed: ReadonlyArray<boolean>;
  /** Each event's relayed JSON, made when first asked for: every event of a commit is in the proof of each event before it. */
  json: Array<string | undefined> | undefined;
  /** Where each event lies in `bytes`, found once for the commit; null when the bytes are not shaped so. */
  spans: Array<{ start: number; end: number }> | null | undefined;
}

const forms = new WeakMap<Envelope, CommitForm>();

export function keepStoredCommit(c: StoredCommit): void {
  const n = c.events.length;
  if (n === 0) return;
  const streams = new Array<string>(n);
  const signed = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    streams[i] = c.events[i]!.stream;
    signed[i] = c.events[i]!.sig !== '';
  }
  const form: CommitForm = { bytes: c.bytes, first: c.events[0]!.position, streams, signed, json: undefined, spans: undefined };
  for (let i = 0; i < n; i++) {
    // Positions of a commit follow on (decodeCommit); a list that does not is not kept.
    if (c.events[i]!.position !== form.first + i) return;
  }
  for (const e of c.events) forms.set(e, form);
}

/** `e`'s commit form and its index there, when the store kept one for this very object. */
function commitFormOf(e: Envelope): { form: CommitForm; index: number } | undefined {
  const f = forms.get(e);
  if (f === undefined) return undefined;
  const index = e.position - f.first;
  if (!(index >= 0 && index < f.streams.length) || f.streams[index] !== e.stream) return undefined;
  return { form: f, index };
}

/**
 * The relayed JSON (see relayBytes) of the events after `e` in its commit, up to its signed
 * head, when the store read them together (a JetStream message); undefined when it cannot
 * tell.
 */
export function commitTailJson(e: Envelope): string[] | undefined {
  const at = commitFormOf(e);
  if (at === undefined) return undefined;
  const { form, index } = at;
  const out: string[] = [];
  for (let k = index + 1; k < form.streams.length; k++) {
    if (form.streams[k] !== e.stream) break;
    const json = relayedJsonAt(form, k);
    if (json === undefined) return undefined;
    out.push(json);
    if (form.signed[k]) break;
  }
  return out;
}

/** Event `k` of a commit as the relay publishes it, as text, kept on the form for the commit's other proofs. */
function relayedJsonAt(form: CommitForm, k: number): string | undefined {
  const json = (form.json ??= new Array<string | undefined>(form.streams.length));
  const kept = json[k];
  if (kept !== undefined) return kept;
  const span = spansOf(form)?.[k];
  if (span === undefined) return undefined;
  const made = `{"position":${form.first + k},` + Buffer.from(form.bytes.buffer, form.bytes.byteOffset + span.start + 1, span.end - span.start - 1).toString('utf8');
  json[k] = made;
  return made;
}

function spansOf(form: CommitForm): ReadonlyArray<{ start: number; end: number }> | null {
  if (form.spans === undefined) form.spans = elementSpans(form.bytes, form.streams.length) ?? null;
  return form.spans;
}

/**
 * The envelope as the relay publishes it: `{"position":…,` then the event exactly as stored
 * (a JetStream commit's bytes for it); otherwise (SQLite, PostgreSQL, a copy) JSON.stringify of
 * the event as read. A SQLite or PostgreSQL row's data text is not published as stored: the
 * hash is over the parsed value, so text that parses to the same value but says more (a key
 * given twice, a number past a double's digits) verified, and a reader that keeps the first key
 * or every digit read what the signer never signed.
 */
export function relayBytes(e: Envelope): Uint8Array {
  const at = commitFormOf(e);
  if (at !== undefined) {
    const { form, index } = at;
    const kept = form.json?.[index];
    if (kept !== undefined) return Buffer.from(kept, 'utf8');
    const span = form.streams.length === 1 ? onlyElement(form.bytes) : spansOf(form)?.[index];
    if (span) {
      const head = `{"position":${e.position},`;
      const out = Buffer.allocUnsafe(head.length + span.end - span.start - 1);
      out.write(head, 0, 'latin1');
      // The stored object without its opening brace.
      out.set(form.bytes.subarray(span.start + 1, span.end), head.length);
      return out;
    }
  }
  return Buffer.from(JSON.stringify(e), 'utf8');
}

/** `[{…}]` exactly, as this store writes a one-event commit: the object's span without a scan. */
function onlyElement(b: Uint8Array): { start: number; end: number } | undefined {
  const n = b.length;
  if (n >= 4 && b[0] === OPEN_BRACKET && b[1] === OPEN_BRACE && b[n - 2] === CLOSE_BRACE && b[n - 1] === 0x5d) return { start: 1, end: n - 1 };
  return elementSpans(b, 1)?.[0];
}

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * Where the first `count` elements of a JSON array of objects lie in `bytes` (each [start,
 * end), from its `{` to just after its `}`); undefined if the bytes are not shaped so. One
 * pass, tracking strings and depth: cheaper than serialising the events again.
 */
export function elementSpans(bytes: Uint8Array, count: number): Array<{ start: number; end: number }> | undefined {
  const out: Array<{ start: number; end: number }> = [];
  if (count <= 0) return out;
  let i = 0;
  const n = bytes.length;
  while (i < n && bytes[i] !== OPEN_BRACKET) i++;
  i++;
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
    out.push({ start, end: i });
    if (out.length === count) return out;
  }
  return undefined;
}
