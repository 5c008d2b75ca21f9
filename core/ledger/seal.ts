import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { Keyring, PublicKeyDirectory } from './keyring.ts';
import { GENESIS_HASH, type Envelope, type NewEvent, type Sealable } from '../envelope.ts';
import { verify } from 'node:crypto';

export function sealableOf(e: Envelope | Sealable): Sealable {
  return {
    id: e.id,
    type: e.type,
    version: e.version,
    stream: e.stream,
    revision: e.revision,
    time: e.time,
    source: e.source,
    correlationId: e.correlationId,
    causationId: e.causationId,
    data: e.data,
    prevHash: e.prevHash,
  };
}

/** SHA-256 (hex) of the canonical JSON of the envelope without position, hash and sig. */
export function hashEvent(e: Envelope | Sealable): string {
  return createHash('sha256').update(canonicalJson(sealableOf(e))).digest('hex');
}

/**
 * Give a batch of new events their place in a stream: revisions from `lastRevision + 1`,
 * each `prevHash` the hash of the one before, then `hash` and the source's signature over it.
 * `position` is left at 0 for the store to fill in.
 */
export function sealBatch(
  stream: string,
  events: ReadonlyArray<NewEvent>,
  last: { revision: number; hash: string } | undefined,
  keyring: Keyring,
): Envelope[] {
  let prevHash = last?.hash ?? GENESIS_HASH;
  let revision = last ? last.revision : -1;
  return events.map((e) => {
    revision++;
    const sealable: Sealable = {
      id: e.id,
      type: e.type,
      version: e.version,
      stream,
      revision,
      time: e.time,
      source: e.source,
      correlationId: e.correlationId,
      causationId: e.causationId,
      data: e.data,
      prevHash,
    };
    const hash = hashEvent(sealable);
    const sig = keyring.sign(e.source, Buffer.from(hash, 'hex'));
    prevHash = hash;
    return { ...sealable, position: 0, hash, sig };
  });
}

/** Checks one event's own integrity: its hash and its signature. Returns the reason or null. */
export function checkEvent(e: Envelope, keys: PublicKeyDirectory): string | null {
  const expected = hashEvent(e);
  if (expected !== e.hash) return `hash mismatch: stored ${e.hash.slice(0, 12)}…, content hashes to ${expected.slice(0, 12)}…`;
  const key = keys.publicKey(e.source);
  if (!key) return `no public key for source "${e.source}"`;
  let ok = false;
  try {
    ok = verify(null, Buffer.from(e.hash, 'hex'), key, Buffer.from(e.sig, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? null : `bad signature by "${e.source}"`;
}

/** The ledger's head: one hash over every stream's last hash, independent of global order. */
export function ledgerHeadHash(heads: ReadonlyArray<{ stream: string; revision: number; hash: string }>): string {
  const h = createHash('sha256');
  for (const s of [...heads].sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0))) h.update(`${s.stream}:${s.revision}:${s.hash}\n`);
  return h.digest('hex');
}
