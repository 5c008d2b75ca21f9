import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { backoffDelayMs, isRetryableStatus, parseRetryAfterMs } from '../../../../agents/grid/sources/backoff.ts';
import { halfHourCeil, knownRange, settlementDatesCovering, splitRange } from '../../../../agents/grid/sources/time-grid.ts';
import { HH, utc } from './helpers.ts';

describe('back-off', () => {
  test('full jitter stays below the exponential cap and the maximum, and honours Retry-After as a floor', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: null }),
        (attempt, base, max, r, retryAfter) => {
          const d = backoffDelayMs(attempt, { maxAttempts: 5, baseDelayMs: base, maxDelayMs: max }, () => r, retryAfter);
          const cap = Math.min(max, base * 2 ** (attempt - 1));
          assert.ok(d >= 0 && d <= max, `delay ${d} outside [0, ${max}]`);
          if (retryAfter === null) assert.ok(d <= cap, `delay ${d} above cap ${cap}`);
          else assert.equal(d, Math.min(max, Math.max(Math.floor(r * cap), retryAfter)));
        },
      ),
    );
  });

  test('the cap doubles per attempt (the jitter draw scales with it)', () => {
    const policy = { maxAttempts: 9, baseDelayMs: 100, maxDelayMs: 1_000_000 };
    const seen = [1, 2, 3, 4].map((a) => backoffDelayMs(a, policy, () => 0.5));
    assert.deepEqual(seen, [50, 100, 200, 400]);
  });

  test('retryable: 5xx and 429; not other 4xx', () => {
    for (const s of [500, 502, 503, 504, 429]) assert.equal(isRetryableStatus(s), true, String(s));
    for (const s of [400, 401, 403, 404, 422]) assert.equal(isRetryableStatus(s), false, String(s));
  });

  test('Retry-After in seconds or as an HTTP date', () => {
    const now = utc('2026-01-15T17:00:00Z');
    assert.equal(parseRetryAfterMs('3', now), 3000);
    assert.equal(parseRetryAfterMs('Thu, 15 Jan 2026 17:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfterMs('soon', now), null);
    assert.equal(parseRetryAfterMs(null, now), null);
  });
});

describe('time grid', () => {
  test('splitRange covers the range with contiguous pieces no longer than the maximum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 700 }), (a, len, max) => {
        const pieces = splitRange(a, a + len, max);
        let at = a;
        for (const [x, y] of pieces) {
          assert.equal(x, at);
          assert.ok(y > x && y - x <= max);
          at = y;
        }
        assert.equal(at, len === 0 ? a : a + len);
      }),
    );
  });

  test('knownRange ends at the last half-hour that is over at now (with lag)', () => {
    const now = utc('2026-01-15T17:40:00Z');
    assert.deepEqual(knownRange(utc('2026-01-15T16:00Z'), utc('2026-01-15T20:00Z'), now), {
      startMs: utc('2026-01-15T16:00Z'),
      endMs: utc('2026-01-15T17:30Z'),
    });
    // exactly at the end of the 17:00 half-hour it is known; with a 15 min lag it is not
    assert.equal(knownRange(0, Number.MAX_SAFE_INTEGER - HH, utc('2026-01-15T17:30Z')).endMs, utc('2026-01-15T17:30Z'));
    assert.equal(knownRange(0, Number.MAX_SAFE_INTEGER - HH, utc('2026-01-15T17:30Z'), 15 * 60_000).endMs, utc('2026-01-15T17:00Z'));
    assert.equal(halfHourCeil(utc('2026-01-15T16:10Z')), utc('2026-01-15T16:30Z'));
  });

  test('settlement dates follow London midnight (BST days start at 23:00Z)', () => {
    assert.deepEqual(settlementDatesCovering(utc('2023-07-01T22:00Z'), utc('2023-07-01T23:30Z')), ['2023-07-01', '2023-07-02']);
    assert.deepEqual(settlementDatesCovering(utc('2026-01-15T00:00Z'), utc('2026-01-16T00:00Z')), ['2026-01-15']);
    assert.deepEqual(settlementDatesCovering(utc('2026-01-15T00:00Z'), utc('2026-01-15T00:00Z')), []);
  });
});
