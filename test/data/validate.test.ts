import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIsoUtc, parseNumberCell } from '../../data/validate.ts';

test('parseIsoUtc rejects a date Date.UTC would move rather than read it as another', () => {
  // Date.UTC reads years 0-99 as 1900-1999: 0023 came back as 1923-07-03.
  assert.equal(parseIsoUtc('0023-07-03T00:00Z'), null);
  assert.equal(parseIsoUtc('0099-12-31T23:30Z'), null);
  assert.equal(parseIsoUtc('2023-02-30T00:00Z'), null);
  assert.equal(parseIsoUtc('2023-07-03T00:00Z'), Date.parse('2023-07-03T00:00:00Z'));
  assert.equal(parseIsoUtc('1999-12-31T23:30:00+00:00'), Date.parse('1999-12-31T23:30:00Z'));
});

test('parseNumberCell reads plain decimals, padded or not, and refuses hex, binary, octal, Infinity and inner spaces', () => {
  assert.deepEqual(['-12.5', '1e3', ' 12 ', '+.5', '7.'].map(parseNumberCell), [-12.5, 1000, 12, 0.5, 7]);
  for (const bad of ['0x1F', '0b101', '0o17', 'Infinity', '-Infinity', '1 2', '1_000', '1e400']) assert.ok(Number.isNaN(parseNumberCell(bad)), bad);
  assert.equal(parseNumberCell('  '), null);
});
