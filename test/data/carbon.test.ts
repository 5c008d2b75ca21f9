import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataFileError, loadCarbonCsv, loadHourlyCarbonCsv } from '../../data/index.ts';
import { CARBON_HEADER, carbonLines, writeCsv } from './helpers.ts';

describe('loadCarbonCsv on the project copy', () => {
  const { rows, dropped } = loadCarbonCsv();

  test('loads every half-hour, sorted, with the README known bad actuals set to missing', () => {
    assert.equal(rows.length, 13_105);
    for (let i = 1; i < rows.length; i++) assert.equal(rows[i]!.fromMs - rows[i - 1]!.fromMs, 30 * 60 * 1000);
    const missing = rows.filter((r) => r.actualGPerKwh === null).map((r) => new Date(r.fromMs).toISOString().slice(0, 16));
    // README: 5 empty actuals 2023-01-26T13:30..15:30, actual = 0 at 2023-01-31T01:00 and 2023-06-07T09:30..11:00.
    assert.deepEqual(missing, [
      '2023-01-26T13:30', '2023-01-26T14:00', '2023-01-26T14:30', '2023-01-26T15:00', '2023-01-26T15:30',
      '2023-01-31T01:00', '2023-06-07T09:30', '2023-06-07T10:00', '2023-06-07T10:30', '2023-06-07T11:00',
    ]);
    assert.equal(dropped.length, 10);
    assert.ok(rows.every((r) => r.actualGPerKwh === null || (r.actualGPerKwh > 0 && r.actualGPerKwh <= 1500)));
  });

  test('every dropped entry names the file and a data line', () => {
    for (const d of dropped) {
      assert.match(d.file, /gb_national_ci_forecast_actual/);
      assert.ok(d.line >= 2 && d.line <= 13_106);
    }
  });
});

