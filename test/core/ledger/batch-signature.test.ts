// test-file-timeout: 120
/**
 * One signature for a batch of commits (docs/ledger.md, "Batches of commits"): the heads of
 * one source stored together share a signature over the Merkle root of their hashes, and each
 * head carries its inclusion proof, so it is proven alone. The tree is RFC 9162's (checked
 * against its recursive definition); every tampering of a proof, a size, an index, a moved
 * signature or a forged source is refused; the SQLite store signs a group commit once per
 * source and `caco audit verify` still proves every event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import {
  BATCH_SIG_PREFIX,
  encodeBatchSig,
  inclusionPaths,
  leafHash,
  MAX_BATCH,
  merkleRoot,
  parseBatchSig,
  planSignatures,
  rootFromPath,
} from '../../../core/ledger/batch-signature.ts';
import { checkSignature, hashBatch, headsOf, sealBatch, signHeads } from '../../../core/ledger/seal.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { verifyLedger } from '../../../core/ledger/verify.ts';
import { SignatureCache } from '../../../core/ledger/signature-cache.ts';
import { ChainVerifier } from '../../../core/ledger/chain-verifier.ts';
import { SqliteEventStore } from '../../../core/store/sqlite-store.ts';
import { BatchingSigner } from '../../../core/ledger/batching-signer.ts';
import type { Envelope, NewEvent } from '../../../core/envelope/envelope.ts';

const H = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** RFC 9162 §2.1.1, literally: MTH({d0}) = leaf; MTH(D[n]) = H(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])), k the largest power of two < n. */
function rfcRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return H(Buffer.from([1]), rfcRoot(leaves.slice(0, k)), rfcRoot(leaves.slice(k)));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]), literally. */
function rfcPath(leaves: Buffer[], m: number): Buffer[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k ? [...rfcPath(leaves.slice(0, k), m), rfcRoot(leaves.slice(k))] : [...rfcPath(leaves.slice(k), m - k), rfcRoot(leaves.slice(0, k))];
}

const hashHex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

test('the tree is RFC 9162\'s: root and every inclusion path equal its recursive definition, and each path leads back to the root', () => {
  fc.assert(
    fc.property(fc.array(hashHex, { minLength: 1, maxLength: 70 }), (hashes) => {
      const leaves = hashes.map(leafHash);
      const root = merkleRoot(leaves);
      assert.deepEqual(root, rfcRoot(leaves));
      const paths = inclusionPaths(leaves);
      leaves.forEach((leaf, m) => {
        assert.deepEqual(paths[m], rfcPath(leaves, m));
        assert.deepEqual(rootFromPath(m, leaves.length, leaf, paths[m]!), root);
      });
    }),
    { numRuns: 200 },
  );
});

test('a path does not lead to the root from another index, another leaf, or with a sibling changed, added or dropped', () => {
  fc.assert(
    fc.property(fc.array(hashHex, { minLength: 2, maxLength: 40 }), fc.nat(), fc.nat(), (hashes, pick, other) => {
      const leaves = hashes.map(leafHash);
      const n = leaves.length;
      const root = merkleRoot(leaves);
      const m = pick % n;
      const path = inclusionPaths(leaves)[m]!;
      const reaches = (i: number, size: number, leaf: Buffer, p: Buffer[]) => {
        const r = rootFromPath(i, size, leaf, p);
        return r !== null && r.equals(root);
      };
      const o = other % n;
      if (o !== m && !leaves[o]!.equals(leaves[m]!)) {
        assert.equal(reaches(o, n, leaves[m]!, path), false, 'another index');
        assert.equal(reaches(m, n, leaves[o]!, path), false, 'another leaf');
      }
      // The size alone can lead to the same root for some leaves (a path of a 3-leaf tree
      // fits a 4-leaf one at index 0): it is bound by the signed digest instead (next tests).
      if (path.length > 0) {
        const flipped = path.map((p, i) => (i === other % path.length ? Buffer.from(p.map((b, j) => (j === 0 ? b ^ 1 : b))) : p));
        assert.equal(reaches(m, n, leaves[m]!, flipped), false, 'a sibling changed');
        assert.equal(reaches(m, n, leaves[m]!, path.slice(1)), false, 'a sibling dropped');
      }
      assert.equal(reaches(m, n, leaves[m]!, [...path, root]), false, 'a sibling added');
      assert.equal(rootFromPath(n, n, leaves[m]!, path), null, 'an index outside the tree');
    }),
    { numRuns: 200 },
  );
});

let seq = 0;
const ev = (source = 'compute'): NewEvent => ({ id: `bs-${++seq}`, type: 'test.thing.happened', version: 1, time: '2023-07-03T00:00:00.000Z', source, correlationId: 'c', causationId: null, data: { n: seq } });
const keyring = new MemoryKeyring('batch-sigs');
const attacker = new MemoryKeyring('batch-sigs-attacker');
keyring.signingKey('compute');
keyring.signingKey('grid');

