import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataFileError, MAX_INPUT_FILE_BYTES, loadCarbonCsv } from '../../data/index.ts';
import { parseCsv, readCsvText } from '../../data/csv.ts';
import { CARBON_HEADER, carbonLines, writeCsv } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'caco-csv-test-'));
const refused = (path: string, reason: RegExp) => (e: unknown) => e instanceof DataFileError && e.message.startsWith(`${path}: `) && reason.test(e.message);

/**
 * Every data file is read whole into one string: what a `.gz` unpacks to is bounded as the file
 * itself is, and a `.gz` that cannot be unpacked is a DataFileError naming it, not zlib's error
 * and a stack trace.
 */
describe('readCsvText on hostile files', () => {
  test('a gzip bomb is refused once it unpacks past the bound, naming the file', () => {
    // 4 MiB of zeros gzip to ~4 KB; a 1 MiB bound stands in for the default 32 MiB so the test stays small.
    const path = join(dir, 'bomb.csv.gz');
    writeFileSync(path, gzipSync(Buffer.alloc(4 * 2 ** 20)));
    assert.throws(() => readCsvText(path, 2 ** 20), refused(path, /decompresses to more than 1 MiB/));
  });

  test('a .gz that unpacks to just the bound is read', () => {
    const path = join(dir, 'edge.csv.gz');
    writeFileSync(path, gzipSync(Buffer.alloc(2 ** 20, 'a')));
    assert.equal(readCsvText(path, 2 ** 20).length, 2 ** 20);
  });

  test('a file named .gz that is not gzip is refused by the loader, naming the file', () => {
    const path = join(dir, 'x.csv.gz');
    writeFileSync(path, [CARBON_HEADER, ...carbonLines('2023-01-01T00:00Z', [['100', '100']])].join('\n') + '\n');
    assert.throws(() => loadCarbonCsv(path), refused(path, /is not gzip/));
  });

  test('a gzip file cut short is refused, naming the file', () => {
    const path = join(dir, 'cut.csv.gz');
    writeFileSync(path, gzipSync(Buffer.alloc(2 ** 16, 'a')).subarray(0, 40));
    assert.throws(() => readCsvText(path), refused(path, /is not gzip that can be read \(unexpected end of file\)/));
  });

  test('a plain file over the bound is refused before it is read', () => {
    const path = writeCsv([CARBON_HEADER]);
    assert.throws(() => readCsvText(path, 10), refused(path, /is \d+ bytes; data files are read whole, at most 10 bytes: cut it/));
  });

  test('the loaders use the 32 MiB bound: a 300 MiB file is refused by its size alone', () => {
    assert.equal(MAX_INPUT_FILE_BYTES, 32 * 2 ** 20);
    // Sparse: nothing is written and, with the bound checked first, nothing is read.
    const path = join(dir, 'huge.csv');
    writeFileSync(path, '');
    truncateSync(path, 300 * 2 ** 20);
    assert.throws(() => loadCarbonCsv(path), refused(path, /is 300 MiB; data files are read whole, at most 32 MiB/));
  });

  test('a .gz within the bound still loads', () => {
    const path = writeCsv([CARBON_HEADER, ...carbonLines('2023-01-01T00:00Z', [['100', '110']])], { gzip: true });
    assert.equal(loadCarbonCsv(path).rows.length, 1);
  });
});

test('a record of the wrong width fails at its line as it is read, not after the whole file is held', () => {
  // Found by a helper's review, run there: a --carbon file of its header and 256 MiB of ",,,,"
  // lines ran the process out of memory before the first line was checked.
  const text = 'datetime_utc,actual\n' + ',,,,\n'.repeat(2_000_000);
  const before = process.memoryUsage().heapUsed;
  assert.throws(() => [...parseCsv(text, 'wide.csv').records], (e: unknown) => e instanceof DataFileError && /wide\.csv:2: expected 2 cells like the header, got 5/.test(e.message));
  assert.ok(process.memoryUsage().heapUsed - before < 64 * 2 ** 20, 'not every record was kept');
});

test('an error quotes at most 64 characters of a cell, and its length', () => {
  // Found by a helper's review, run there: a line starting with a 50 MiB cell put 52 MB on stderr.
  const path = writeCsv([CARBON_HEADER, `${"9".repeat(100_000)},2023-01-01T00:30Z,100,110,moderate`]);
  assert.throws(() => loadCarbonCsv(path), (e: unknown) => e instanceof DataFileError && e.message.length < 400 && /"9{64}…" \(100000 characters\) is not an ISO 8601 UTC timestamp/.test(e.message));
});

test('a loader stops at the first record it refuses: records of the right width are not all held first', () => {
  // From a helper's review of the fix above, run there: 32 MiB of ",,,," under the 5-column
  // carbon header held 1.9 GB before the loader looked at the first record.
  const path = writeCsv([CARBON_HEADER, ...Array.from({ length: 1_000_000 }, () => ',,,,')]);
  const before = process.memoryUsage().heapUsed;
  assert.throws(() => loadCarbonCsv(path), (e: unknown) => e instanceof DataFileError && /:2 \(column "from_utc"\): "" is not an ISO 8601 UTC timestamp/.test(e.message));
  assert.ok(process.memoryUsage().heapUsed - before < 64 * 2 ** 20, 'the records after the refused one were not parsed');
});
