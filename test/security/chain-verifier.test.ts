/**
 * The pure verify-on-read rule: which events of a stream a reader may act on, whatever was
 * mixed in among them (forgeries by unknown keys, forgeries chained on the real head,
 * replays, tampered copies).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { ChainVerifier, MAX_HEADLESS } from '../../core/ledger/chain-verifier.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { hashEvent, sealBatch } from '../../core/ledger/seal.ts';
import type { Envelope, NewEvent } from '../../core/envelope/envelope.ts';

const site = new MemoryKeyring('site-keys');
const attacker = new MemoryKeyring('attacker-keys');
// The site knows its agents' public keys only.
site.signingKey('grid');
site.signingKey('compute');

function ev(source = 'grid', n = 0): NewEvent {
  return { id: randomUUID(), type: 'grid.forecast.published', version: 1, time: '2024-01-01T00:00:00.000Z', source, correlationId: 'c', causationId: null, data: { n } };
}

/** A genuine stream of `n` events, one append each, positions 1..n. */
function genuine(stream: string, n: number, from = 1): Envelope[] {
  const out: Envelope[] = [];
  for (let i = 0; i < n; i++) {
    const [e] = sealBatch(stream, [ev('grid', i)], out.at(-1), site);
    out.push({ ...e!, position: from + i });
  }
  return out;
}

function forgeAfter(stream: string, head: Envelope | undefined, keys = attacker, source = 'grid', position = 999): Envelope {
  const [e] = sealBatch(stream, [ev(source, 666)], head, keys);
  return { ...e!, position };
}

