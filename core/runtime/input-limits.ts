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
  if (hasNonFinite(value)) return { ok: false, reason: 'a number is too large for a 64-bit float', payload: summarizePayload(raw) };
  return { ok: true, value };
}

function hasNonFinite(v: unknown): boolean {
  // Iterative: the depth is bounded already, but a wide value should not cost stack either.
  const stack: unknown[] = [v];
  while (stack.length) {
    const x = stack.pop();
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) return true;
    } else if (x && typeof x === 'object') for (const y of Array.isArray(x) ? x : Object.values(x)) stack.push(y);
  }
  return false;
}

/** Text cut to at most `max` code points, with an ellipsis when cut; never splits a surrogate pair. */
export function truncateText(s: string, max: number): string {
  if (s.length <= max) return s;
  const cps = Array.from(s);
  return cps.length <= max ? s : `${cps.slice(0, Math.max(0, max - 1)).join('')}…`;
}
