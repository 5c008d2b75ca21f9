import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobEnergyKwh, jobSlackMin, siteConfig, validateJob } from '../../../agents/compute/jobs/index.ts';
import { generateWorkload, loadTraceStats, readWorkloadCsv, WORKLOAD_COLUMNS, writeWorkloadCsv, type TraceStats } from '../../../sim/workload/index.ts';

const START = Date.UTC(2023, 6, 3);
const site = siteConfig();

// Synthetic stats keep most tests fast; one test uses the real traces.
const synthetic: TraceStats = {
  trainingArrivalByHour: Array.from({ length: 24 }, (_, h) => (h >= 8 && h < 20 ? 2 : 1) / 36),
  inferenceArrivalByHour: Array.from({ length: 24 }, () => 1 / 24),
  gpuCounts: [1, 1, 1, 2, 4, 8, 0.5],
  trainingRuntimeS: [600, 1800, 3600, 7200, 14_400, 43_200],
  inferenceExecS: [10, 20, 30, 40],
  source: 'synthetic',
};

describe('workload generator', () => {
  test('the same seed gives the same week; another seed another', () => {
    const a = generateWorkload({ seed: 7, startMs: START, days: 2 }, synthetic);
    const b = generateWorkload({ seed: 7, startMs: START, days: 2 }, synthetic);
    const c = generateWorkload({ seed: 8, startMs: START, days: 2 }, synthetic);
    assert.deepEqual(a.jobs, b.jobs);
    assert.notDeepEqual(a.jobs, c.jobs);
  });

  test('every job is valid, feasible at the next half-hour, and the slack share and utilisation are as asked', () => {
    for (const slackShare of [0.3, 0.6, 0.9]) {
      const w = generateWorkload({ seed: 'share', startMs: START, days: 14, slackShare, targetUtilisation: 0.5 }, synthetic);
      for (const j of w.jobs) {
        assert.deepEqual(validateJob(j, site), [], j.id);
        assert.ok(Math.ceil(j.earliestStartMs / 1_800_000) * 1_800_000 + j.runtimeMin * 60_000 <= j.deadlineMs, `${j.id} infeasible on the slot grid`);
      }
      const deferrable = w.jobs.filter((j) => j.class !== 'serving');
      const share = deferrable.filter((j) => jobSlackMin(j) >= 120).length / deferrable.length;
      assert.ok(Math.abs(share - slackShare) < 0.05, `slack share ${share} for ${slackShare}`);
      const util = w.jobs.reduce((s, j) => s + jobEnergyKwh(j), 0) / (site.itCapacityKw * 24 * 14);
      assert.ok(Math.abs(util - 0.5) < 0.08, `utilisation ${util}`);
    }
  });

  test('serving is hourly base load that cannot be deferred', () => {
    const w = generateWorkload({ seed: 1, startMs: START, days: 1 }, synthetic);
    const srv = w.jobs.filter((j) => j.class === 'serving');
    assert.equal(srv.length, 24);
    for (const j of srv) {
      assert.equal(j.preemptible, false);
      assert.equal(jobSlackMin(j), 0);
    }
  });

  test('arrivals follow the trace shape: a busier hour gets more jobs', () => {
    const w = generateWorkload({ seed: 3, startMs: START, days: 30, jobsPerDay: 300 }, { ...synthetic, inferenceArrivalByHour: synthetic.trainingArrivalByHour });
    const byHour = new Array<number>(24).fill(0);
    for (const j of w.jobs) if (j.class !== 'serving') byHour[new Date(j.earliestStartMs).getUTCHours()]! += 1;
    const day = byHour.slice(8, 20).reduce((a, b) => a + b, 0) / 12;
    const night = [...byHour.slice(0, 8), ...byHour.slice(20)].reduce((a, b) => a + b, 0) / 12;
    assert.ok(day / night > 1.6 && day / night < 2.5, `day/night ${day / night}`);
  });

  test('builds from the real traces', () => {
    const stats = loadTraceStats();
    assert.ok(stats.gpuCounts.length > 5_000 && stats.trainingRuntimeS.length > 50_000 && stats.inferenceExecS.length > 20_000);
    const w = generateWorkload({ seed: 1, startMs: START, days: 7 }, stats);
    const deferrable = w.jobs.filter((j) => j.class !== 'serving');
    assert.ok(deferrable.length > 1000 && deferrable.length < 1800, `${deferrable.length} jobs`);
    assert.ok(deferrable.some((j) => j.class === 'training') && deferrable.some((j) => j.class === 'batch-inference'));
    for (const j of deferrable.slice(0, 200)) assert.deepEqual(validateJob(j, site), []);
  });
});

describe('workload CSV', () => {
  test('round-trips', () => {
    const w = generateWorkload({ seed: 5, startMs: START, days: 1 }, synthetic);
    const back = readWorkloadCsv(writeWorkloadCsv(w.jobs), site);
    assert.deepEqual(back.problems, []);
    assert.deepEqual(back.jobs.map((j) => ({ ...j, runtimeSource: undefined })), w.jobs.map((j) => ({ ...j, runtimeSource: undefined })));
  });

  test('bad rows are reported with line, field and reason; good rows still load', () => {
    const csv = [
      'id,class,power_kw,gpu_count,per_gpu_kw,runtime_min,earliest_start_utc,deadline_utc,sla_class,preemptible',
      'ok,training,500,,,60,2023-07-03T10:00:00.000Z,2023-07-03T14:00:00.000Z,gold,false',
      'late,training,500,,,60,2023-07-03T10:00:00.000Z,2023-07-03T09:00:00.000Z,gold,false',
      'neg,training,-3,,,60,2023-07-03T10:00:00.000Z,2023-07-03T14:00:00.000Z,gold,false',
      'huge,training,20000,,,60,2023-07-03T10:00:00.000Z,2023-07-03T14:00:00.000Z,gold,true',
      'bad,training,abc,,,60,2023-07-03 10:00,2023-07-03T14:00:00.000Z,platinum,maybe',
    ].join('\n');
    const r = readWorkloadCsv(csv, site);
    assert.deepEqual(r.jobs.map((j) => j.id), ['ok']);
    const got = r.problems.map((p) => `${p.line}:${p.field}`);
    // Every problem under its column's name: the job's own field names (deadlineMs, powerKw) were given for some.
    for (const want of ['3:deadline_utc', '4:power_kw', '5:power_kw', '6:power_kw', '6:earliest_start_utc', '6:sla_class', '6:preemptible']) assert.ok(got.includes(want), `${want} not in ${got.join(' ')}`);
    for (const p of r.problems) assert.ok((WORKLOAD_COLUMNS as readonly string[]).includes(p.field), `${p.line}:${p.field} is not a column`);
  });
});
