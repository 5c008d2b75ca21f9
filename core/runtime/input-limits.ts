import { createHash } from 'node:crypto';

/**
 * Bounds on what an outsider can hand the site in one message. They are checked on the raw
 * bytes, before `JSON.parse` builds anything: a body nested thousands of levels deep parses
 * fine but overflows the stack of every recursive walk after it (canonical JSON, the schema
 * decoder, `JSON.stringify`), and a megabyte-long field used to end up on the ledger whole.
 */
export interface InputLimits {
  /** Largest accepted message, in bytes of UTF-8. */
  readonly maxBytes: number;
  /** Deepest accepted nesting of JSON objects and arrays (the top-level value is depth 1). */
  readonly maxDepth: number;
  /**
   * Refuse what I-JSON (RFC 8785) forbids: a member name twice in one object, a lone surrogate.
   * Default true: for what outsiders hand the site. False for relayed ledger events, which were
   * stored and signed as they are: a bus-fed agent must get what a store-fed one gets.
   */
  readonly iJson?: boolean;
}

export const DEFAULT_COMMAND_LIMITS: InputLimits = { maxBytes: 64 * 1024, maxDepth: 32 };

/** What is kept of a refused input: its size and hash, never its content. */
export interface PayloadSummary {
  readonly bytes: number;
  readonly sha256: string;
}

export type BoundedJson = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string; readonly payload: PayloadSummary };

export function summarizePayload(raw: Uint8Array | string): PayloadSummary {
  const buf = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  return { bytes: buf.byteLength, sha256: createHash('sha256').update(buf).digest('hex') };
}

/**
 * The nesting depth of a JSON text, scanning at most until it passes `limit` (so a hostile
 * input costs one linear pass and no recursion). Brackets inside strings do not count.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Parse JSON from the bus or HTTP within the limits; a refusal says which limit and why. */
export function parseBoundedJson(raw: Uint8Array | string, limits: InputLimits): BoundedJson {
  const bytes = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.byteLength;
  if (bytes > limits.maxBytes) {
    return { ok: false, reason: `too large: ${bytes} bytes, the limit is ${limits.maxBytes}`, payload: summarizePayload(raw) };
  }
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  const depth = jsonDepth(text, limits.maxDepth);
  if (depth > limits.maxDepth) {
    return { ok: false, reason: `nested too deep: more than ${limits.maxDepth} levels of objects and arrays`, payload: summarizePayload(raw) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `malformed JSON: ${(err as Error).message.slice(0, 200)}`, payload: summarizePayload(raw) };
  }
  // `1e999` is valid JSON that parses to Infinity, which nothing downstream can hash or send on.
  // Looked for in the value, not guessed from the text: `1` and 250 zeros then `.0e99` overflows
  // too (a pattern on the text let it through). The walk is linear in a value already bounded.
  const iJson = limits.iJson !== false;
  const problem = valueProblem(value, iJson) ?? (iJson ? duplicateKeyProblem(text) : undefined);
  if (problem) return { ok: false, reason: problem, payload: summarizePayload(raw) };
  return { ok: true, value };
}

/**
 * What RFC 8785 (I-JSON) forbids and JSON.parse lets through, which the site would otherwise
 * sign and store: readers in other languages then see something else. `"\ud800"` parsed to a
 * lone surrogate, which Go reads as U+FFFD, so a Go reader's hash of the stored event differed.
 */
function valueProblem(v: unknown, iJson: boolean): string | undefined {
  // Iterative: the depth is bounded already, but a wide value should not cost stack either.
  const stack: unknown[] = [v];
  while (stack.length) {
    const x = stack.pop();
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) return 'a number is too large for a 64-bit float';
    } else if (typeof x === 'string') {
      if (iJson && LONE_SURROGATE.test(x)) return 'a string holds a lone UTF-16 surrogate (\\ud800–\\udfff not in a pair): not Unicode text (RFC 8785, I-JSON)';
    } else if (Array.isArray(x)) for (const y of x) stack.push(y);
    else if (x && typeof x === 'object') {
      for (const [k, y] of Object.entries(x)) {
        if (iJson && LONE_SURROGATE.test(k)) return 'a member name holds a lone UTF-16 surrogate: not Unicode text (RFC 8785, I-JSON)';
        stack.push(y);
      }
    }
  }
  return undefined;
}

// With the u flag a pair is one code point above U+FFFF: only an unpaired half matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * A member name given twice in one object, in a text JSON.parse has accepted. JSON.parse keeps
 * the last, and so did the site's signature check; a gateway or logger in another language that
 * keeps the first saw a different fact from the one the site signed off on. One linear pass.
 */
export function duplicateKeyProblem(text: string): string | undefined {
  // One frame per open object (its names so far) or array (null); `key` is true where the next
  // string is a member name: after `{` or after `,` inside an object.
  const frames: Array<Set<string> | null> = [];
  let key = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c) {
          escaped = true;
          i++;
        }
      }
      if (key) {
        const names = frames[frames.length - 1]!;
        // Only a name with an escape needs decoding ("a\u0062" is "ab").
        const name = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
        if (names.has(name)) return `member name ${JSON.stringify(name.slice(0, 64))} appears twice in one object (RFC 8785, I-JSON): send each name once`;
        names.add(name);
        key = false;
      }
    } else if (c === 0x7b) {
      frames.push(new Set());
      key = true;
    } else if (c === 0x5b) {
      frames.push(null);
      key = false;
    } else if (c === 0x7d || c === 0x5d) {
      frames.pop();
      key = false;
    } else if (c === 0x2c) key = frames[frames.length - 1] != null;
  }
  return undefined;
}

/** Text cut to at most `max` code points, with an ellipsis when cut; never splits a surrogate pair. */
export function truncateText(s: string, max: number): string {
  if (s.length <= max) return s;
  const cps = Array.from(s);
  return cps.length <= max ? s : `${cps.slice(0, Math.max(0, max - 1)).join('')}…`;
}
