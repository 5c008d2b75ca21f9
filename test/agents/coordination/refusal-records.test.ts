import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RefusalRecords, UNVERIFIED, type RefusalRecordLimits } from '../../../agents/coordination/refusal-records.ts';
import type { RejectionData } from '../../../agents/coordination/intake.ts';

const refusal = (reason: string): RejectionData => ({ action: 'search', messageId: null, transactionId: null, bapId: null, httpStatus: 401, code: '10001', reason, path: null });
const SUMMARY = 'unrecorded-refusals';
const countOf = (r: RejectionData) => Number(/^(\d+) refusal/.exec(r.reason)?.[1]);

describe('refusals recorded at a bounded rate', { timeout: 30_000 }, () => {
  test('past the unverified bucket refusals are counted, and the count is recorded before the next one recorded', () => {
    const rr = new RefusalRecords({ unverified: { perSecond: 0.5, burst: 2 }, perSigner: { perSecond: 1, burst: 5 } });
    const t0 = Date.UTC(2026, 0, 15, 10);
    const got = [1, 2, 3, 4, 5].map((i) => rr.admit(refusal(`junk ${i}`), null, t0));
    assert.deepEqual(got.map((g) => g.record.map((r) => r.reason)), [['junk 1'], ['junk 2'], [], [], []]);
    assert.deepEqual(got.map((g) => g.startedSuppressing), [false, false, true, false, false]);
    // A verified signer is not held back by unsigned junk.
    assert.deepEqual(rr.admit(refusal('signed, bad schema'), 'bap.example', t0).record.map((r) => r.reason), ['signed, bad schema']);
    // Two seconds later one token is back: the summary of the three, then the refusal.
    const next = rr.admit(refusal('junk 6'), null, t0 + 2_000).record;
    assert.equal(next.length, 2);
    assert.equal(next[0]!.code, SUMMARY);
    assert.equal(next[0]!.httpStatus, 429);
    assert.equal(next[0]!.bapId, null);
    assert.match(next[0]!.reason, /^3 refusals of requests without a verified signature at 2026-01-15T10:00:00.000Z answered but not recorded one by one \(over 0.5 a second, burst 2\); the last: junk 5$/);
    assert.equal(next[1]!.reason, 'junk 6');
    assert.deepEqual(rr.drain(), []);
  });

  test('a verified signer over its own rate: counted under its name; drain records what is left', () => {
    const rr = new RefusalRecords({ unverified: { perSecond: 1, burst: 1 }, perSigner: { perSecond: 1, burst: 1 } });
    assert.equal(rr.admit(refusal('a'), 'bap.example', 0).record.length, 1);
    assert.equal(rr.admit(refusal('b'), 'bap.example', 0).record.length, 0);
    assert.equal(rr.admit(refusal('c'), 'other.example', 0).record.length, 1);
    const left = rr.drain();
    assert.equal(left.length, 1);
    assert.equal(left[0]!.bapId, 'bap.example');
    assert.match(left[0]!.reason, /^1 refusal of requests signed by "bap.example" at /);
    assert.deepEqual(rr.drain(), []);
  });

  test('property: no refusal is lost (recorded, or counted in a summary), and the events recorded stay within twice the rate', () => {
    const limits: RefusalRecordLimits = { unverified: { perSecond: 0.2, burst: 5 }, perSigner: { perSecond: 1, burst: 3 } };
    fc.assert(
      fc.property(fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 3_000 }), signer: fc.constantFrom(null, 'a.example', 'b.example') }), { maxLength: 300 }), (reqs) => {
        const rr = new RefusalRecords(limits);
        let t = 0;
        const events: Array<{ key: string; r: RejectionData }> = [];
        for (const q of reqs) {
          t += q.gapMs;
          for (const r of rr.admit(refusal('x'), q.signer, t).record) events.push({ key: q.signer ?? UNVERIFIED, r });
        }
        const drained = rr.drain();
        const all = [...events.map((e) => e.r), ...drained];
        const accounted = all.reduce((n, r) => n + (r.code === SUMMARY ? countOf(r) : 1), 0);
        assert.equal(accounted, reqs.length);
        // Per sender: at most burst + rate × time refusals recorded one by one, each with at most one summary before it.
        for (const [key, lim] of [[UNVERIFIED, limits.unverified], ['a.example', limits.perSigner], ['b.example', limits.perSigner]] as const) {
          const mine = events.filter((e) => e.key === key);
          const single = mine.filter((e) => e.r.code !== SUMMARY).length;
          assert.ok(single <= lim.burst + (t / 1000) * lim.perSecond + 1e-9, `${key}: ${single} recorded in ${t} ms`);
          assert.ok(mine.length <= 2 * single);
        }
      }),
      { numRuns: 200 },
    );
  });
});
