import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';

/**
 * One ed25519 signature for a batch of commits (issue 14 item 1).
 *
 * A commit's head is signed over its hash. When several commits of one source are stored
 * together (a store's group commit, appends in flight at once), their heads' hashes become
 * the leaves of a Merkle tree (RFC 9162 §2.1: leaf = SHA-256(0x00 ‖ hash), node =
 * SHA-256(0x01 ‖ left ‖ right)) and the source signs the tree's root once — as a
 * certificate-transparency log signs its tree head. Each head then carries, in its `sig`,
 * the batch signature with its own inclusion proof:
 *
 *     mb1:<index>/<size>:<sibling>,<sibling>,…:<signature>
 *
 * (siblings and signature base64). It is proven on its own, from its hash alone, like a
 * plainly signed head: no reader needs the other commits. What is signed is
 * SHA-256("caco-batch/1" ‖ 0x00 ‖ size as u32 BE ‖ root), so a batch signature can never pass
 * for the plain signature of an event hash, nor a tree for one of another size.
 *
 * The hash of an event does not cover its `sig`, so batching changes no hash, head or anchor:
 * the same ledger hashes the same whatever was signed together.
 */

export const BATCH_SIG_PREFIX = 'mb1:';
/**
 * Commits of one source under one signature at most. Each doubling saves half of what is
 * left of a signature per commit but adds a sibling (44 bytes) to every head: at 16 the
 * signature costs a sixteenth, and a head's `sig` is about 280 bytes instead of 88.
 */
export const MAX_BATCH = 16;
/** The largest tree a reader accepts: bounds the work a forged `sig` can ask for. */
export const MAX_VERIFIED_BATCH = 1024;

const DOMAIN = Buffer.from('caco-batch/1\0', 'utf8');

/** One-shot hashing (Node >= 20.12) skips the Hash object, which costs more than the hash here. */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash;
const sha256 = (...parts: Buffer[]): Buffer => {
  if (oneShot) return oneShot('sha256', parts.length === 1 ? parts[0]! : Buffer.concat(parts), 'buffer');
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export function leafHash(hashHex: string): Buffer {
  // One buffer, written in place: this runs for every head of every batch, signed or read.
  const b = Buffer.allocUnsafe(33);
  b[0] = 0x00;
  b.write(hashHex, 1, 'hex');
  return sha256(b);
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  const b = Buffer.allocUnsafe(65);
  b[0] = 0x01;
  left.copy(b, 1);
  right.copy(b, 33);
  return sha256(b);
}

/**
 * The tree's levels, leaves first, root last. Pairing neighbours level by level and carrying
 * an odd last node up unchanged builds exactly RFC 9162's tree (split at the largest power
 * of two below n), each node once.
 */
function levels(leaves: ReadonlyArray<Buffer>): Buffer[][] {
  const out: Buffer[][] = [[...leaves]];
  for (let level = out[0]!; level.length > 1; ) {
    const up: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!);
    out.push(up);
    level = up;
  }
  return out;
}

/** RFC 9162 MTH over leaf hashes (n ≥ 1). */
export function merkleRoot(leaves: ReadonlyArray<Buffer>): Buffer {
  const all = levels(leaves);
  return all[all.length - 1]![0]!;
}

/** RFC 9162 PATH(m, D[n]) for every leaf: the siblings from each leaf up to the root. */
export function inclusionPaths(leaves: ReadonlyArray<Buffer>): Buffer[][] {
  return pathsOf(levels(leaves));
}

function pathsOf(all: ReadonlyArray<ReadonlyArray<Buffer>>): Buffer[][] {
  return all[0]!.map((_, m) => {
    const path: Buffer[] = [];
    let i = m;
    for (let l = 0; l < all.length - 1; l++) {
      const sibling = all[l]![i ^ 1];
      // No sibling: the node is carried up unchanged, and the path has no step here.
      if (sibling) path.push(sibling);
      i >>= 1;
    }
    return path;
  });
}

/**
 * The root a leaf and its path lead to (RFC 9162 §2.1.3.2), or null when the path does not
 * fit a tree of `size` at `index` (too short, too long, or an index outside the tree).
 */
