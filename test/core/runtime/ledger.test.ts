import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { embeddedStack } from '../../support/embedded.ts';
import { verifyLedger } from '../../../core/ledger/verify.ts';
import { canonicalJson } from '../../../core/ledger/canonical-json.ts';
import { hashEvent } from '../../../core/ledger/seal.ts';
import type { NewEvent } from '../../../core/envelope/envelope.ts';

let n = 0;
const ev = (source = 'agent-a', data: unknown = { n: n }): NewEvent => ({
  id: `e-${++n}`,
  type: 'test.thing.happened',
  version: 1,
  time: '2023-07-03T00:00:00.000Z',
  source,
  correlationId: 'c',
  causationId: null,
  data,
});

test('canonical JSON sorts keys at every depth and ignores undefined members', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' }, u: undefined }), '{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}');
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      // A JSON round trip (what the store does) never changes the canonical form, hence the hash.
      assert.equal(canonicalJson(JSON.parse(JSON.stringify(v))), canonicalJson(v));
    }),
  );
});

test('audit verify passes an intact ledger and names the first broken link of a tampered one', async () => {
  const s = embeddedStack('audit');
  for (let i = 0; i < 5; i++) await s.store.append('job-1', [ev('compute'), ev('compute')], 'any');
  await s.store.append('grid-1', [ev('grid')], 'no-stream');
  const good = await verifyLedger(s.store, s.keyring);
  assert.equal(good.ok, true);
  assert.equal(good.events, 11);
  assert.equal(good.streams, 2);

  // Change one stored value: the hash no longer matches, and the break is named.
  s.store.unsafeExec(`UPDATE events SET data = '{"n":999}' WHERE stream = 'job-1' AND revision = 4`);
  const bad = await verifyLedger(s.store, s.keyring);
  assert.equal(bad.ok, false);
  assert.equal(bad.firstBroken?.stream, 'job-1');
  assert.equal(bad.firstBroken?.revision, 4);
  assert.match(bad.firstBroken!.reason, /hash mismatch/);
  await s.close();
});

test('audit verify catches a re-hashed forgery (bad signature), a removed event (revision gap) and a broken prevHash', async () => {
  for (const tamper of ['resign', 'delete', 'relink'] as const) {
    const s = embeddedStack(`audit-${tamper}`);
    for (let i = 0; i < 3; i++) await s.store.append('job-7', [ev('compute')], 'any');
    const rows: Array<{ revision: number; hash: string }> = [];
    for await (const e of s.store.readStream('job-7')) rows.push(e);
    if (tamper === 'resign') {
      let target;
      for await (const e of s.store.readStream('job-7', 1)) { target = e; break; }
      const forged = { ...target!, data: { n: -1 } };
      s.store.unsafeExec(`UPDATE events SET data = ?, hash = ? WHERE stream = 'job-7' AND revision = 1`, JSON.stringify(forged.data), hashEvent(forged));
    } else if (tamper === 'delete') {
      s.store.unsafeExec(`DELETE FROM events WHERE stream = 'job-7' AND revision = 1`);
    } else {
      s.store.unsafeExec(`UPDATE events SET prev_hash = ? WHERE stream = 'job-7' AND revision = 2`, 'f'.repeat(64));
    }
    const r = await verifyLedger(s.store, s.keyring);
    assert.equal(r.ok, false, tamper);
    const expected = { resign: [1, /bad signature/], delete: [2, /revision 2 follows 0/], relink: [2, /prevHash/] } as const;
    // A removed event is first reported where it was (a hole in the positions), then where its stream's chain jumps.
    const streamBreak = r.broken.find((b) => b.stream === 'job-7');
    if (tamper === 'delete') {
      assert.deepEqual([r.firstBroken?.stream, r.firstBroken?.position], ['', 2]);
      assert.match(r.firstBroken!.reason, /^position 2 missing: 1 event was removed between position 1 and 3/);
    } else assert.equal(r.firstBroken, streamBreak);
    assert.equal(streamBreak?.revision, expected[tamper][0], tamper);
    assert.match(streamBreak!.reason, expected[tamper][1]);
    await s.close();
  }
});

test('property: any sequence of appends to random streams forms a verifiable hash chain per stream', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 15 }), async (ops) => {
      const s = embeddedStack('prop');
      for (const [stream, k] of ops) await s.store.append(`s-${stream}`, Array.from({ length: k }, () => ev('p', { k, stream })), 'any');
      const r = await verifyLedger(s.store, s.keyring);
      assert.equal(r.ok, true);
      assert.equal(r.events, ops.reduce((a, [, k]) => a + k, 0));
      for (const name of new Set(ops.map(([x]) => `s-${x}`))) {
        let prev: { hash: string; revision: number } | undefined;
        for await (const e of s.store.readStream(name)) {
          assert.equal(e.hash, hashEvent(e));
          if (prev) {
            assert.equal(e.prevHash, prev.hash);
            assert.equal(e.revision, prev.revision + 1);
          }
          prev = e;
        }
      }
      await s.close();
    }),
    { numRuns: 25 },
  );
});

test('a file keyring persists public keys and reloads them to verify signatures made before', async () => {
  const { FileKeyring } = await import('../../../core/ledger/keyring.ts');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'caco-keys-'));
  const a = new FileKeyring(dir);
  const sigA = a.sign('grid', Buffer.from('hello'));
  a.sign('compute', Buffer.from('x'));
  const b = new FileKeyring(dir);
  assert.equal(b.verify('grid', Buffer.from('hello'), sigA), true);
  assert.equal(b.verify('grid', Buffer.from('hullo'), sigA), false);
  assert.deepEqual(Object.keys(b.publicKeys()), ['compute', 'grid']);
  // A reloaded keyring signs with the same key (read from private/), so old and new verify alike.
  assert.equal(b.verify('grid', Buffer.from('again'), b.sign('grid', Buffer.from('again'))), true);
  assert.equal(a.verify('grid', Buffer.from('again'), b.sign('grid', Buffer.from('again'))), true);
});
