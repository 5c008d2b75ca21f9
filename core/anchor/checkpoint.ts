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
 * Which signatures a chain check verifies. `every`: each checkpoint's, so the first one whose
 * signature fails is named (caco audit verify). `last`: only the last valid checkpoint's, at
 * `settle()` (and that of a checkpoint about to be refused for going backwards, so the message
 * is the one `every` gives). That is enough to trust every checkpoint before it: each
 * checkpoint's `hash` is recomputed here from its fields, `prev` is one of those fields, and the
 * signature is over the `hash` bytes (sealCheckpoint), so one valid signature vouches for the
 * checkpoint it is on and, link by link, for every one before it. The signer cannot change
 * along the chain: every checkpoint must name ANCHOR_SIGNER, checked against one key. What
 * `last` does not see is a `sig` field replaced on a checkpoint whose content a later signature
 * already vouches for (the signature is not inside the hash); `every` names it.
 */
export type SignatureCheck = 'every' | 'last';

/**
 * The anchor chain checked one record at a time, in the order written, holding only the
 * previous checkpoint: the same checks, verdicts and messages as `checkAnchorChain`, which is
 * this fed from an array. `push` returns the checkpoint when it holds; once one does not,
 * `problem` says why and every later push returns undefined.
 */
export class AnchorChainChecker {
  private readonly key: ReturnType<PublicKeyDirectory['publicKey']>;
  private prev: AnchorCheckpoint | undefined;
  /** The last valid checkpoint's signature was verified (always so with `every`). */
  private prevSigned = true;
  private n = 0;
  private why: string | undefined;

  constructor(keys: PublicKeyDirectory, private readonly signatures: SignatureCheck = 'every') {
    this.key = keys.publicKey(ANCHOR_SIGNER);
  }

  /** Valid checkpoints so far. */
  get count(): number {
    return this.why === undefined ? this.n : this.n - 1;
  }

  /** The last valid checkpoint. */
  get last(): AnchorCheckpoint | undefined {
    return this.prev;
  }

  get problem(): string | undefined {
    return this.why;
  }

  push(c: unknown): AnchorCheckpoint | undefined {
    if (this.why !== undefined) return undefined;
    const n = ++this.n;
    const prev = this.prev;
    const bad = (why: string): undefined => {
      this.why = `anchor checkpoint #${n}: ${why}`;
      return undefined;
    };
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
    if (!this.key) return bad(`no public key for "${ANCHOR_SIGNER}" in the key directory, so its signature cannot be checked`);
    const backwards = prev !== undefined && (cp.position < prev.position || cp.events < prev.events);
    if (this.signatures === 'every' || backwards) {
      if (!this.signed(cp)) return bad(`bad signature: not signed by the site's "${ANCHOR_SIGNER}" key`);
    }
    if (backwards) {
      return bad(`goes backwards: position ${cp.position} (${cp.events} events) after position ${prev.position} (${prev.events} events)`);
    }
    this.prev = cp;
    this.prevSigned = this.signatures === 'every';
    return cp;
  }

  /**
   * With `last`: verify the last valid checkpoint's signature, which vouches for all before it.
   * False when it fails: some signature in the chain does not hold, and the chain must be
   * checked again with `every` to say which. Always true with `every` (each was checked).
   */
  settle(): boolean {
    if (this.prevSigned || !this.prev) return true;
    this.prevSigned = this.signed(this.prev);
    return this.prevSigned;
  }

  private signed(cp: AnchorCheckpoint): boolean {
    try {
      return verify(null, Buffer.from(cp.hash, 'hex'), this.key!, Buffer.from(cp.sig, 'base64'));
    } catch {
      return false;
    }
  }
}

/**
 * Check the anchor itself: each checkpoint well formed, numbered in order, linked to the one
 * before, its root and hash recomputing, signed by the anchor key, and never going backwards.
 * (AnchorChainChecker over an array; a long anchor is better fed to the checker as it is read.)
 */
export function checkAnchorChain(items: ReadonlyArray<unknown>, keys: PublicKeyDirectory): ChainCheck {
  const checker = new AnchorChainChecker(keys);
  const valid: AnchorCheckpoint[] = [];
  for (const item of items) {
    const cp = checker.push(item);
    if (!cp) return { valid, problem: checker.problem! };
    valid.push(cp);
  }
  return { valid };
}

/**
 * A record of the anchor that the next checkpoint follows: one shaped as a checkpoint (every
 * field of its type present), whether or not its hash and signature hold (an edited checkpoint
 * is still followed, so the chain never forks there; the audit names it). Anything else, another
 * JSON value (`[1]`, `7`) or an object that is not shaped as a checkpoint (`{"hash":"x"}`), is no
 * checkpoint: the writer, the file's tail check and the audit all pass over it to the checkpoint
 * before, as they do a line that is not JSON, and the audit names it. (The audit used to stop at
 * a `{"hash":"x"}` it took for a broken checkpoint, so one such line hid every later deletion.)
 */
export function isCheckpointRecord(r: unknown): r is { readonly hash: string; readonly seq?: unknown } {
  return shapeProblem(r) === null;
}

/** Why a parsed record is not shaped as a checkpoint, or null when it is. */
export function checkpointShapeProblem(r: unknown): string | null {
  return shapeProblem(r);
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
