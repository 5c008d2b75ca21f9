/**
 * Anchor checkpoints: signed statements of the whole ledger's head, kept outside the ledger.
 * Pure: hashing, sealing and checking a chain of checkpoints; no I/O.
 */
import { createHash, verify } from 'node:crypto';
import { GENESIS_HASH } from '../envelope/envelope.ts';
import { canonicalJson } from '../ledger/canonical-json.ts';
import type { PublicKeyDirectory } from '../ledger/keyring.ts';

export const ANCHOR_FORMAT = 'caco-anchor/1';

/**
 * The key that signs anchors. It is not an agent's key: an agent's key (or whoever holds it)
 * can re-seal a changed event, and must not be able to re-sign the anchor that reveals it.
 */
export const ANCHOR_SIGNER = 'site-anchor';

/** What the ledger looked like at one global position. */
export interface LedgerSnapshot {
  /** Global position of the last event covered (0 for an empty ledger). */
  readonly position: number;
  /** Events up to and including `position`. */
  readonly events: number;
  readonly streams: number;
  /** `ledgerHeadHash`: every stream's (name, last revision, last hash), sorted by name. */
  readonly headsHash: string;
  /** Running hash over every event's (position, hash) in position order: the global order. */
  readonly logHash: string;
}

export interface AnchorCheckpoint extends LedgerSnapshot {
  readonly format: typeof ANCHOR_FORMAT;
  readonly site: string;
  /** 1, 2, 3 … in the order written. */
  readonly seq: number;
  /** When it was written (ISO 8601, from the writer's clock). */
  readonly time: string;
  /** `headRoot` of the snapshot: the one value to copy somewhere safe and pass to `--expect-head`. */
  readonly root: string;
  /** `hash` of the checkpoint before (GENESIS_HASH for the first): the anchors are a chain too. */
  readonly prev: string;
  readonly signer: string;
  /** SHA-256 of the canonical JSON of every field above. */
  readonly hash: string;
  /** ed25519 signature (base64) of the hash bytes by `signer`. */
  readonly sig: string;
}

export type UnsealedCheckpoint = Omit<AnchorCheckpoint, 'hash' | 'sig' | 'root' | 'format'>;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Next link of the global-order chain; the empty ledger's log hash is GENESIS_HASH. */
export function nextLogHash(prev: string, position: number, hash: string): string {
  return sha256(`${prev}:${position}:${hash}`);
}

/** One value for a snapshot: the heads of every stream, the global order, the count and the position. */
export function headRoot(s: LedgerSnapshot): string {
  return sha256(`caco-head/1\n${s.position}\n${s.events}\n${s.streams}\n${s.headsHash}\n${s.logHash}`);
}

function checkpointHash(c: Omit<AnchorCheckpoint, 'hash' | 'sig'>): string {
  return sha256(
    canonicalJson({
      format: c.format,
      site: c.site,
      seq: c.seq,
      time: c.time,
      position: c.position,
      events: c.events,
      streams: c.streams,
      headsHash: c.headsHash,
      logHash: c.logHash,
      root: c.root,
      prev: c.prev,
      signer: c.signer,
    }),
  );
}

/** Fill in format, root and hash, then sign the hash bytes with `sign`. */
export function sealCheckpoint(c: UnsealedCheckpoint, sign: (hashBytes: Uint8Array) => string): AnchorCheckpoint {
  const body = { format: ANCHOR_FORMAT, ...c, root: headRoot(c) } as const;
  const hash = checkpointHash(body);
  return { ...body, hash, sig: sign(Buffer.from(hash, 'hex')) };
}

export interface ChainCheck {
  /** The checkpoints before the first bad one: the ones a ledger can be held to. */
  readonly valid: ReadonlyArray<AnchorCheckpoint>;
  /** Why the chain stops being trustworthy, if it does. */
  readonly problem?: string;
}

/**
 * Check the anchor itself: each checkpoint well formed, numbered in order, linked to the one
 * before, its root and hash recomputing, signed by the anchor key, and never going backwards.
 */
export function checkAnchorChain(items: ReadonlyArray<unknown>, keys: PublicKeyDirectory): ChainCheck {
  const valid: AnchorCheckpoint[] = [];
  const key = keys.publicKey(ANCHOR_SIGNER);
  let prev: AnchorCheckpoint | undefined;
  for (let i = 0; i < items.length; i++) {
    const c = items[i];
    const n = i + 1;
    const bad = (why: string): ChainCheck => ({ valid, problem: `anchor checkpoint #${n}: ${why}` });
    const shape = shapeProblem(c);
    if (shape) return bad(shape);
    const cp = c as AnchorCheckpoint;
    if (cp.seq !== n) return bad(`numbered ${cp.seq}, expected ${n} (a checkpoint was removed or inserted)`);
    const expectedPrev = prev?.hash ?? GENESIS_HASH;
    if (cp.prev !== expectedPrev) return bad(`prev ${cp.prev.slice(0, 12)}… does not link to checkpoint #${n - 1} (${expectedPrev.slice(0, 12)}…)`);
    if (cp.root !== headRoot(cp)) return bad('its root does not recompute from its fields');
    const { hash: _h, sig: _s, ...body } = cp;
    if (checkpointHash(body) !== cp.hash) return bad('its hash does not recompute from its fields (it was edited)');
    if (cp.signer !== ANCHOR_SIGNER) return bad(`signed by "${cp.signer}", not by the anchor key "${ANCHOR_SIGNER}"`);
    if (!key) return bad(`no public key for "${ANCHOR_SIGNER}" in the key directory, so its signature cannot be checked`);
    let ok = false;
    try {
      ok = verify(null, Buffer.from(cp.hash, 'hex'), key, Buffer.from(cp.sig, 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) return bad(`bad signature: not signed by the site's "${ANCHOR_SIGNER}" key`);
    if (prev && (cp.position < prev.position || cp.events < prev.events)) {
      return bad(`goes backwards: position ${cp.position} (${cp.events} events) after position ${prev.position} (${prev.events} events)`);
    }
    valid.push(cp);
    prev = cp;
  }
  return { valid };
}

const HEX64 = /^[0-9a-f]{64}$/;

function shapeProblem(c: unknown): string | null {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return 'not a JSON object';
  const o = c as Record<string, unknown>;
  if (o['format'] !== ANCHOR_FORMAT) return `format ${JSON.stringify(o['format'])}, expected "${ANCHOR_FORMAT}"`;
  for (const k of ['seq', 'position', 'events', 'streams'] as const) {
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 0) return `${k} must be an integer >= 0`;
  }
  for (const k of ['headsHash', 'logHash', 'root', 'prev', 'hash'] as const) {
    if (typeof o[k] !== 'string' || !HEX64.test(o[k])) return `${k} must be 64 hex digits`;
  }
  for (const k of ['site', 'time', 'signer', 'sig'] as const) if (typeof o[k] !== 'string') return `${k} must be a string`;
  return null;
}
