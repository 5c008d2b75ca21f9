// test-file-timeout: 120
/**
 * Anyone who can append to the ledger (no key needed) can write a long chain of unsigned
 * events (`sig: ''`, hashes good) that "wait for their commit's signed head". A head covers
 * at most MAX_COVERS events, itself included, so the verifier holds at most MAX_COVERS - 1 of
 * them: an older one is refused as soon as no head can cover it (as a head would refuse it),
 * and verification goes on. Before, every one was held until the end of the read (200,000
 * forged rows: 1.2 GB, and `caco audit verify` out of memory under a 700 MB heap).
 * `verifyLedger` lists the first MAX_LISTED_BREAKS refusals and counts the rest; and it checks
 * a batch signature once, not once per head, as verify-on-read does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ChainVerifier, type Judged } from '../../../core/ledger/chain-verifier.ts';
import { hashBatch, hashEvent, sealBatch } from '../../../core/ledger/seal.ts';
import { planSignatures } from '../../../core/ledger/batch-signature.ts';
import { MemoryKeyring } from '../../../core/ledger/keyring.ts';
import type { KeyResolver } from '../../../core/ledger/key-resolver.ts';
import { verifyLedger } from '../../../core/ledger/verify.ts';
import { SqliteEventStore, INSERT_EVENT_SQL } from '../../../core/store/sqlite-store.ts';
import { MAX_COVERS, type Envelope, type NewEvent } from '../../../core/envelope/envelope.ts';

// Spelled out here (not imported) so the test also runs against a verifier without the bound.
const MAX_PENDING = MAX_COVERS - 1;
const site = new MemoryKeyring('unsigned-flood');

let n = 0;
const ev = (source = 'compute'): NewEvent => ({ id: `uf-${++n}`, type: 'test.thing.happened', version: 1, time: '2023-07-03T00:00:00.000Z', source, correlationId: 'c', causationId: null, data: { n } });

/** `count` unsigned events chained on `last`, each hashed as a one-event commit whose signature was left off. */
function unsignedRun(stream: string, count: number, last: { revision: number; hash: string } | undefined): Envelope[] {
  const out: Envelope[] = [];
  for (let i = 0; i < count; i++) {
    const [e] = hashBatch(stream, [ev()], last);
    out.push(e!);
    last = e;
  }
  return out;
}

/** A signed head chained on `last` that says it covers `covers` events (itself included). */
function signedHead(stream: string, covers: number, last: { revision: number; hash: string } | undefined): Envelope {
  const [e] = hashBatch(stream, [ev()], last);
  const withCovers = { ...e!, covers: covers === 1 ? undefined : covers };
  const hash = hashEvent(withCovers);
  return { ...withCovers, hash, sig: site.sign('compute', Buffer.from(hash, 'hex')) };
}

test('a verifier holds at most MAX_COVERS - 1 unsigned events; an older one is refused at once, naming the stream and revisions', { timeout: 60_000 }, () => {
  const good = sealBatch('good-1', [ev(), ev()], undefined, site);
  const flood = unsignedRun('zz-flood', 3_000, undefined);
  const after = sealBatch('good-2', [ev()], undefined, site);
  const v = new ChainVerifier(site);
  const verdicts = new Map<string, true | string>();
  const note = (js: Judged[]) => js.forEach((j) => {
    assert.ok(!verdicts.has(j.event.id), `${j.event.id} judged twice`);
    verdicts.set(j.event.id, j.verdict.ok ? true : j.verdict.reason);
  });
  let most = 0;
  for (const e of [...good, ...flood, ...after]) {
    note(v.push(e));
    most = Math.max(most, v.pendingCount);
  }
  note(v.flush());
  assert.equal(most, MAX_PENDING, 'never more unsigned events held than a head can cover');
  assert.equal(verdicts.size, good.length + flood.length + after.length, 'every event judged once');
  for (const e of [...good, ...after]) assert.equal(verdicts.get(e.id), true, e.id);
  // Refused while the flood was read: each names the unsigned events after it.
  assert.match(String(verdicts.get(flood[0]!.id)), /^not covered by a signature: 1023 unsigned events follow it on stream zz-flood \(revisions 1 to 1023\), and a signed head covers at most 1024 events/);
  const lastEarly = flood.length - MAX_PENDING - 1;
  assert.match(String(verdicts.get(flood[lastEarly]!.id)), new RegExp(`revisions ${lastEarly + 1} to ${flood.length - 1}\\)`));
  // The last MAX_PENDING waited for a head; the next stream's event ended their commit.
  assert.match(String(verdicts.get(flood[lastEarly + 1]!.id)), /^no signed head follows it/);
  assert.match(String(verdicts.get(flood.at(-1)!.id)), /^no signed head follows it/);
  assert.equal(head(v, 'good-2'), 0);
});

function head(v: ChainVerifier, stream: string): number | undefined {
  return v.head(stream)?.revision;
}

