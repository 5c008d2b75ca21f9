import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKeyring, MemoryKeyring } from '../../../core/ledger/keyring.ts';
import { SignerError, WorkerSigner } from '../../../core/ledger/worker-signer.ts';

const hashOf = (s: string) => createHash('sha256').update(s).digest('hex');
const syncSigs = (k: MemoryKeyring, sources: ReadonlyArray<string>, hashes: ReadonlyArray<string>) => hashes.map((h, i) => k.sign(sources[i]!, Buffer.from(h, 'hex')));

/** Hands out keys like MemoryKeyring, but has none for one agent. */
class RefusingKeyring extends MemoryKeyring {
  override signingKey(source: string): KeyObject {
    if (source === 'refused') throw new Error('no key for refused');
    return super.signingKey(source);
  }
}

async function withSigner(fn: (s: WorkerSigner, k: MemoryKeyring) => Promise<void>, opts: { helpOnMainThread?: boolean } = {}): Promise<void> {
  const k = new RefusingKeyring('worker-signer-test');
  const s = new WorkerSigner(k, opts);
  try {
    await fn(s, k);
  } finally {
    await s.close();
  }
}

describe('WorkerSigner: ed25519 in a worker thread, byte for byte the keyring\'s signatures', () => {
  test('random batches, several sources, concurrent: each answer is in request order and equals the main-thread signature', async () => {
    await withSigner(async (s, k) => {
      await s.whenReady();
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(fc.tuple(fc.constantFrom('compute', 'grid', 'market', 'coordination'), fc.string()), { minLength: 1, maxLength: 80 }), { minLength: 1, maxLength: 6 }), async (batches) => {
          const inputs = batches.map((b) => ({ sources: b.map(([src]) => src), hashes: b.map(([, text]) => hashOf(text)) }));
          // All sent before any answer: batches overlap in the worker and on this thread.
          const answers = await Promise.all(inputs.map((x) => s.sign(x.sources, x.hashes)));
          inputs.forEach((x, i) => assert.deepEqual(answers[i], syncSigs(k, x.sources, x.hashes)));
        }),
        { numRuns: 25 },
      );
      // The worker answers for every batch, so each one's shared memory is given back.
      for (let i = 0; i < 200 && s.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(s.inFlight, 0);
    });
  });

  test('the worker alone (no help from this thread) signs the same bytes', async () => {
    await withSigner(
      async (s, k) => {
        const sources = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 'grid' : 'compute'));
        const hashes = sources.map((_, i) => hashOf(`w${i}`));
        assert.deepEqual(await s.sign(sources, hashes), syncSigs(k, sources, hashes));
      },
      { helpOnMainThread: false },
    );
  });

  test('a batch bigger than the shared arena gets memory of its own and still signs correctly', async () => {
    await withSigner(async (s, k) => {
      const n = 16_385;
      const sources = Array.from({ length: n }, () => 'compute');
      const hashes = sources.map((_, i) => hashOf(`big${i}`));
      const sigs = await s.sign(sources, hashes);
      assert.equal(sigs.length, n);
      for (const i of [0, 1, 8191, 16_383, 16_384]) assert.equal(sigs[i], k.sign('compute', Buffer.from(hashes[i]!, 'hex')), `event ${i}`);
    });
  });

  test('a key the keyring refuses fails that call only, synchronously in prepareKey and as a rejection in sign', async () => {
    await withSigner(async (s, k) => {
      assert.throws(() => s.prepareKey('refused'), /no key for refused/);
      await assert.rejects(s.sign(['compute', 'refused'], [hashOf('a'), hashOf('b')]), /no key for refused/);
      const ok = await s.sign(['compute'], [hashOf('c')]);
      assert.deepEqual(ok, syncSigs(k, ['compute'], [hashOf('c')]));
    });
  });

  test('a malformed hash is refused before anything is sent', async () => {
    await withSigner(async (s) => {
      await assert.rejects(s.sign(['compute'], ['not hex']), RangeError);
      await assert.rejects(s.sign(['compute', 'grid'], [hashOf('x')]), RangeError);
      assert.equal(s.inFlight, 0);
    });
  });

  test('worker death mid-batch is reported as a SignerError; the next batch gets a fresh worker with the keys', async () => {
    await withSigner(
      async (s, k) => {
        await s.whenReady();
        // ~2,000 signatures take the worker tens of milliseconds: it is killed well before.
        const sources = Array.from({ length: 2000 }, () => 'compute');
        const hashes = sources.map((_, i) => hashOf(`d${i}`));
        const pending = s.sign(sources, hashes);
        // Watched before the abort, which fails the batch at once.
        const refused = assert.rejects(pending, (err: unknown) => err instanceof SignerError && /exited/.test(err.message));
        await s.abort();
        await refused;
        assert.equal(s.inFlight, 0);
        const again = await s.sign(['compute', 'grid'], [hashOf('after'), hashOf('after2')]);
        assert.deepEqual(again, syncSigs(k, ['compute', 'grid'], [hashOf('after'), hashOf('after2')]));
      },
      { helpOnMainThread: false },
    );
  });

  test('FileKeyring: a key made on first use is saved as before, and a reopened keyring signs the same bytes in the worker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-wkeys-'));
    try {
      const hashes = [hashOf('f1'), hashOf('f2')];
      const first = new FileKeyring(dir);
      const s1 = new WorkerSigner(first);
      const sigs = await s1.sign(['planner', 'planner'], hashes);
      await s1.close();
      assert.equal(existsSync(join(dir, 'private', 'planner.key')), true);
      assert.equal(statSync(join(dir, 'private', 'planner.key')).mode & 0o777, 0o600);
      assert.deepEqual(sigs, syncSigs(first, ['planner', 'planner'], hashes));
      // Unseeded: only the saved key file can give these signatures again.
      const reopened = new FileKeyring(dir);
      const s2 = new WorkerSigner(reopened);
      assert.deepEqual(await s2.sign(['planner', 'planner'], hashes), sigs);
      await s2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('after close, sign is refused', async () => {
    const s = new WorkerSigner(new MemoryKeyring('closed'));
    await s.sign(['compute'], [hashOf('x')]);
    await s.close();
    await assert.rejects(s.sign(['compute'], [hashOf('y')]), SignerError);
  });
});