describe('ChainVerifier', { timeout: 30_000 }, () => {
  test('forged events under ever new stream names are remembered for at most MAX_HEADLESS streams; genuine streams are kept', () => {
    // Found by a helper's review, run there: every forged stream name made an entry that was
    // never dropped, ~1 MB of every live reader's memory per forged message of 1,024 events.
    const v = new ChainVerifier(site);
    const real = genuine('grid-1', 3);
    v.check(real[0]!);
    for (let i = 0; i < MAX_HEADLESS + 5_000; i++) assert.equal(v.check(forgeAfter(`junk-${i}`, undefined)).ok, false);
    assert.equal(v.knows('junk-0'), false, 'the oldest headless stream is forgotten');
    assert.equal(v.knows(`junk-${MAX_HEADLESS + 4_999}`), true);
    assert.equal(v.head('grid-1')?.hash, real[0]!.hash, 'a stream with a verified head is never forgotten');
    assert.deepEqual(v.check(real[1]!), { ok: true });
  });

  test('an event whose stream name no store takes ("> ", "*", too long) is refused at once, naming it', () => {
    const v = new ChainVerifier(site);
    for (const name of ['>', '*', 'a.b', 'x'.repeat(201)]) {
      const verdict = v.check(forgeAfter(name, undefined, site));
      assert.equal(verdict.ok, false);
      assert.match((verdict as { reason: string }).reason, /is not one a store accepts/);
      assert.equal(v.knows(name), false);
    }
  });

  test('a genuine stream verifies event by event', () => {
    const v = new ChainVerifier(site);
    for (const e of genuine('grid-1', 5)) assert.deepEqual(v.check(e), { ok: true });
    assert.equal(v.head('grid-1')?.revision, 4);
  });

  test('a forgery signed by an unknown key is refused, and the next genuine event still verifies', () => {
    const real = genuine('grid-1', 3);
    const v = new ChainVerifier(site);
    v.check(real[0]!);
    v.check(real[1]!);
    // Chained exactly on the real head, signed as "grid" by a key the site does not know.
    const forged = forgeAfter('grid-1', real[1]);
    const verdict = v.check(forged);
    assert.equal(verdict.ok, false);
    assert.match((verdict as { reason: string }).reason, /bad signature/);
    assert.equal(v.head('grid-1')?.hash, real[1]!.hash, 'the head stays on the last verified event');
    assert.deepEqual(v.check(real[2]!), { ok: true }, 'the real event at the same revision verifies');
  });

  test('a source with no registered key is refused, naming the source', () => {
    const v = new ChainVerifier(site);
    const verdict = v.check(forgeAfter('evil-1', undefined, attacker, 'evil'));
    assert.deepEqual(verdict, { ok: false, reason: 'no registered key for source "evil"' });
  });

  test('a replayed genuine event (old revision) is refused as out of place', () => {
    const real = genuine('grid-1', 3);
    const v = new ChainVerifier(site);
    for (const e of real) v.check(e);
    const verdict = v.check({ ...real[1]!, position: 50 });
    assert.equal(verdict.ok, false);
    assert.match((verdict as { reason: string }).reason, /revision 1 follows 2 \(expected 3\)/);
  });

  test('a row tampered in place is refused; its successor, which signed over the original hash, still verifies', () => {
    const real = genuine('job-1', 4);
    const tampered = { ...real[1]!, data: { n: 1e9 } };
    const v = new ChainVerifier(site);
    const verdicts = [real[0]!, tampered, real[2]!, real[3]!].map((e) => v.check(e).ok);
    assert.deepEqual(verdicts, [true, false, true, true]);
  });

  test('a tampered row whose hash was recomputed breaks the link: the stream stops verifying after it', () => {
    const real = genuine('job-1', 3);
    const rehashed = { ...real[1]!, data: { n: 1e9 } };
    (rehashed as { hash: string }).hash = hashEvent(rehashed);
    const v = new ChainVerifier(site);
    assert.deepEqual([real[0]!, rehashed, real[2]!].map((e) => v.check(e).ok), [true, false, false]);
  });

  test('junk in any field is a refusal with a reason, never a throw', () => {
    const v = new ChainVerifier(site);
    const base = genuine('x-1', 1)[0]!;
    const junk: Array<Partial<Record<keyof Envelope, unknown>>> = [{ data: 1n as unknown }, { data: Infinity }, { prevHash: 42 }, { hash: null }, { sig: {} }, { source: '' }, { revision: -1 }, { version: 'x' }, { time: 5 }];
    for (const j of junk) {
      const verdict = v.check({ ...base, ...j } as Envelope);
      assert.equal(verdict.ok, false, JSON.stringify(Object.keys(j)));
    }
  });

  test('property: whatever forgeries are mixed into a genuine stream, exactly the genuine events verify, in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.record({ at: fc.nat(), kind: fc.constantFrom('unknown-key', 'no-key', 'replay', 'tampered-copy', 'random-link') }), { maxLength: 8 }),
        (n, inserts) => {
          const real = genuine('s-1', n);
          const mixed: Array<{ e: Envelope; genuine: boolean }> = real.map((e) => ({ e, genuine: true }));
          for (const ins of inserts) {
            const at = ins.at % (mixed.length + 1);
            // The real head just before the insertion point: what an attacker would chain on.
            const before = mixed.slice(0, at).filter((m) => m.genuine).map((m) => m.e);
            const head = before.at(-1);
            // Only what exists by then can be copied: a genuine event before the insertion point.
            const copied = before.length ? before[ins.at % before.length] : undefined;
            let forged: Envelope;
            if (ins.kind === 'unknown-key') forged = forgeAfter('s-1', head);
            else if (ins.kind === 'no-key') forged = forgeAfter('s-1', head, attacker, 'nobody');
            else if (ins.kind === 'replay') {
              if (!copied) continue;
              forged = copied;
            } else if (ins.kind === 'tampered-copy') {
              if (!copied) continue;
              forged = { ...copied, data: { n: -1 } };
            } else forged = { ...forgeAfter('s-1', head, site), prevHash: 'f'.repeat(64) };
            mixed.splice(at, 0, { e: forged, genuine: false });
          }
          const v = new ChainVerifier(site);
          const accepted = mixed.filter((m) => v.check(m.e).ok).map((m) => m.e.id);
          assert.deepEqual(accepted, real.map((e) => e.id));
        },
      ),
      { numRuns: 300 },
    );
  });
});
