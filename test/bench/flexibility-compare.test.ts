import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareForecasters, poolBySet, UNTUNED_WEEKS, type ComparedWeek } from '../../bench/flexibility.ts';

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
  // The planner was tuned on 2023-07-01 + 14 days: 2023-07-03 and 2023-07-10 drop out of the "without" groups (empty ones are not listed).
  const untuned = `, ${UNTUNED_WEEKS}`;
  assert.deepEqual(rows.map((r) => r.weeks), ['held-out', `held-out${untuned}`, 'held-out, from July', 'fresh', 'fresh, from July', 'every set, from July']);
  assert.deepEqual([row(`held-out${untuned}`)!.paired, row(`held-out${untuned}`)!.differenceGbpPerWeek], [1, -100]);
  assert.deepEqual({ ...row('held-out') }, { weeks: 'held-out', forecaster: 'ensemble', against: 'lstm', paired: 2, costGbpPerWeek: 1060, againstGbpPerWeek: 1100, differenceGbpPerWeek: -40, weeksCheaper: 1 });
  assert.deepEqual([row('held-out, from July')!.paired, row('held-out, from July')!.differenceGbpPerWeek, row('held-out, from July')!.weeksCheaper], [1, 20, 0]);
  assert.deepEqual([row('every set, from July')!.paired, row('every set, from July')!.differenceGbpPerWeek, row('every set, from July')!.weeksCheaper], [2, -5, 1]);
  assert.deepEqual(compareForecasters(weeks.filter((x) => x.forecaster === 'lstm'), 10), []);
});

test('poolBySet pools each set per forecaster, and again over the weeks after the LSTMs\' data and clear of the planner\'s tuning fortnight', { timeout: 10_000 }, () => {
  const w = (week: string, set: 'held-out' | 'fresh', orders: number, netGbp: number, deliveredMwh: number) => ({
    week, forecaster: 'ensemble', set, orders, contractedMwh: 1, deliveredMwh, deliveryRatio: deliveredMwh, netGbp, slaMisses: 0, energyGbp: 10, carbonT: 1, wallS: 1,
  });
  // 2023-06-12 is inside the LSTMs' training and validation data (a helper's review: such weeks
  // were pooled as untuned); 2023-06-26 runs to 07-02, sharing two days with the fortnight, and is
  // left out with 07-10.
  const weeks = [w('2023-06-12', 'fresh', 2, 40, 1), w('2023-06-26', 'fresh', 5, -100, 0.5), w('2023-07-10', 'fresh', 1, 10, 1), w('2023-08-14', 'fresh', 3, 20, 1)];
  const [all, untuned] = poolBySet(weeks, ['fresh']);
  assert.deepEqual([all!.untuned, all!.weeks, all!.orders, all!.netGbpPerWeek, all!.deliveryRatio], [false, 4, 11, -7.5, 0.875]);
  assert.deepEqual([untuned!.untuned, untuned!.weeks, untuned!.orders, untuned!.netGbpPerWeek, untuned!.deliveryRatio, untuned!.weeksNegative], [true, 1, 3, 20, 1, 0]);
});
