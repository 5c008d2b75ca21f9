import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareForecasters, type ComparedWeek } from '../../bench/flexibility.ts';

// The forecasters' whole-site comparison the README quotes (`npm run bench -- flexibility --compare …`).
test('compareForecasters: cost a week on the weeks both ran, against the first forecaster, by set and from July', { timeout: 10_000 }, () => {
  const w = (week: string, forecaster: string, set: ComparedWeek['set'], energyGbp: number, carbonT: number, netGbp: number): ComparedWeek => ({ week, forecaster, set, energyGbp, carbonT, netGbp });
  const weeks = [
    w('2023-06-05', 'lstm', 'held-out', 1000, 10, 0),
    w('2023-07-03', 'lstm', 'held-out', 1000, 10, 0),
    w('2023-07-10', 'lstm', 'fresh', 2000, 0, 50),
    w('2023-06-05', 'ensemble', 'held-out', 900, 10, 0), // 100 cheaper
    w('2023-07-03', 'ensemble', 'held-out', 1000, 12, 0), // 2 t × £10 = 20 dearer
    w('2023-07-10', 'ensemble', 'fresh', 2000, 0, 80), // earns 30 more
    w('2023-08-07', 'ensemble', 'held-out', 1, 0, 0), // the LSTMs did not run it: not paired
  ];
  const rows = compareForecasters(weeks, 10);
  const row = (label: string) => rows.find((r) => r.weeks === label);
  assert.deepEqual(rows.map((r) => r.weeks), ['held-out', 'held-out, from July', 'fresh', 'fresh, from July', 'every set, from July']);
  assert.deepEqual({ ...row('held-out') }, { weeks: 'held-out', forecaster: 'ensemble', against: 'lstm', paired: 2, costGbpPerWeek: 1060, againstGbpPerWeek: 1100, differenceGbpPerWeek: -40, weeksCheaper: 1 });
  assert.deepEqual([row('held-out, from July')!.paired, row('held-out, from July')!.differenceGbpPerWeek, row('held-out, from July')!.weeksCheaper], [1, 20, 0]);
  assert.deepEqual([row('every set, from July')!.paired, row('every set, from July')!.differenceGbpPerWeek, row('every set, from July')!.weeksCheaper], [2, -5, 1]);
  assert.deepEqual(compareForecasters(weeks.filter((x) => x.forecaster === 'lstm'), 10), []);
});
