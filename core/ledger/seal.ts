import * as nodeCrypto from 'node:crypto';
import { createHash, verify } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { Keyring } from './keyring.ts';
import { keysOf, type KeyResolver } from './key-resolver.ts';
import type { SignatureCache } from './signature-cache.ts';
import { planSignatures, signedMessage } from './batch-signature.ts';
import { GENESIS_HASH, MAX_COVERS, type Envelope, type NewEvent, type Sealable } from '../envelope/envelope.ts';

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
    ...(e.covers !== undefined ? { covers: e.covers } : {}),
  };
}

/**
 * `canonicalJson(sealableOf(e))` without building the intermediate object: the sealable
 * fields are fixed, so they are written in their sorted order (causationId … version), each
 * value through canonicalJson and an undefined one left out, exactly as the generic encoder
 * does. test/perf checks the two agree byte for byte.
 */
export function sealableJson(e: Envelope | Sealable): string {
  let out = '{';
  if (e.causationId !== undefined) out += '"causationId":' + canonicalJson(e.causationId) + ',';
  if (e.correlationId !== undefined) out += '"correlationId":' + canonicalJson(e.correlationId) + ',';
  if (e.covers !== undefined) out += '"covers":' + canonicalJson(e.covers) + ',';
  if (e.data !== undefined) out += '"data":' + canonicalJson(e.data) + ',';
  if (e.id !== undefined) out += '"id":' + canonicalJson(e.id) + ',';
  if (e.prevHash !== undefined) out += '"prevHash":' + canonicalJson(e.prevHash) + ',';
  if (e.revision !== undefined) out += '"revision":' + canonicalJson(e.revision) + ',';
  if (e.source !== undefined) out += '"source":' + canonicalJson(e.source) + ',';
  if (e.stream !== undefined) out += '"stream":' + canonicalJson(e.stream) + ',';
  if (e.time !== undefined) out += '"time":' + canonicalJson(e.time) + ',';
  if (e.type !== undefined) out += '"type":' + canonicalJson(e.type) + ',';
  if (e.version !== undefined) out += '"version":' + canonicalJson(e.version) + ',';
  return out.length === 1 ? '{}' : out.slice(0, -1) + '}';
}

/** One-shot hashing (Node >= 20.12) skips the Hash object; older 20.x falls back to it. */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

function sha256Hex(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
}

/** SHA-256 (hex) of the canonical JSON of the envelope without position, hash and sig. */
export function hashEvent(e: Envelope | Sealable): string {
  return sha256Hex(sealableJson(e));
}

/**
 * Give a batch of new events (one commit) their place in a stream: revisions from
 * `lastRevision + 1`, each `prevHash` the hash of the one before, `covers` on each event that
 * will carry a signature (see `signsFor`), and `hash` — everything but the signature, which
 * is left '' for the caller to fill in on those events (at once with `sealBatch`, or later
 * from a signing worker). `position` is left at 0 for the store to fill in.
 */
export function hashBatch(
  stream: string,
  events: ReadonlyArray<NewEvent>,
  last: { revision: number; hash: string } | undefined,
): Envelope[] {
  let prevHash = last?.hash ?? GENESIS_HASH;
  let revision = last ? last.revision : -1;
  const out = new Array<Envelope>(events.length);
  let spanStart = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    revision++;
    // A commit is signed once, by its last event. A commit whose events come from several
    // sources (rare: one decision speaks for one agent) gets one signature per run of one
    // source, since a signature proves only its own source's events.
    const endsSpan = i === events.length - 1 || events[i + 1]!.source !== e.source;
    const covers = endsSpan && i > spanStart ? i - spanStart + 1 : undefined;
    if (endsSpan) spanStart = i + 1;
    // Built in the stores' field order, so every envelope shares one object shape.
    const sealed = {
      id: e.id,
      type: e.type,
      version: e.version,
      stream,
      revision,
      position: 0,
      time: e.time,
      source: e.source,
      correlationId: e.correlationId,
      causationId: e.causationId,
      data: e.data,
      prevHash,
      hash: '',
      covers,
      sig: '',
    };
    sealed.hash = hashEvent(sealed);
    prevHash = sealed.hash;
    out[i] = sealed;
  }
  return out;
}

/**
 * Whether `sealed[i]` of a hashed commit carries a signature: the commit's last event, and
 * the last of each run of one source before it. The others are vouched for by it. It reads
 * only sources, so it answers for the events of an append before they are hashed too.
 */
export function signsFor(sealed: ReadonlyArray<{ readonly source: string }>, i: number): boolean {
  return i === sealed.length - 1 || sealed[i + 1]!.source !== sealed[i]!.source;
}

/**
 * The seal every store calls for one append (one commit): `hashBatch`, then one ed25519
 * signature by the source's key over the hash of the commit's last event (its head), which
 * chains over the rest. With a store that signs elsewhere (a worker), call `hashBatch`, sign
 * each event `signsFor` picks, and put the signature in its `sig`.
 */
export function sealBatch(
  stream: string,
  events: ReadonlyArray<NewEvent>,
  last: { revision: number; hash: string } | undefined,
  keyring: Keyring,
): Envelope[] {
  const out = hashBatch(stream, events, last);
  signHeads(headsOf([out]), keyring);
  return out;
}

/** The events of hashed commits that carry a signature (see `signsFor`), in order. */
export function headsOf(commits: ReadonlyArray<ReadonlyArray<Envelope>>): Envelope[] {
  const heads: Envelope[] = [];
  for (const sealed of commits) for (let i = 0; i < sealed.length; i++) if (signsFor(sealed, i)) heads.push(sealed[i]!);
  return heads;
}

