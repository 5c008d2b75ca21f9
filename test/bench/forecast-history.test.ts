import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMonthsHaveData, shortHistoryNotes } from '../../bench/forecast.ts';
import { BenchUsageError } from '../../bench/report.ts';
import { monthsBetween, pooledOver, unscoredMonthNotes, walkForward } from '../../bench/_walk-forward.ts';
import { ForecastInputError, type SeriesForecaster } from '../../agents/grid/index.ts';

// A file that starts shortly before the first month scored (a later quarter with no history
// before it) must say so: its first weeks are not the forecaster as it runs with its window
// full. And a month the file holds nothing of is refused before hours of forecasting, not
// printed as a row of NaN.
describe('forecast walk-forward on a file of another period', { timeout: 10_000 }, () => {
  const DAY = 48;
  const at = (iso: string) => Date.parse(iso);
  const month = (label: string) => ({ label, fromMs: at(`${label}-01T00:00:00Z`) });
  const months = (a: string, b: string) => monthsBetween(at(`${a}-01T00:00:00Z`), at(`${b}-01T00:00:00Z`));

  test('a month the file starts less than the window before gets a note naming what the data hold', () => {
    const notes = shortHistoryNotes(at('2023-10-01T00:00:00Z'), [month('2023-10'), month('2023-11')], 28 * DAY);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^2023-10: the data hold 0\.0 of the 28\.0 days before the month/);
    assert.match(shortHistoryNotes(at('2023-10-01T00:00:00Z'), [month('2023-11')], 45 * DAY)[0] ?? '', /^2023-11: the data hold 31\.0 of the 45\.0 days/);
    // A file that starts long enough before the month: no note (it is given the file's start, never its gaps).
    assert.deepEqual(shortHistoryNotes(at('2023-01-01T00:00:00Z'), [month('2023-03')], 38 * DAY), []);
  });

  test('a month the file holds nothing of is refused with the span of the file; one it holds in part is scored', () => {
    // A series from 2023-09-01 to 2023-12-01 (the window the bench cuts), with values from 2023-10-01 on.
    const from = at('2023-09-01T00:00:00Z');
    const series = new Float64Array(91 * DAY).fill(Number.NaN);
    for (let i = 30 * DAY; i < series.length; i++) series[i] = 150 + (i % DAY);
    // The file itself runs on to 2024-01-01: the error names that, not the window.
    const file = { what: 'the carbon file x.csv', fromMs: at('2023-10-01T00:00:00Z'), toMs: at('2024-01-01T00:00:00Z') };
    assert.doesNotThrow(() => checkMonthsHaveData(series, from, months('2023-10', '2023-12'), file));
    const partial = Float64Array.from(series);
    partial.fill(Number.NaN, 75 * DAY);
    assert.doesNotThrow(() => checkMonthsHaveData(partial, from, months('2023-11', '2023-12'), file));
    assert.throws(() => checkMonthsHaveData(series, from, months('2023-09', '2023-11'), file), (e: unknown) => e instanceof BenchUsageError && /2023-09 has no data to score: the carbon file x\.csv covers 2023-10-01T00:00Z to 2024-01-01T00:00Z/.test(e.message));
    const after = new Float64Array(122 * DAY).fill(Number.NaN);
    after.set(series);
    assert.throws(() => checkMonthsHaveData(after, from, months('2023-11', '2024-01'), file), /2023-12 has no data to score/);
  });

  test('a month with every origin skipped is named and left out of the pools, which it made NaN', async () => {
    // Two months of a daily shape; the stand-in forecaster refuses every origin before 2023-11-01
    // (as the ensemble refuses one with too little history) and forecasts yesterday + 5 after.
    const from = at('2023-09-01T00:00:00Z');
    const series = Float64Array.from({ length: 95 * DAY }, (_, i) => 150 + (i % DAY) + (i % 7));
    const start = at('2023-11-01T00:00:00Z');
    const forecaster: SeriesForecaster = {
      describe: 'stand-in@1',
      forecast(h, nowMs) {
        if (nowMs < start) return Promise.reject(new ForecastInputError('stand-in', 'too little history'));
        const n = h.values.length;
        const points = Array.from({ length: 96 }, (_, k) => {
          const p = (h.values[n - 48 + (k % 48)] ?? 150) + 5;
          return { p10: p - 10, p50: p, p90: p + 10 };
        });
        return Promise.resolve({ modelId: 'stand-in', modelVersion: '1', points });
      },
    };
    const rows = await walkForward({ forecaster, actual: series, seriesFromMs: from, months: months('2023-10', '2023-12'), historySlots: 28 * DAY, stride: 24 });
    assert.deepEqual(rows.map((r) => [r.month, r.origins > 0]), [['2023-10', false], ['2023-11', true]]);
    assert.ok(Number.isNaN(rows[0]!.ratio24hVsYesterday));
    const pooled = pooledOver(rows);
    const alone = pooledOver(rows.slice(1));
    assert.ok(Number.isFinite(pooled.ratio24h) && Number.isFinite(pooled.coverage), `pooled: ${JSON.stringify(pooled)}`);
    assert.deepEqual(pooled, alone);
    const notes = unscoredMonthNotes(rows);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^2023-10: nothing scored \(0 origins forecast, \d+ skipped for too little history before them\)/);
  });
});
