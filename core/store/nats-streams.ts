import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';

/** A server code, not a message: `wrong last sequence: N` (an expected-sequence publish lost). */
export const WRONG_LAST_SEQUENCE = 10071;

export function isStreamNotFound(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return code === 10059 || err.constructor.name === 'StreamNotFoundError' || /stream not found/i.test(err.message);
}

/** The stream behind a KV bucket, named as the NATS KV API names it, so `nats kv get` reads it. */
export function kvStream(bucket: string): { readonly name: string; readonly prefix: string } {
  return { name: `KV_${bucket}`, prefix: `$KV.${bucket}.` };
}

/**
 * Make sure a stream exists: look first (a reader with no right to create still gets on), add
 * it when missing, and accept another process having added it between the look and the add.
 * Returns false, creating nothing, when it is missing and `create` is false.
 */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, create = true): Promise<boolean> {
  try {
    await jsm.streams.info(config.name);
    return true;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  if (!create) return false;
  try {
    await jsm.streams.add(config);
  } catch (err) {
    if (/already in use|exists/i.test(err instanceof Error ? err.message : '')) return true;
    // Another process may have added it between the look and the add: a 2.9 server then answers
    // the loser "subjects overlap with an existing stream" (seen with four stores of one site
    // opening at once). If the stream of this name is there now, that is what was wanted;
    // otherwise the error stands (another stream does hold the subjects).
    try {
      await jsm.streams.info(config.name);
      return true;
    } catch {
      throw err;
    }
  }
  return true;
}