/** `count` one-event commits of `source` on their own streams, hashed, their heads signed together. */
function signedCommits(count: number, sources: (i: number) => string = () => 'compute', signer = keyring): Envelope[][] {
  const commits = Array.from({ length: count }, (_, i) => hashBatch(`job-${seq}-${i}`, [ev(sources(i)), ev(sources(i))], undefined));
  signHeads(headsOf(commits), signer);
  return commits;
}

test('heads of one source signed together: one signature, each head proven alone; a lone head is signed plainly over its hash', () => {
  const signs: string[] = [];
  const counting = new MemoryKeyring('batch-sigs');
  const orig = counting.sign.bind(counting);
  counting.sign = (source, bytes) => (signs.push(source), orig(source, bytes));
  const commits = signedCommits(5, () => 'compute', counting);
  assert.equal(signs.length, 1, 'five commits, one signature');
  for (const c of commits) {
    assert.equal(c[0]!.sig, '', 'a commit\'s other events are still vouched for by its head');
    assert.ok(c[1]!.sig.startsWith(BATCH_SIG_PREFIX));
    assert.equal(checkSignature(c[1]!, counting), null);
  }
  const [lone] = sealBatch('job-lone', [ev()], undefined, counting);
  assert.ok(!lone!.sig.startsWith(BATCH_SIG_PREFIX), 'a commit alone has a plain signature');
  assert.equal(Buffer.from(lone!.sig, 'base64').length, 64);
  assert.equal(checkSignature(lone!, counting), null);
});

test('two sources in one group: one signature each, over their own heads only; runs longer than MAX_BATCH are cut', () => {
  const plan = planSignatures(Array.from({ length: 2 * MAX_BATCH + 3 }, (_, i) => ({ source: i % 2 === 0 ? 'compute' : 'grid', hash: createHash('sha256').update(String(i)).digest('hex') })));
  // compute: 18 heads → runs of 16 and 2; grid: 17 heads → 16 and 1 (plain).
  assert.deepEqual(plan.requests.map((r) => r.source), ['compute', 'compute', 'grid', 'grid']);
  const commits = signedCommits(6, (i) => (i % 3 === 0 ? 'grid' : 'compute'));
  for (const c of commits) assert.equal(checkSignature(c[1]!, keyring), null, c[1]!.source);
  const sizes = commits.map((c) => (parseBatchSig(c[1]!.sig) as { size: number }).size);
  assert.deepEqual(sizes, [2, 4, 4, 2, 4, 4]);
});

test('refused: a batch signature moved to another head, a head of another source, another key, a changed index/size/proof, garbage', () => {
  const commits = signedCommits(4);
  const [a, b] = [commits[0]![1]!, commits[1]![1]!];
  assert.match(checkSignature({ ...b, sig: a.sig }, keyring) ?? '', /inclusion proof does not fit|bad signature/, 'moved to another head of the same batch');
  const other = signedCommits(3);
  assert.match(checkSignature({ ...other[0]![1]!, sig: a.sig }, keyring) ?? '', /bad signature|inclusion proof/, 'moved to a head of another batch');
  // The same hash claimed by another source: that source's key did not sign this root.
  const gridHead = hashBatch('job-g', [ev('grid')], undefined)[0]!;
  assert.match(checkSignature({ ...gridHead, sig: a.sig }, keyring) ?? '', /bad signature|inclusion proof/);
  const forged = signedCommits(4, () => 'compute', attacker);
  assert.match(checkSignature(forged[0]![1]!, keyring) ?? '', /bad signature/, 'signed by a key that is not the source\'s');
  const parsed = parseBatchSig(a.sig);
  assert.ok(typeof parsed !== 'string');
  const variants = [
    encodeBatchSig({ ...parsed, index: (parsed.index + 1) % parsed.size }),
    encodeBatchSig({ ...parsed, size: parsed.size + 1 }),
    encodeBatchSig({ ...parsed, size: parsed.size * 2 }),
    encodeBatchSig({ ...parsed, path: parsed.path.slice(1) }),
    encodeBatchSig({ ...parsed, path: [...parsed.path, parsed.path[0]!] }),
    encodeBatchSig({ ...parsed, path: parsed.path.map((p, i) => (i === 0 ? Buffer.alloc(32) : p)) }),
    encodeBatchSig({ ...parsed, sig: Buffer.alloc(64).toString('base64') }),
  ];
  for (const sig of variants) assert.notEqual(checkSignature({ ...a, sig }, keyring), null, sig.slice(0, 40));
  for (const sig of ['mb1:', 'mb1:0/1::' + a.sig.slice(-88), 'mb1:3/2:' + a.sig.split(':')[2] + ':' + a.sig.slice(-88), 'mb1:0/99999:x:y', `mb1:0/2:${'A'.repeat(44)}:${'A'.repeat(87)}`]) {
    assert.match(checkSignature({ ...a, sig }, keyring) ?? '', /^batch signature:/, sig.slice(0, 30));
  }
  // The batch's ed25519 signature taken out and put on a head as a plain one: it signs the
  // batch's digest, not the head's hash, so it is refused.
  assert.match(checkSignature({ ...a, sig: parsed.sig }, keyring) ?? '', /bad signature/);
});