/**
 * Signs hashed heads in place, here: the heads of one source share one signature over a
 * Merkle root of their hashes, at most MAX_BATCH to a signature (batch-signature.ts); a head
 * alone is signed over its hash. A store that seals several commits together (a group
 * commit) calls this once for all of them.
 */
export function signHeads(heads: ReadonlyArray<Envelope>, keyring: Keyring): void {
  if (heads.length === 0) return;
  const plan = planSignatures(heads);
  const sigs = plan.finish(plan.requests.map((r) => keyring.sign(r.source, r.message)));
  for (let i = 0; i < heads.length; i++) (heads[i] as { sig: string }).sig = sigs[i]!;
}

/**
 * The old seal, one signature per event (every ledger before commit signatures): kept so the
 * tests can build such a ledger and show it still verifies. Not for new appends.
 */
export function sealBatchPerEvent(
  stream: string,
  events: ReadonlyArray<NewEvent>,
  last: { revision: number; hash: string } | undefined,
  keyring: Keyring,
): Envelope[] {
  let prev = last;
  const out: Envelope[] = [];
  for (const e of events) {
    const [one] = sealBatch(stream, [e], prev, keyring);
    out.push(one!);
    prev = one;
  }
  return out;
}

/**
 * Checks one event's own integrity: its hash and its signature. Returns the reason or null.
 * With a cache, a (hash, signature) pair verified before is not verified again. An event
 * whose commit's head signs for it (`sig: ''`) cannot be proven alone: see ChainVerifier,
 * or `checkWithCommit` for an event that travels with the rest of its commit.
 */
export function checkEvent(e: Envelope, keys: KeyResolver, cache?: SignatureCache): string | null {
  const own = checkHash(e);
  if (own) return own;
  if (e.sig === '') return 'unsigned: its commit\'s signed head must vouch for it, and it came alone';
  return checkSignature(e, keys, cache);
}

/** An event's shape and hash: everything that can be checked without its commit. Returns the reason or null. */
export function checkHash(e: Envelope): string | null {
  const shape = shapeProblem(e);
  if (shape) return shape;
  let expected: string;
  try {
    expected = hashEvent(e);
  } catch (err) {
    return `data: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (expected !== e.hash) return `hash mismatch: stored ${e.hash.slice(0, 12)}…, content hashes to ${expected.slice(0, 12)}…`;
  return null;
}

/** The signature of a signed event (a commit's head), by a registered key of its source, over its hash. Returns the reason or null. */
export function checkSignature(e: Envelope, keys: KeyResolver, cache?: SignatureCache): string | null {
  // A plain signature is over the hash; a batch signature over its batch's root, which the
  // head's own inclusion proof leads to (batch-signature.ts). Every head of a batch shares
  // that root, so after the first the cache answers for the rest.
  const signed = signedMessage(e.hash, e.sig);
  if (typeof signed === 'string') return signed;
  if (cache?.has(signed.messageHex, signed.sig)) return null;
  const candidates = keysOf(keys, e.source);
  if (candidates.length === 0) return `no registered key for source "${e.source.slice(0, 64)}"`;
  const sig = Buffer.from(signed.sig, 'base64');
  for (const key of candidates) {
    try {
      if (verify(null, signed.message, key, sig)) {
        cache?.add(signed.messageHex, signed.sig);
        return null;
      }
    } catch {
      // A malformed signature or key is a failed check, not an error of the reader.
    }
  }
  return `bad signature: not signed by a registered key of "${e.source.slice(0, 64)}"`;
}

/**
 * What a decoded commit can get wrong before any hash is taken: a ledger message is written
 * by whoever can publish on its subject, so no field can be assumed to be there.
 */
function shapeProblem(e: Envelope): string | null {
  if (typeof e.id !== 'string' || e.id.length === 0) return 'id: missing or not a string';
  if (typeof e.type !== 'string' || e.type.length === 0) return 'type: missing or not a string';
  if (!Number.isInteger(e.version)) return 'version: not an integer';
  if (typeof e.stream !== 'string' || e.stream.length === 0) return 'stream: missing or not a string';
  if (!Number.isInteger(e.revision) || e.revision < 0) return 'revision: not an integer >= 0';
  if (typeof e.time !== 'string') return 'time: not a string';
  if (typeof e.source !== 'string' || e.source.length === 0) return 'source: missing or not a string';
  if (typeof e.correlationId !== 'string') return 'correlationId: not a string';
  if (e.causationId !== null && typeof e.causationId !== 'string') return 'causationId: not a string or null';
  if (typeof e.prevHash !== 'string' || !/^[0-9a-f]{64}$/.test(e.prevHash)) return 'prevHash: not 64 hex digits';
  if (typeof e.hash !== 'string' || !/^[0-9a-f]{64}$/.test(e.hash)) return 'hash: not 64 hex digits';
  if (typeof e.sig !== 'string') return 'sig: missing or not a string';
  if (e.covers !== undefined && (!Number.isInteger(e.covers) || e.covers < 1 || e.covers > MAX_COVERS)) return `covers: not an integer from 1 to ${MAX_COVERS}`;
  // Only a signature can close a commit: a `covers` without one is a head with its signature taken off.
  if (e.covers !== undefined && e.sig.length === 0) return 'sig: missing on the head of a commit (it has covers)';
  return null;
}

/** The ledger's head: one hash over every stream's last hash, independent of global order. */
export function ledgerHeadHash(heads: ReadonlyArray<{ stream: string; revision: number; hash: string }>): string {
  const h = createHash('sha256');
  for (const s of [...heads].sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0))) h.update(`${s.stream}:${s.revision}:${s.hash}\n`);
  return h.digest('hex');
}
