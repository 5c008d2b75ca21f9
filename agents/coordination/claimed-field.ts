/** How much of a body is looked at for what it claims: where a Beckn body's context is. */
export const CLAIMED_PREFIX_BYTES = 16 * 1024;

/**
 * What a (possibly unsigned) Beckn body claims in its context, read from its first 16 KB
 * without parsing it: for each key, the first `"<key>": "<string>"` after `"context"` (or
 * anywhere, if the prefix names no context), decoded on its own; 1 to 200 characters, else null.
 * For routing and the audit record only, before the signature is checked: parsing the whole body
 * there (up to 1 MiB, ~25 ms) made every sender without a key cost the site that much per request.
 */
export function claimedContextFields<K extends string>(body: Uint8Array, keys: ReadonlyArray<K>): Record<K, string | null> {
  const prefix = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, CLAIMED_PREFIX_BYTES)).toString('utf8');
  const at = prefix.indexOf('"context"');
  const text = at >= 0 ? prefix.slice(at) : prefix;
  const out = {} as Record<K, string | null>;
  for (const key of keys) out[key] = claimedString(text, key);
  return out;
}

function claimedString(text: string, key: string): string | null {
  const m = new RegExp(`"${key}"\\s*:\\s*("(?:[^"\\\\]|\\\\.){0,1200}")`).exec(text);
  if (!m) return null;
  try {
    const v: unknown = JSON.parse(m[1]!);
    return typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : null;
  } catch {
    return null;
  }
}