export function rootFromPath(index: number, size: number, leaf: Buffer, path: ReadonlyArray<Buffer>): Buffer | null {
  if (!(Number.isInteger(index) && Number.isInteger(size) && index >= 0 && index < size)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/** The bytes a batch's source signs: its size and root, domain-separated from event hashes. */
export function batchDigest(size: number, root: Buffer): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(size);
  return sha256(DOMAIN, n, root);
}

export interface BatchSig {
  readonly index: number;
  readonly size: number;
  readonly path: ReadonlyArray<Buffer>;
  /** The ed25519 signature, base64. */
  readonly sig: string;
}

export const isBatchSig = (sig: string): boolean => sig.startsWith(BATCH_SIG_PREFIX);

export function encodeBatchSig(b: BatchSig): string {
  return formatBatchSig(b.index, b.size, b.path.map((p) => p.toString('base64')), b.sig);
}

/** The one place the `mb1:` form is written; siblings already in base64. */
function formatBatchSig(index: number, size: number, siblings: ReadonlyArray<string>, sig: string): string {
  return `${BATCH_SIG_PREFIX}${index}/${size}:${siblings.join(',')}:${sig}`;
}

const BATCH_SIG = /^mb1:(0|[1-9]\d{0,3})\/([1-9]\d{0,3}):((?:[A-Za-z0-9+/]{43}=)(?:,[A-Za-z0-9+/]{43}=)*)?:([A-Za-z0-9+/]{86}==)$/;

/** Reads a batch signature, or says what is wrong with it. */
export function parseBatchSig(text: string): BatchSig | string {
  const m = BATCH_SIG.exec(text);
  if (!m) return 'batch signature: not of the form mb1:<index>/<size>:<siblings>:<signature>';
  const index = Number(m[1]);
  const size = Number(m[2]);
  if (size < 2 || size > MAX_VERIFIED_BATCH) return `batch signature: size ${size} outside 2..${MAX_VERIFIED_BATCH}`;
  if (index >= size) return `batch signature: index ${index} outside a batch of ${size}`;
  const path = m[3] ? m[3].split(',').map((p) => Buffer.from(p, 'base64')) : [];
  return { index, size, path, sig: m[4]! };
}

/**
 * What a head's `sig` asks a verifier to check: the message signed (the event hash itself,
 * or its batch's digest) and the ed25519 signature — or the reason it cannot be read.
 * The message in hex doubles as the signature cache's key: every head of a batch shares it.
 */
export function signedMessage(hashHex: string, sig: string): { message: Buffer; messageHex: string; sig: string } | string {
  if (!isBatchSig(sig)) return { message: Buffer.from(hashHex, 'hex'), messageHex: hashHex, sig };
  const b = parseBatchSig(sig);
  if (typeof b === 'string') return b;
  const root = rootFromPath(b.index, b.size, leafHash(hashHex), b.path);
  if (!root) return `batch signature: the inclusion proof does not fit index ${b.index} of a batch of ${b.size}`;
  const message = batchDigest(b.size, root);
  return { message, messageHex: message.toString('hex'), sig: b.sig };
}

/** One signature to make: by `source`'s key, over `message`. */
export interface SignRequest {
  readonly source: string;
  readonly message: Buffer;
}

/**
 * Plans the signatures for a set of heads (in order): the heads of each source, in runs of
 * at most `maxBatch`, share one signature; a head alone in its run is signed plainly over its
 * hash (exactly as a ledger without batches). Sign each request (here or in a worker), then
 * `finish` turns the signatures, in request order, into each head's `sig`.
 */
export function planSignatures(
  heads: ReadonlyArray<{ readonly source: string; readonly hash: string }>,
  maxBatch = MAX_BATCH,
): { requests: SignRequest[]; finish(sigs: ReadonlyArray<string>): string[] } {
  const bySource = new Map<string, number[]>();
  heads.forEach((h, i) => {
    const list = bySource.get(h.source);
    if (list) list.push(i);
    else bySource.set(h.source, [i]);
  });
  const requests: SignRequest[] = [];
  // Per request: the heads it signs for and, for a batch, each head's proof.
  const plans: Array<{ members: number[]; paths?: Buffer[][] }> = [];
  for (const [source, members] of bySource) {
    for (let s = 0; s < members.length; s += maxBatch) {
      const run = members.slice(s, s + maxBatch);
      if (run.length === 1) {
        requests.push({ source, message: Buffer.from(heads[run[0]!]!.hash, 'hex') });
        plans.push({ members: run });
        continue;
      }
      const tree = levels(run.map((i) => leafHash(heads[i]!.hash)));
      requests.push({ source, message: batchDigest(run.length, tree[tree.length - 1]![0]!) });
      plans.push({ members: run, paths: pathsOf(tree) });
    }
  }
  return {
    requests,
    finish(sigs) {
      if (sigs.length !== requests.length) throw new Error(`planSignatures: ${sigs.length} signatures for ${requests.length} requests`);
      const out = new Array<string>(heads.length);
      plans.forEach((p, r) => {
        const sig = sigs[r]!;
        if (!p.paths) out[p.members[0]!] = sig;
        else {
          // A node is a sibling on many heads' paths: encode it once.
          const text = new Map<Buffer, string>();
          const enc = (b: Buffer) => {
            let t = text.get(b);
            if (t === undefined) text.set(b, (t = b.toString('base64')));
            return t;
          };
          const n = p.members.length;
          p.members.forEach((i, m) => (out[i] = formatBatchSig(m, n, p.paths![m]!.map(enc), sig)));
        }
      });
      return out;
    },
  };
}
