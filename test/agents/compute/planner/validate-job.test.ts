import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Job, siteConfig, validateJob } from '../../../../agents/compute/jobs/index.ts';

const site = siteConfig();
const T = Date.UTC(2023, 6, 3, 10);
const good: Job = { id: 'j1', class: 'training', powerKw: 500, runtimeMin: 120, earliestStartMs: T, deadlineMs: T + 6 * 3_600_000, slaClass: 'silver', preemptible: false };
const fields = (j: Job) => validateJob(j, site).map((p) => p.field);

describe('validateJob', () => {
  test('a good job has no problems', () => {
    assert.deepEqual(validateJob(good, site), []);
  });
  test('deadline before release names deadlineMs, or the name the caller gives it', () => {
    const p = validateJob({ ...good, deadlineMs: T - 60_000 }, site);
    assert.deepEqual(p.map((x) => x.field), ['deadlineMs']);
    assert.match(p[0]!.reason, /not after the release/);
    const named = validateJob({ ...good, deadlineMs: T - 60_000, earliestStartMs: Number.NaN }, site, (f) => (f === 'deadlineMs' ? 'deadline' : f === 'earliestStartMs' ? 'earliestStart' : f));
    assert.deepEqual(named.map((x) => x.field), ['earliestStart']);
    assert.deepEqual(validateJob({ ...good, deadlineMs: T - 60_000 }, site, (f) => (f === 'deadlineMs' ? 'deadline' : f)).map((x) => x.field), ['deadline']);
  });
  test('runtime longer than its window names runtimeMin', () => {
    const p = validateJob({ ...good, runtimeMin: 7 * 60 }, site);
    assert.deepEqual(p.map((x) => x.field), ['runtimeMin']);
    assert.match(p[0]!.reason, /longer than the window/);
  });
  test('a runtime above the 30 days the site plans names runtimeMin, however wide the window', () => {
    const wide = { ...good, deadlineMs: T + 400 * 86_400_000 };
    assert.deepEqual(fields({ ...wide, runtimeMin: 30 * 24 * 60 }), []);
    const p = validateJob({ ...wide, runtimeMin: 30 * 24 * 60 + 1 }, site);
    assert.deepEqual(p.map((x) => x.field), ['runtimeMin']);
    assert.match(p[0]!.reason, /above the longest runtime the site plans \(43200 min, 30 days\)/);
  });
  test('power under 1 W or a runtime under a minute names the field (a denormal kW made every re-plan of the site greedy)', () => {
    for (const powerKw of [5e-324, 1e-9, 0.0009, 0]) {
      const p = validateJob({ ...good, powerKw }, site);
      assert.deepEqual(p.map((x) => x.field), ['powerKw'], String(powerKw));
      assert.match(p[0]!.reason, /must be at least 0\.001 kW \(1 W/);
    }
    assert.deepEqual(validateJob({ ...good, powerKw: 0.001 }, site), []);
    for (const runtimeMin of [0.01, 0.99]) assert.deepEqual(fields({ ...good, runtimeMin }), ['runtimeMin'], String(runtimeMin));
    assert.deepEqual(validateJob({ ...good, runtimeMin: 1 }, site), []);
  });
  test('negative power names powerKw', () => {
    const p = validateJob({ ...good, powerKw: -5 }, site);
    assert.deepEqual(p.map((x) => x.field), ['powerKw']);
    assert.match(p[0]!.reason, /negative/);
  });
  test('power above the site IT capacity names powerKw', () => {
    const p = validateJob({ ...good, powerKw: 10_001 }, site);
    assert.deepEqual(p.map((x) => x.field), ['powerKw']);
    assert.match(p[0]!.reason, /IT capacity of 10000 kW/);
    assert.deepEqual(validateJob({ ...good, powerKw: 600 }, siteConfig({ itCapacityKw: 500 })).map((x) => x.field), ['powerKw']);
  });
  test('every problem is reported, not only the first', () => {
    assert.deepEqual(fields({ ...good, id: '', powerKw: Number.NaN, runtimeMin: 0 }).sort(), ['id', 'powerKw', 'runtimeMin']);
  });
  test('GPU count must agree with power', () => {
    assert.deepEqual(fields({ ...good, gpuCount: 10, perGpuKw: 0.7, powerKw: 7 }), []);
    assert.deepEqual(fields({ ...good, gpuCount: 10, perGpuKw: 0.7, powerKw: 9 }), ['powerKw']);
  });
  test('serving cannot be preemptible', () => {
    assert.deepEqual(fields({ ...good, class: 'serving', preemptible: true }), ['preemptible']);
  });
});
