import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMonthsHaveData, shortHistoryNotes } from '../../bench/forecast.ts';
import { BenchUsageError } from '../../bench/report.ts';
import { monthsBetween } from '../../bench/_walk-forward.ts';

// A file that starts shortly before the first month scored (a later quarter with no history
// before it) must say so: its first weeks are not the forecaster as it runs with its window full.
describe('forecast walk-forward: months on short history', { timeout: 10_000 }, () => {
  const DAY = 48;
  const from = Date.parse('2023-09-01T00:00:00Z');
  const month = (label: string) => ({ label, fromMs: Date.parse(`${label}-01T00:00:00Z`) });
  // 2023-09-01 … 2023-12-01: values from 2023-10-01 only (the file starts there).
  const series = new Float64Array(91 * DAY).fill(Number.NaN);
  for (let i = 30 * DAY; i < series.length; i++) series[i] = 150 + (i % DAY);
  const window = 28 * DAY;

  test('a month with less than the window behind it gets a note naming what the data hold', () => {
    const notes = shortHistoryNotes(series, from, [month('2023-10'), month('2023-11')], window);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^2023-10: the data hold 0\.0 of the 28\.0 days before the month/);
  });

  test('a full window, or one with a few gaps, gets none; a window half there does', () => {
    const gappy = Float64Array.from(series);
    for (let i = 35 * DAY; i < 35 * DAY + 10; i++) gappy[i] = Number.NaN;
    assert.deepEqual(shortHistoryNotes(gappy, from, [month('2023-11')], window), []);
    const notes = shortHistoryNotes(series, from, [month('2023-11')], 45 * DAY);
    assert.match(notes[0] ?? '', /^2023-11: the data hold 31\.0 of the 45\.0 days/);
  });

  test('a month the file holds nothing of is refused with the span it covers; one it holds in part is scored', () => {
    // The series runs to 2023-12-01; the file's values from 2023-10-01.
    const months = (a: string, b: string) => monthsBetween(Date.parse(`${a}-01T00:00:00Z`), Date.parse(`${b}-01T00:00:00Z`));
    assert.doesNotThrow(() => checkMonthsHaveData(series, from, months('2023-10', '2023-12'), 'the carbon file x.csv'));
    const partial = Float64Array.from(series);
    partial.fill(Number.NaN, 75 * DAY);
    assert.doesNotThrow(() => checkMonthsHaveData(partial, from, months('2023-11', '2023-12'), 'the carbon file x.csv'));
    assert.throws(() => checkMonthsHaveData(series, from, months('2023-09', '2023-11'), 'the carbon file x.csv'), (e: unknown) => e instanceof BenchUsageError && /2023-09 has no data to score: the carbon file x\.csv covers 2023-10-01T00:00Z to 2023-12-01T00:00Z/.test(e.message));
    const after = new Float64Array(120 * DAY).fill(Number.NaN);
    after.set(series);
    assert.throws(() => checkMonthsHaveData(after, from, months('2023-11', '2024-01'), 'the carbon file x.csv'), /2023-12 has no data to score/);
  });
});
