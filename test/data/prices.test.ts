import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataFileError, loadPriceCsv } from '../../data/index.ts';
import { PRICE_HEADER, writeCsv } from './helpers.ts';

describe('loadPriceCsv on the project copy', () => {
  const { rows, dropped } = loadPriceCsv();

  test('loads 2023-01-01..09-30 with settlement periods matching UK local time (46 on 2023-03-26)', () => {
    assert.equal(rows.length, 13_104);
    const mar26 = rows.filter((r) => r.settlementDate === '2023-03-26');
    assert.equal(mar26.length, 46);
    assert.equal(Math.max(...mar26.map((r) => r.settlementPeriod)), 46);
  });

  test('both_zero_suspect rows lose both prices; empty market index is missing and reported', () => {
    const both = rows.filter((r) => r.imbalanceGbpPerMwh === null && r.marketIndexGbpPerMwh === null);
    assert.deepEqual(both.map((r) => `${r.settlementDate}/${r.settlementPeriod}`), ['2023-03-26/45', '2023-03-26/46', '2023-08-11/34', '2023-08-11/35']);
    assert.equal(dropped.filter((d) => /empty/.test(d.reason)).length, 142);
    assert.ok(rows.every((r) => r.marketIndexGbpPerMwh !== 0));
    const reported = new Set(dropped.map((d) => d.line));
    rows.forEach((r, i) => {
      if (r.marketIndexGbpPerMwh === null) assert.ok(reported.has(i + 2), `missing market index on line ${i + 2} not reported`);
    });
  });
});

const row = (start: string, end: string, date: string, sp: number, imb: string, mip: string, flag = '0'): string =>
  `${start},${end},${date},${sp},${imb},${mip},${flag}`;

describe('loadPriceCsv on bad files', () => {
  test('a missing column is an error naming file and column', () => {
    const path = writeCsv(['period_start_utc,settlement_date,settlement_period,imbalance_price_gbp_per_mwh', '2023-01-01T00:00Z,2023-01-01,1,50']);
    assert.throws(() => loadPriceCsv(path), (e: unknown) => e instanceof DataFileError && e.column === 'market_index_price_gbp_per_mwh' && e.file === path);
  });

  test('a settlement period that does not match its timestamp (period-end stamps) is an error', () => {
    const path = writeCsv([PRICE_HEADER, row('2023-06-01T00:00Z', '2023-06-01T00:30Z', '2023-06-01', 2, '80', '75')]);
    // 00:00Z in June is 01:00 BST, period 3 of 2023-06-01.
    assert.throws(() => loadPriceCsv(path), /:2 \(column "settlement_period"\).*expected 2023-06-01 period 3/);
  });

  test('a hex price is dropped as not a decimal number; a hex settlement period is an error naming line and column', () => {
    const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16) + 'Z';
    const lines = Array.from({ length: 40 }, (_, i) => {
      const s = Date.parse('2023-01-01T00:00Z') + i * 1_800_000;
      return row(iso(s), iso(s + 1_800_000), '2023-01-01', 1 + i, i === 0 ? '0x50' : '80', i === 1 ? '1e400' : '75');
    });
    const { rows, dropped } = loadPriceCsv(writeCsv([PRICE_HEADER, ...lines]));
    assert.equal(rows[0]!.imbalanceGbpPerMwh, null);
    assert.equal(rows[1]!.marketIndexGbpPerMwh, null);
    assert.deepEqual(dropped.map((d) => [d.line, d.reason]), [
      [2, 'imbalance_price_gbp_per_mwh="0x50" is not a decimal number'],
      [3, 'market_index_price_gbp_per_mwh="1e400" is not a finite number'],
    ]);
    const hexPeriod = writeCsv([PRICE_HEADER, '2023-01-01T00:00Z,2023-01-01T00:30Z,2023-01-01,0x1,80,75,0']);
    assert.throws(() => loadPriceCsv(hexPeriod), (e: unknown) => e instanceof DataFileError && e.line === 2 && e.column === 'settlement_period' && /"0x1" is not a decimal number/.test(e.message));
  });

  test('duplicate periods are an error naming the line', () => {
    const r1 = row('2023-01-01T00:00Z', '2023-01-01T00:30Z', '2023-01-01', 1, '80', '75');
    const path = writeCsv([PRICE_HEADER, r1, r1]);
    assert.throws(() => loadPriceCsv(path), (e: unknown) => e instanceof DataFileError && e.line === 3 && /duplicate/.test(e.message));
  });

  test('placeholders, a zero market index and out-of-range prices become missing with reasons', () => {
    const path = writeCsv([
      PRICE_HEADER,
      row('2023-01-01T00:00Z', '2023-01-01T00:30Z', '2023-01-01', 1, '0', '0', '1'),
      row('2023-01-01T00:30Z', '2023-01-01T01:00Z', '2023-01-01', 2, '0', '0', '0'),
      row('2023-01-01T01:00Z', '2023-01-01T01:30Z', '2023-01-01', 3, '120', '0'),
      row('2023-01-01T01:30Z', '2023-01-01T02:00Z', '2023-01-01', 4, '-2000', '70'),
      ...Array.from({ length: 40 }, (_, i) => {
        const s = Date.parse('2023-01-01T02:00Z') + i * 1_800_000;
        const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16) + 'Z';
        return row(iso(s), iso(s + 1_800_000), '2023-01-01', 5 + i, '60', i % 2 === 0 ? '-5' : '80');
      }),
    ]);
    const { rows, dropped } = loadPriceCsv(path);
    assert.equal(rows[0]!.imbalanceGbpPerMwh, null);
    assert.equal(rows[1]!.marketIndexGbpPerMwh, null);
    assert.equal(rows[2]!.imbalanceGbpPerMwh, 120);
    assert.equal(rows[2]!.marketIndexGbpPerMwh, null);
    assert.equal(rows[3]!.imbalanceGbpPerMwh, null);
    assert.equal(rows[3]!.marketIndexGbpPerMwh, 70);
    assert.equal(rows[4]!.marketIndexGbpPerMwh, -5, 'negative prices are real and kept');
    assert.deepEqual(dropped.map((d) => d.line), [2, 3, 4, 5]);
  });

  test('prices in £/kWh-like magnitudes above the range are refused as a wrong unit', () => {
    const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16) + 'Z';
    const lines = Array.from({ length: 10 }, (_, i) => {
      const s = Date.parse('2023-01-01T00:00Z') + i * 1_800_000;
      return row(iso(s), iso(s + 1_800_000), '2023-01-01', 1 + i, '80000', '75000');
    });
    assert.throws(() => loadPriceCsv(writeCsv([PRICE_HEADER, ...lines])), /wrong unit/);
  });

  test('prices in £/kWh, inside the range, are refused by their level (a helper\'s review: a run billed ~1,000 times too little, exit 0)', () => {
    const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16) + 'Z';
    const lines = Array.from({ length: 48 }, (_, i) => {
      const s = Date.parse('2023-01-01T00:00Z') + i * 1_800_000;
      return row(iso(s), iso(s + 1_800_000), '2023-01-01', 1 + i, (0.05 + i / 1000).toFixed(3), '0.075');
    });
    assert.throws(() => loadPriceCsv(writeCsv([PRICE_HEADER, ...lines])), (e: unknown) => e instanceof DataFileError && e.line === 2 && /48 of 48 values are at most 1 £\/MWh.*1,000 times larger/.test(e.message));
  });
});
