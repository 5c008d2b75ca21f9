// test-file-timeout: 30
/**
 * The workload CSV (`caco simulate --jobs`, the schedule bench's `--jobs`) is read with the data
 * files' RFC 4180 reader and their number rule: a hex power, a header naming a column twice
 * and a row whose cells do not line up with the header were taken before (Number() reads
 * 0x3E8; the first of two columns was read; a short row read its missing cells as empty).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { siteConfig } from '../../../agents/compute/jobs/index.ts';
import { readWorkloadCsv } from '../../../sim/workload/index.ts';

const site = siteConfig();
const HEADER = 'id,class,power_kw,gpu_count,per_gpu_kw,runtime_min,earliest_start_utc,deadline_utc,sla_class,preemptible';
const row = (id: string, power = '500') => `${id},training,${power},,,60,2023-07-03T10:00:00.000Z,2023-07-03T14:00:00.000Z,gold,false`;

test('a power or runtime in hex, binary or as Infinity is a problem of its line, naming the column; decimals with an exponent are read', () => {
  const r = readWorkloadCsv([HEADER, row('a', '0x1F4'), row('b', '0b111110100'), row('c', 'Infinity'), row('d', '5e2')].join('\n'), site);
  assert.deepEqual(r.jobs.map((j) => [j.id, j.powerKw]), [['d', 500]]);
  assert.deepEqual(r.problems.map((p) => [p.line, p.field]), [[2, 'power_kw'], [3, 'power_kw'], [4, 'power_kw']]);
  assert.match(r.problems[0]!.reason, /"0x1F4" is not a decimal number/);
});

test('a header naming a column twice refuses the file on line 1, naming the column', () => {
  const r = readWorkloadCsv([`${HEADER},power_kw`, `${row('a')},9000`].join('\n'), site);
  assert.deepEqual(r.jobs, []);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]!.line, 1);
  assert.equal(r.problems[0]!.field, 'power_kw');
  assert.match(r.problems[0]!.reason, /twice/);
});

test('a row with more or fewer cells than the header refuses the file, naming its line and both counts', () => {
  for (const bad of [`${row('b')},extra`, 'b,training,500,,,60']) {
    const r = readWorkloadCsv([HEADER, row('a'), bad].join('\n'), site);
    assert.deepEqual(r.jobs, []);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.line, 3);
    assert.match(r.problems[0]!.reason, /expected 10 cells like the header, got (11|6)/);
  }
});

test('CRLF, a BOM, blank lines (also of spaces or a tab) and a quoted id are read as before', () => {
  const r = readWorkloadCsv(`\ufeff${HEADER}\r\n${row('a')}\r\n\r\n   \r\n${row('"b"')}\r\n\t\n`, site);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.jobs.map((j) => j.id), ['a', 'b']);
});
