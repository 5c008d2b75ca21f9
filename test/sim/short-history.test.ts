import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortHistoryNote } from '../../sim/simulation.ts';

const DATA_FROM = Date.parse('2022-12-31T23:30:00Z');

test('a run with less data before it than the forecaster wants says so, and until when; one with enough says nothing', { timeout: 10_000 }, () => {
  const wanted = 1830 * 1_800_000; // the ensemble's 38.1 days
  const early = Date.parse('2023-01-09T00:00:00Z');
  assert.deepEqual(shortHistoryNote(early, DATA_FROM, wanted), ['forecaster history: the data holds 8.0 days before 2023-01-09; the forecaster wants 38.1 days, so it fits on what there is until 2023-02-08T02:30Z']);
  assert.deepEqual(shortHistoryNote(DATA_FROM + wanted, DATA_FROM, wanted), []);
  assert.deepEqual(shortHistoryNote(Date.parse('2023-07-03T00:00:00Z'), DATA_FROM, wanted), []);
  // The bare LSTMs want no more than the 8 days every run has.
  assert.deepEqual(shortHistoryNote(early, DATA_FROM, 0), []);
  assert.equal(shortHistoryNote(DATA_FROM + wanted - 1_800_000, DATA_FROM, wanted).length, 1);
});
