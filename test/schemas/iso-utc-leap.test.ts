// test-file-timeout: 30
/**
 * Found by a helper's review: 29 February of any year passed ISO_UTC_PATTERN, and `Date` read
 * 2027-02-29 as 1 March, so an offer ending then was stored and planned an hour long while
 * Python and Go readers of the ledger refused the date. The pattern now knows leap years.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ISO_UTC_PATTERN } from '../../schemas/common.ts';

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

test('29 February is a date in leap years only, as the Gregorian rule says', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 9999 }), (y) => {
      assert.equal(ISO_UTC_PATTERN.test(`${String(y).padStart(4, '0')}-02-29T12:00Z`), isLeap(y), String(y));
    }),
    { seed: 29, numRuns: 2000 },
  );
  for (const y of [1900, 2000, 2024, 2027, 2100, 2400]) assert.equal(ISO_UTC_PATTERN.test(`${y}-02-29T00:00:00Z`), isLeap(y), String(y));
  for (const ok of ['2027-02-28T23:00Z', '2026-12-31T23:59:59.999Z', '2027-01-31T00:00Z']) assert.ok(ISO_UTC_PATTERN.test(ok), ok);
});

test("an on-site offer's half-hour times know leap years too, and the exported schema says what the site checks beyond it", async () => {
  const { decodeWith, EnergyOffered } = await import('../../schemas/index.ts');
  const offer = (to: string) => ({ assetId: 'pv-1', from: '2027-02-28T23:00:00Z', to, powerKw: 100, priceGbpPerMwh: 50, carbonGPerKwh: 20 });
  assert.equal(decodeWith(EnergyOffered.data, offer('2027-02-29T00:00:00Z')).ok, false, 'no 29 February in 2027 (Date reads it as 1 March: an hour-long offer)');
  assert.equal(decodeWith(EnergyOffered.data, offer('2027-03-01T00:00:00Z')).ok, true);
  const { readFileSync } = await import('node:fs');
  const exported = JSON.parse(readFileSync(new URL('../../schemas/json/onsite.energy.offered.v1.json', import.meta.url), 'utf8')) as { description?: string };
  assert.match(exported.description ?? '', /to must be after from, by whole half-hours, at most 7 days later/);
});