test('a head after a long unsigned run still vouches for the last events it covers, as before', { timeout: 60_000 }, () => {
  const run = unsignedRun('long', 1_500, undefined);
  const h = signedHead('long', MAX_COVERS, run.at(-1));
  const v = new ChainVerifier(site);
  const judged: Judged[] = [];
  for (const e of [...run, h]) {
    judged.push(...v.push(e));
    assert.ok(v.pendingCount <= MAX_PENDING);
  }
  judged.push(...v.flush());
  const ok = judged.filter((j) => j.verdict.ok).map((j) => j.event.revision);
  assert.deepEqual(ok, [...run.slice(-MAX_PENDING), h].map((e) => e.revision), 'the head and the 1023 before it');
  assert.equal(judged.length, run.length + 1);
  assert.equal(v.head('long')?.revision, h.revision);
});

test('property: for any runs of unsigned events with or without a head, at most MAX_COVERS - 1 are held, each is judged once, and a head vouches for the last covers - 1', { timeout: 90_000 }, () => {
  const runArb = fc.record({ stream: fc.integer({ min: 0, max: 2 }), unsigned: fc.integer({ min: 0, max: 1_300 }), covers: fc.option(fc.integer({ min: 1, max: MAX_COVERS }), { nil: undefined }) });
  fc.assert(
    fc.property(fc.array(runArb, { minLength: 1, maxLength: 4 }), (runs) => {
      const last = new Map<string, Envelope>();
      const events: Envelope[] = [];
      const expectOk = new Set<string>();
      // Unsigned events still waiting: a run right after a headless run of its stream continues its commit.
      let open: { stream: string; events: Envelope[] } | undefined;
      for (const r of runs) {
        const stream = `p-${r.stream}`;
        const run = unsignedRun(stream, r.unsigned, last.get(stream));
        events.push(...run);
        const waiting = open?.stream === stream ? [...open.events, ...run] : run;
        let tip = run.at(-1) ?? last.get(stream);
        if (r.covers !== undefined) {
          const h = signedHead(stream, r.covers, tip);
          events.push(h);
          expectOk.add(h.id);
          for (const e of waiting.slice(Math.max(0, waiting.length - (r.covers - 1)))) expectOk.add(e.id);
          tip = h;
          open = undefined;
        } else if (waiting.length > 0) open = { stream, events: waiting };
        if (tip) last.set(stream, tip);
      }
      const v = new ChainVerifier(site);
      const seen = new Map<string, boolean>();
      const note = (js: Judged[]) => js.forEach((j) => {
        assert.ok(!seen.has(j.event.id), 'judged once');
        seen.set(j.event.id, j.verdict.ok);
      });
      for (const e of events) {
        note(v.push(e));
        assert.ok(v.pendingCount <= MAX_PENDING, `pending ${v.pendingCount}`);
      }
      note(v.flush());
      assert.equal(seen.size, events.length);
      for (const e of events) assert.equal(seen.get(e.id), expectOk.has(e.id), `${e.stream} r${e.revision}`);
    }),
    { numRuns: 12, seed: 4242 },
  );
});

test('verifyLedger on a SQLite ledger flooded with unsigned rows: finishes, lists the first 1,000 refusals and counts the rest; the real streams verify', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-unsigned-flood-'));
  const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring: site });
  try {
    await store.append('job-1', [ev(), ev()], 'any');
    for (const e of unsignedRun('zz-flood', 2_500, undefined)) {
      store.unsafeExec(INSERT_EVENT_SQL, e.id, e.stream, e.revision, e.type, e.version, e.time, e.source, e.correlationId, e.causationId, JSON.stringify(e.data), e.prevHash, e.hash, '', null);
    }
    await store.append('job-2', [ev()], 'any');
    const report = await verifyLedger(store, site);
    assert.equal(report.ok, false);
    assert.equal(report.events, 2 + 2_500 + 1);
    assert.equal(report.broken.length, 1_000, 'the first 1,000 listed');
    assert.equal(report.brokenMore, 1_500, 'and the rest counted');
    assert.ok(report.broken.every((b) => b.stream === 'zz-flood'));
    assert.equal(report.firstBroken?.revision, 0);
    assert.match(report.broken[0]!.reason, /^not covered by a signature: 1023 unsigned events follow it on stream zz-flood/);
    assert.equal(report.streams, 2, 'job-1 and job-2 verify');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('verifyLedger checks a batch signature once, not once for every head that shares it (as verify-on-read does)', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-batch-count-'));
  const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring: site });
  let lookups = 0;
  const counting: KeyResolver = { publicKey: (s) => (lookups++, site.publicKey(s)) };
  try {
    const heads = new Map<string, Envelope>();
    for (let b = 0; b < 20; b++) {
      const batch: Envelope[] = [];
      for (let j = 0; j < 16; j++) {
        const stream = `s-${j}`;
        const [e] = hashBatch(stream, [ev()], heads.get(stream));
        heads.set(stream, e!);
        batch.push(e!);
      }
      const plan = planSignatures(batch);
      const sigs = plan.finish(plan.requests.map((r) => site.sign(r.source, r.message)));
      batch.forEach((e, i) => store.unsafeExec(INSERT_EVENT_SQL, e.id, e.stream, e.revision, e.type, e.version, e.time, e.source, e.correlationId, e.causationId, JSON.stringify(e.data), e.prevHash, e.hash, sigs[i]!, null));
    }
    const report = await verifyLedger(store, counting);
    assert.equal(report.ok, true, JSON.stringify(report.firstBroken));
    assert.equal(report.events, 320);
    // One key look-up (and one ed25519 check) per signature: 20 batches of 16 heads.
    assert.equal(lookups, 20);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
