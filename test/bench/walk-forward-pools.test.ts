import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolRows, walkForwardPools, walkForwardRows } from '../../bench/cases/walk-forward.ts';
import { overlapsPlannerTuning, untunedMonths } from '../../bench/_tuned-on.ts';

// The pools the README quotes: which months a setting was chosen on decides which pool a month joins.
const month = (m: string, arrival: [number, number], bw: [number, number], planner: [number, number], oracle: [number, number]) => ({
  month: m,
  inSample: m === '2023-07',
  days: 7,
  jobs: 1000,
  policies: ([['run-on-arrival', arrival], ['best-window', bw], ['planner (x)', planner], ['oracle (x)', oracle]] as const).map(([policy, [gbp, t]]) => ({
    policy,
    energyCostGbp: gbp,
    carbonT: t,
    carbonCostGbp: t * 10,
    deadlineMisses: policy === 'best-window' ? 3 : 0,
    missesFeasibleOnArrival: policy === 'best-window' ? 2 : 0,
    validationProblems: 0,
  })),
});

test('untunedMonths leaves out the planner\'s tuning month and the ensemble\'s; overlapsPlannerTuning is any shared day', { timeout: 10_000 }, () => {
  assert.deepEqual(untunedMonths(['2023-02', '2023-03', '2023-04', '2023-07', '2023-08']), ['2023-04', '2023-08']);
  assert.equal(overlapsPlannerTuning('2023-06-24', 7), false); // to 06-30 inclusive
  assert.equal(overlapsPlannerTuning('2023-06-26', 7), true); // 07-01 and 07-02
  assert.equal(overlapsPlannerTuning('2023-07-10', 7), true);
  assert.equal(overlapsPlannerTuning('2023-07-15', 7), false); // the fortnight ends with 07-14
  assert.equal(overlapsPlannerTuning('2023-07-14', 1), true);
});

test('poolRows sums each policy over the months before taking its share of the oracle\'s saving', { timeout: 10_000 }, () => {
  // Month A: arrival 100, oracle 0, planner 50 (50 %); month B: arrival 1000, oracle 900, planner 910 (90 %).
  const a = month('2023-04', [100, 10], [80, 10], [50, 6], [0, 2]);
  const b = month('2023-05', [1000, 10], [950, 10], [910, 10], [900, 10]);
  const [bw, pl, orc] = poolRows('p', [a, b], 10);
  // Pooled: (1100 − 960) / (1100 − 900) = 70 %, not the mean of 50 and 90.
  assert.equal(pl!['cost saving % of oracle'], 70);
  // Carbon: (20 − 16) / (20 − 12) = 50 %.
  assert.equal(pl!['carbon saving % of oracle'], 50);
  assert.equal(pl!['regret £ (energy+carbon vs oracle)'], 960 + 160 - 900 - 120);
  assert.equal(bw!['misses (feasible on arrival)'], 4);
  assert.equal(orc!['cost saving % of oracle'], 100);
  assert.ok(!Object.is(orc!['regret £ (energy+carbon vs oracle)'], -0));
  // Without an oracle run (--policies planner) there is no regret to give: NaN, not a perfect 0.
  assert.ok(Number.isNaN(poolRows('p', [{ policies: a.policies.filter((p) => p.policy.startsWith('planner')) }], 10)[1]!['regret £ (energy+carbon vs oracle)']));
  // No saving to share (arrival = oracle): null, not a division by zero.
  assert.equal(poolRows('p', [month('2023-04', [5, 1], [5, 1], [5, 1], [5, 1])], 10)[1]!['cost saving % of oracle'], null);
});

test('walkForwardPools: out of sample leaves out July only, untuned leaves out February, March and July', { timeout: 10_000 }, () => {
  const good = (m: string) => month(m, [100, 10], [90, 9], [10, 1], [0, 0]); // planner 90 %
  const bad = (m: string) => month(m, [100, 10], [90, 9], [90, 9], [0, 0]); // planner 10 %
  const months = [bad('2023-02'), bad('2023-03'), good('2023-04'), bad('2023-07'), good('2023-08')];
  const p = walkForwardPools(months, 10);
  const planner = (rows: ReadonlyArray<{ policy: string; 'cost saving % of oracle': number | null }>) => rows.find((r) => r.policy === 'planner')!['cost saving % of oracle'];
  assert.deepEqual(p.untunedMonths, ['2023-04', '2023-08']);
  assert.equal(planner(p.pooledUntuned), 90);
  assert.equal(planner(p.pooledOutOfSample), 50); // Feb, Mar, Apr, Aug: (400 − (2 × 90 + 2 × 10)) / 400
  assert.equal(planner(p.pooledAll), 42); // and July: (500 − 290) / 500
  assert.deepEqual(p.months.map((m) => m.targetsMet?.cost90), [false, false, true, false, true]);
  const labels = [...new Set(walkForwardRows(months, 10).map((r) => r.period))];
  assert.deepEqual(labels.slice(0, 5), ['2023-02', '2023-03', '2023-04', '2023-07 (tuning month)', '2023-08']);
  assert.equal(labels.length, 8);
});