describe('loadCarbonCsv on bad files', () => {
  test('a missing column is an error naming the file and the column', () => {
    const path = writeCsv(['from_utc,to_utc,forecast_gco2_per_kwh', '2023-01-01T00:00Z,2023-01-01T00:30Z,100']);
    assert.throws(() => loadCarbonCsv(path), (e: unknown) => e instanceof DataFileError && e.message.includes(path) && e.message.includes('actual_gco2_per_kwh'));
  });

  test('a column in another unit is missing, not silently read', () => {
    const path = writeCsv(['from_utc,to_utc,forecast_kgco2_per_kwh,actual_kgco2_per_kwh', '2023-01-01T00:00Z,2023-01-01T00:30Z,0.1,0.1']);
    assert.throws(() => loadCarbonCsv(path), /missing required column "actual_gco2_per_kwh"/);
  });

  test('unsorted timestamps are an error naming the line', () => {
    const lines = carbonLines('2023-01-01T00:00Z', [['1', '100'], ['1', '101'], ['1', '102']]);
    const path = writeCsv([CARBON_HEADER, lines[0]!, lines[2]!, lines[1]!]);
    assert.throws(() => loadCarbonCsv(path), (e: unknown) => e instanceof DataFileError && e.line === 4 && /not sorted/.test(e.message) && e.message.includes(`${path}:4`));
  });

  test('a duplicate timestamp is an error naming both lines', () => {
    const lines = carbonLines('2023-01-01T00:00Z', [['1', '100'], ['1', '101']]);
    const path = writeCsv([CARBON_HEADER, lines[0]!, lines[1]!, lines[1]!]);
    assert.throws(() => loadCarbonCsv(path), (e: unknown) => e instanceof DataFileError && e.line === 4 && /duplicate.*line 3/.test(e.message));
  });

  test('a timestamp without a UTC designator is an error', () => {
    const path = writeCsv([CARBON_HEADER, '2023-01-01 00:00,2023-01-01T00:30Z,1,100,low']);
    assert.throws(() => loadCarbonCsv(path), /:2 \(column "from_utc"\).*not an ISO 8601 UTC/);
  });

  test('an empty forecast cell (an optional column nothing decides on) is not reported as dropped; an empty actual, or a bad forecast, still is', () => {
    // 20 good rows after, so one bad forecast is an isolated value, not a file in another unit.
    const good = Array.from({ length: 20 }, (): [string, string] => ['95', '99']);
    const path = writeCsv([CARBON_HEADER, ...carbonLines('2023-01-01T00:00Z', [['', '100'], ['', '101'], ['x', '102'], ['90', ''], ...good])]);
    const r = loadCarbonCsv(path);
    assert.deepEqual(r.rows.slice(0, 4).map((x) => [x.forecastGPerKwh, x.actualGPerKwh]), [[null, 100], [null, 101], [null, 102], [90, null]]);
    assert.deepEqual(r.dropped.map((d) => [d.line, d.reason]), [[4, 'forecast_gco2_per_kwh="x" is not a decimal number'], [5, 'actual_gco2_per_kwh is empty (missing)']]);
  });

  test('a row that is not a half-hour long is an error', () => {
    const path = writeCsv([CARBON_HEADER, '2023-01-01T00:00Z,2023-01-01T01:00Z,1,100,low']);
    assert.throws(() => loadCarbonCsv(path), /to_utc.*not 30 minutes/);
  });

  test('zero, empty, non-numeric and out-of-range values become missing and are reported with their line', () => {
    const cells: Array<[string, string]> = Array.from({ length: 100 }, (_, i) => ['150', String(100 + i)]);
    cells[3] = ['150', '0'];
    cells[7] = ['150', ''];
    cells[11] = ['abc', '120'];
    cells[20] = ['150', '2000'];
    const path = writeCsv([CARBON_HEADER, ...carbonLines('2023-01-01T00:00Z', cells)]);
    const { rows, dropped } = loadCarbonCsv(path);
    assert.equal(rows.length, 100);
    assert.equal(rows[3]!.actualGPerKwh, null);
    assert.equal(rows[7]!.actualGPerKwh, null);
    assert.equal(rows[11]!.forecastGPerKwh, null);
    assert.equal(rows[11]!.actualGPerKwh, 120);
    assert.equal(rows[20]!.actualGPerKwh, null);
    assert.deepEqual(dropped.map((d) => d.line), [5, 9, 13, 22]);
    assert.match(dropped[3]!.reason, /outside 0\.\.1500/);
  });

  test('intensities in kg/kWh, inside the range, are refused by their level, naming the column (a helper\'s review)', () => {
    const cells: Array<[string, string]> = Array.from({ length: 48 }, (_, i) => ['0.15', (0.1 + i / 1000).toFixed(3)]);
    const path = writeCsv([CARBON_HEADER, ...carbonLines('2023-01-01T00:00Z', cells)]);
    assert.throws(() => loadCarbonCsv(path), (e: unknown) => e instanceof DataFileError && /48 of 48 values are at most 5 gCO2\/kWh.*1,000 times larger/.test(e.message));
  });

  test('hex, binary, octal and Infinity intensities are dropped as not decimal numbers, naming line and column; padded and exponent decimals are read', () => {
    const cells: Array<[string, string]> = Array.from({ length: 100 }, () => ['150', '140']);
    cells[0] = ['150', '0x1F'];
    cells[1] = ['150', '0b101'];
    cells[2] = ['0o17', '140'];
    cells[3] = ['150', 'Infinity'];
    cells[4] = ['150', '1 2'];
    cells[5] = [' 1.5e2 ', '-12.5'];
    const path = writeCsv([CARBON_HEADER, ...carbonLines('2023-01-01T00:00Z', cells)]);
    const { rows, dropped } = loadCarbonCsv(path);
    assert.deepEqual(rows.slice(0, 6).map((r) => [r.forecastGPerKwh, r.actualGPerKwh]), [[150, null], [150, null], [null, 140], [150, null], [150, null], [150, null]]);
    assert.deepEqual(dropped.map((d) => [d.line, d.reason]), [
      [2, 'actual_gco2_per_kwh="0x1F" is not a decimal number'],
      [3, 'actual_gco2_per_kwh="0b101" is not a decimal number'],
      [4, 'forecast_gco2_per_kwh="0o17" is not a decimal number'],
      [5, 'actual_gco2_per_kwh="Infinity" is not a decimal number'],
      [6, 'actual_gco2_per_kwh="1 2" is not a decimal number'],
      [7, 'actual_gco2_per_kwh=-12.5 outside 0..1500 gCO2/kWh'],
    ]);
  });

  test('a header naming actual_gco2_per_kwh twice is refused on line 1: which column would be read is ambiguous', () => {
    const path = writeCsv(['from_utc,to_utc,actual_gco2_per_kwh,actual_gco2_per_kwh', '2023-01-01T00:00Z,2023-01-01T00:30Z,100,900']);
    assert.throws(
      () => loadCarbonCsv(path),
      (e: unknown) => e instanceof DataFileError && e.line === 1 && e.column === 'actual_gco2_per_kwh' && /twice \(columns 3 and 4\).*ambiguous/.test(e.message),
    );
  });

  test('a file mostly out of range (wrong unit) is refused', () => {
    const cells: Array<[string, string]> = Array.from({ length: 20 }, () => ['150000', '150000']);
    const path = writeCsv([CARBON_HEADER, ...carbonLines('2023-01-01T00:00Z', cells)]);
    assert.throws(() => loadCarbonCsv(path), /wrong unit/);
  });

  test('gaps are reported, and the forecast column is optional', () => {
    const path = writeCsv(['from_utc,actual_gco2_per_kwh', '2023-01-01T00:00Z,100', '2023-01-01T02:00Z,110']);
    const { rows, dropped } = loadCarbonCsv(path);
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.forecastGPerKwh, null);
    assert.deepEqual(dropped, [{ file: path, line: 3, reason: 'gap: 3 half-hour(s) missing before this row' }]);
  });

  test('a gzipped file loads the same as the plain one', () => {
    const lines = [CARBON_HEADER, ...carbonLines('2023-03-01T00:00Z', [['90', '95'], ['91', '0']])];
    assert.deepEqual(loadCarbonCsv(writeCsv(lines, { gzip: true })).rows, loadCarbonCsv(writeCsv(lines)).rows);
  });
});

describe('loadHourlyCarbonCsv', () => {
  test('the project copy has every hour 2020-01-08..2023-09-30 and nothing dropped', () => {
    const { rows, dropped } = loadHourlyCarbonCsv();
    assert.equal(rows.length, (Date.parse('2023-10-01T00:00Z') - Date.parse('2020-01-08T00:00Z')) / 3_600_000);
    assert.equal(dropped.length, 0);
  });

  test('rows off the hour are an error; empty values are dropped with their line', () => {
    const off = writeCsv(['hour_start_utc,carbon_intensity_gco2_per_kwh', '2023-01-01T00:30Z,100']);
    assert.throws(() => loadHourlyCarbonCsv(off), /not on an hour boundary/);
    const empty = writeCsv(['hour_start_utc,carbon_intensity_gco2_per_kwh', '2023-01-01T00:00Z,100', '2023-01-01T01:00Z,', '2023-01-01T02:00Z,90']);
    const r = loadHourlyCarbonCsv(empty);
    assert.equal(r.rows.length, 2);
    assert.equal(r.dropped[0]!.line, 3);
  });
});
