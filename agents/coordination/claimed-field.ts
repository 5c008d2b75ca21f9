/** How much of a body is looked at for what it claims: where a Beckn body's context is. */
export const CLAIMED_PREFIX_BYTES = 16 * 1024;

/**
 * What a (possibly unsigned) Beckn body claims in its context, read from its first 16 KB
 * without parsing it: the first `"<key>": "<string>"` after `"context"` (or anywhere, if the
 * prefix names no context), decoded on its own; 1 to 200 characters, else null. For routing
 * and the audit record only, before the signature is checked: parsing the whole body there (up
 * to 1 MiB, ~25 ms) made every sender without a key cost the site that much per request.
 */
export function claimedContextField(body: Uint8Array, key: string): string | null {
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, CLAIMED_PREFIX_BYTES)).toString('utf8');
  const at = text.indexOf('"context"');
  const m = new RegExp(`"${key}"\\s*:\\s*("(?:[^"\\\\]|\\\\.){0,1200}")`).exec(at >= 0 ? text.slice(at) : text);
  if (!m) return null;
  try {
    const v: unknown = JSON.parse(m[1]!);
    return typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : null;
  } catch {
    return null;
  }
}
