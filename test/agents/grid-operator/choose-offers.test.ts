// test-file-timeout: 30
/**
 * The grid operator marked as covered every half-hour of a bought offer's window, though only
 * the stress window's are ever asked about: one catalogue item from any registered BPP, with a
 * window to the year 3026, made it fill a Map past its 2^24 entries (minutes of CPU, gigabytes,
 * then a throw and a retry), found by a helper's review. Now only the overlap is walked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseOffers } from '../../../agents/grid-operator/policy.ts';
import type { CatalogOffer } from '../../../beckn/index.ts';

const T = Date.parse('2026-01-15T14:00:00Z');
const HOUR = 3_600_000;

test('an offer whose window runs for a thousand years is bought for the stress window it meets, at once', () => {
  const forever = { providerId: 'p', itemId: 'i-forever', windowStartMs: T, windowEndMs: Date.parse('3026-01-15T15:00:00Z'), availableKw: 500, minKw: 100, priceGbpPerMwh: 0 } as unknown as CatalogOffer;
  const later = { ...forever, itemId: 'i-later', windowEndMs: T + 4 * HOUR, priceGbpPerMwh: 10 } as unknown as CatalogOffer;
  const need = { windowStartMs: T + HOUR, windowEndMs: T + 3 * HOUR, wantKw: 300, maxPriceGbpPerMwh: 100 };
  // Before, the bought window's 17 million half-hours went into one Map, which throws past 2^24 entries.
  const chosen = chooseOffers([later, forever], need, 1000, [{ startMs: T - 1000 * HOUR, endMs: Date.parse('2999-01-01T00:00:00Z'), kw: 100 }]);
  // Already 100 kW bought over the stress window: 200 lack, the free offer (cheapest) covers it, the other is not needed.
  assert.deepEqual(chosen.map((c) => [c.offer.itemId, c.kw]), [['i-forever', 200]]);
});
