import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolateHourly, lwaDeadline, lwaJobs, perJobOptimum } from '../../../../bench/cases/lets-wait-awhile.ts';

const at = (s: string) => Date.parse(s);

describe("Let's Wait Awhile ML scenario rules (issue 13)", { timeout: 30_000 }, () => {
  test('next-workday deadline: inside 09:00–17:00 on a workday it is the finish; otherwise 09:00 of the next workday', () => {
    assert.equal(lwaDeadline(at('2020-03-04T15:00:00Z')), at('2020-03-04T15:00:00Z')); // Wednesday
    assert.equal(lwaDeadline(at('2020-03-04T18:00:00Z')), at('2020-03-05T09:00:00Z'));
    assert.equal(lwaDeadline(at('2020-03-05T03:00:00Z')), at('2020-03-05T09:00:00Z'));
    assert.equal(lwaDeadline(at('2020-03-06T18:00:00Z')), at('2020-03-09T09:00:00Z')); // Friday evening → Monday
    assert.equal(lwaDeadline(at('2020-03-07T12:00:00Z')), at('2020-03-09T09:00:00Z')); // Saturday → Monday
    // The paper's code sends a Friday-evening finish to Saturday 09:00.
    assert.equal(lwaDeadline(at('2020-03-06T18:00:00Z'), 'code'), at('2020-03-07T09:00:00Z'));
  });

  test('jobs: workdays only, submitted 09:00–16:30 on the half-hour, 4 h … 89.5 h, deadline never before the finish', () => {
    const jobs = lwaJobs(at('2020-01-08T00:00:00Z'), at('2020-03-01T00:00:00Z'), 'x');
    assert.ok(jobs.length > 400 && jobs.length < 800);
    for (const j of jobs) {
      const d = new Date(j.arrivalMs);
      assert.ok(d.getUTCDay() >= 1 && d.getUTCDay() <= 5);
      const min = d.getUTCHours() * 60 + d.getUTCMinutes();
      assert.ok(min >= 540 && min <= 990 && min % 30 === 0);
      assert.ok(j.durationSlots >= 8 && j.durationSlots <= 179);
      assert.ok(j.deadlineMs >= j.arrivalMs + j.durationSlots * 1_800_000);
    }
  });

  test('per-job optimum: lowest contiguous window and the k lowest half-hours; interpolation of hourly data', () => {
    const ci = [5, 1, 9, 2, 2, 8];
    assert.deepEqual(perJobOptimum(ci, 0, 2, 6), { contiguous: 4, interruptible: 3 });
    assert.deepEqual(interpolateHourly([100, 200]), [100, 150, 200, 200]);
  });
});