test('every head of a batch after the first is verified from the cache (the shared root), and the cache is not fooled by another root', () => {
  const commits = signedCommits(8);
  const cache = new SignatureCache();
  for (const c of commits) assert.equal(checkSignature(c[1]!, keyring, cache), null);
  assert.equal(cache.size, 1, 'one root, one cache entry');
  const tampered = { ...commits[2]![1]!, sig: commits[3]![1]!.sig };
  assert.notEqual(checkSignature(tampered, keyring, cache), null);
});

test('SQLite: appends in flight together are signed once per group and source; the audit, verify-on-read and the chain verifier prove every event; a damaged proof is named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-batchsig-'));
  const path = join(dir, 'ledger.db');
  const signs: string[] = [];
  const counting = new MemoryKeyring('batch-sigs');
  const orig = counting.sign.bind(counting);
  counting.sign = (source, bytes) => (signs.push(source), orig(source, bytes));
  const store = new SqliteEventStore({ path, keyring: counting });
  try {
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.append(`job-${i % 10}`, [ev(i % 4 === 0 ? 'grid' : 'compute'), ev(i % 4 === 0 ? 'grid' : 'compute')], 'any')));
    // 30 compute commits → 16 + 14; 10 grid commits → 10: three signatures for 40 commits.
    assert.equal(signs.length, 3);
    const report = await verifyLedger(store, counting);
    assert.equal(report.ok, true, JSON.stringify(report.broken.slice(0, 2)));
    assert.equal(report.events, 80);
    const all: Envelope[] = [];
    for await (const e of store.readAll()) all.push(e);
    const v = new ChainVerifier(counting);
    const verdicts = [...all.flatMap((e) => v.push(e)), ...v.flush()];
    assert.equal(verdicts.filter((j) => !j.verdict.ok).length, 0);
  } finally {
    await store.close();
  }
  // Damage one head's proof in the file: that commit is refused by name, the rest of its batch stands.
  const db = new Database(path);
  const victim = db.prepare<[], { id: string; sig: string; stream: string; revision: number }>("SELECT id, sig, stream, revision FROM events WHERE sig LIKE 'mb1:%' ORDER BY position LIMIT 1").get()!;
  const parts = victim.sig.split(':');
  const path0 = parts[2]!.split(',');
  path0[0] = Buffer.alloc(32, 7).toString('base64');
  db.prepare('UPDATE events SET sig = ? WHERE id = ?').run([parts[0], parts[1], path0.join(','), parts[3]].join(':'), victim.id);
  db.close();
  const reopened = new SqliteEventStore({ path, keyring: counting });
  try {
    const report = await verifyLedger(reopened, counting);
    assert.equal(report.ok, false);
    const named = new Set(report.broken.map((b) => b.eventId));
    assert.ok(named.has(victim.id), 'the damaged head is named');
    assert.equal(report.broken.length, 2, 'its commit (head and the event it vouches for), nothing else: ' + JSON.stringify(report.broken));
  } finally {
    await reopened.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BatchingSigner: heads asked for in the same turn share one signature per source; a source that cannot sign refuses only its own', async () => {
  const signs: string[] = [];
  const refusing = new MemoryKeyring('batch-sigs');
  const orig = refusing.sign.bind(refusing);
  refusing.sign = (source, bytes) => {
    if (source === 'nokey') throw new Error('no key for nokey');
    signs.push(source);
    return orig(source, bytes);
  };
  const signer = new BatchingSigner(refusing);
  const heads = Array.from({ length: 12 }, (_, i) => hashBatch(`job-bsig-${i}`, [ev(i < 8 ? 'compute' : i < 11 ? 'grid' : 'nokey')], undefined)[0]!);
  const results = await Promise.allSettled(heads.map((h) => signer.sign(h.source, h.hash)));
  assert.deepEqual(results.map((r) => r.status), [...Array(11).fill('fulfilled'), 'rejected']);
  assert.deepEqual(signs.sort(), ['compute', 'grid']);
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') assert.equal(checkSignature({ ...heads[i]!, sig: r.value }, keyring), null);
  });
  // A head asked for alone, in a later turn, is signed plainly.
  const lone = hashBatch('job-bsig-lone', [ev()], undefined)[0]!;
  const sig = await signer.sign(lone.source, lone.hash);
  assert.equal(Buffer.from(sig, 'base64').length, 64);
  assert.equal(checkSignature({ ...lone, sig }, keyring), null);
});
