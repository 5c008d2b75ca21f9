import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { readResults, writeResults, writeResultsKeeping } from '../../bench/report.ts';

// Runs that share a results file (schedule.json: the full period and each walk-forward) must
// keep each other's results: a full-period run once dropped the walk-forward's keys.
test('writing into a results file keeps what else it holds and replaces only the fields written', { timeout: 10_000 }, () => {
  const name = `test-keeping-${process.pid}`;
  const quiet = console.log;
  console.log = () => undefined;
  try {
    writeResults(name, { walkForward: { months: 8 }, policies: ['old'] });
    const file = writeResultsKeeping(name, { policies: ['new'], fullPeriodLstm: { days: 92 } });
    assert.match(file, /bench\/results\/test-keeping-\d+\.json$/);
    assert.deepEqual(readResults(name), { walkForward: { months: 8 }, policies: ['new'], fullPeriodLstm: { days: 92 } });
  } finally {
    console.log = quiet;
    rmSync(new URL(`../../bench/results/${name}.json`, import.meta.url), { force: true });
  }
});
