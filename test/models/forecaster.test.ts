import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { calendarFeatures, loadCarbonForecaster, londonOffsetHours, ModelInputError } from '../../models/index.ts';

const HH = 30 * 60 * 1000;

describe('calendar features', () => {
  test('London offset switches at 01:00Z on the clock-change Sundays', () => {
    assert.equal(londonOffsetHours(Date.parse('2023-03-26T00:59Z')), 0);
    assert.equal(londonOffsetHours(Date.parse('2023-03-26T01:00Z')), 1);
    assert.equal(londonOffsetHours(Date.parse('2023-10-29T00:59Z')), 1);
    assert.equal(londonOffsetHours(Date.parse('2023-10-29T01:00Z')), 0);
  });

  test('time of day and day of week are local: 23:30Z on Sunday 2 July 2023 is 00:30 Monday BST', () => {
    const f = calendarFeatures(Date.parse('2023-07-02T23:30Z'));
    assert.ok(Math.abs(f[0]! - Math.sin((2 * Math.PI * 1) / 48)) < 1e-12);
    assert.ok(Math.abs(f[2]! - 0) < 1e-12 && Math.abs(f[3]! - 1) < 1e-12, 'Monday is day 0');
    assert.equal(f[6], 1);
  });
});

describe('carbon forecaster', async () => {
  const model = await loadCarbonForecaster();
  const now = Date.parse('2023-07-10T12:10Z');
  const fromMs = Date.parse('2023-07-10T12:00Z') - 400 * HH;

  test('any plausible history gives 96 ordered half-hour quantiles starting at the current half-hour', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.integer({ min: 20, max: 400 }), { nil: null, freq: 10 }), { minLength: 400, maxLength: 400 }), async (values) => {
        const f = await model.forecast({ fromMs, values }, now);
        assert.equal(f.startMs, Date.parse('2023-07-10T12:00Z'));
        assert.equal(f.points.length, 96);
        for (const p of f.points) {
          assert.ok(Number.isFinite(p.p50));
          assert.ok(p.p10 <= p.p50 && p.p50 <= p.p90, JSON.stringify(p));
        }
      }),
      { numRuns: 25 },
    );
  });

  test('the forecast depends only on the week before the origin, and its hash says so', async () => {
    const values = Array.from({ length: 400 }, (_, i) => 150 + 50 * Math.sin(i / 7));
    const a = await model.forecast({ fromMs, values }, now);
    const changedOld = values.slice();
    changedOld[0] = 999; // 400 half-hours back, outside the 336-step window
    const b = await model.forecast({ fromMs, values: changedOld }, now);
    assert.deepEqual(b.points, a.points);
    assert.equal(b.inputsHash, a.inputsHash);
    const changedRecent = values.slice();
    changedRecent[390] = 300;
    const c = await model.forecast({ fromMs, values: changedRecent }, now);
    assert.notDeepEqual(c.points, a.points);
    assert.notEqual(c.inputsHash, a.inputsHash);
  });

  test('a history with too few values is a ModelInputError, not an invented forecast', async () => {
    const values = Array.from({ length: 400 }, (_, i) => (i > 390 ? 100 : null));
    await assert.rejects(model.forecast({ fromMs, values }, now), ModelInputError);
    await assert.rejects(model.forecast({ fromMs: now + 10 * HH, values: [100, 100] }, now), ModelInputError);
  });
});
