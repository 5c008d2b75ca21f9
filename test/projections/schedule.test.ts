import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BucketMap, evolveSchedule, ganttJobs, initialSchedule, missedOrLate, scheduleProjection, scheduleSummary } from '../../projections/schedule/index.ts';
import { fold } from '../../projections/index.ts';

const T = (h: number) => new Date(Date.parse('2023-07-03T00:00:00Z') + h * 3_600_000).toISOString();
const ev = (type: string, data: Record<string, unknown>, id = `${type}-${JSON.stringify(data).length}`, time?: string) => ({ type, data, id, ...(time ? { time } : {}) });
const submitted = (jobId: string, cls = 'training', h = 0) =>
  ev('compute.job.submitted', { jobId, class: cls, powerKw: 1000, gpuCount: null, runtimeMin: 120, runtimeSource: 'given', runtimeModel: null, earliestStart: T(h), deadline: T(h + 10), slaClass: 'gold', preemptible: true }, `sub-${jobId}`, T(h));
const planned = (jobId: string, start: number, end: number, id: string) =>
  ev('compute.job.planned', { jobId, planId: 'p', forecastId: 'f', slots: [], plannedStart: T(start), plannedEnd: T(end), expected: { costGbp: 1, carbonKg: 2 }, runNow: { costGbp: 3, carbonKg: 4 }, pinned: false, reason: 'r', flexOrderIds: ['o1'] }, id);

describe('schedule projection', () => {
  test('a job that is planned, moved, run, paused, resumed and completed', () => {
    const s = fold(scheduleProjection, [
      submitted('j1'),
      planned('j1', 1, 3, 'e1'),
      planned('j1', 2, 4, 'e2'),
      ev('compute.job.started', { jobId: 'j1', at: T(2), kw: 1000 }, 'e3'),
      ev('compute.job.preempted', { jobId: 'j1', at: T(3), remainingMin: 60 }, 'e4'),
      ev('compute.job.started', { jobId: 'j1', at: T(5), kw: 1000 }, 'e5'),
      ev('compute.job.completed', { jobId: 'j1', at: T(6), energyKwh: 2000, costGbp: 50, carbonKg: 300, late: false }, 'e6'),
    ]);
    const j = s.jobs.get('j1')!;
    assert.equal(j.status, 'completed');
    assert.equal(j.plans, 2);
    assert.equal(j.firstPlannedStart, T(1));
    assert.equal(j.plannedStart, T(2));
    assert.deepEqual(j.runs, [{ start: T(2), end: T(3), kw: 1000 }, { start: T(5), end: T(6), kw: 1000 }]);
    assert.equal(j.actualStart, T(2));
    assert.equal(j.actualEnd, T(6));
    assert.deepEqual(j.used, { energyKwh: 2000, costGbp: 50, carbonKg: 300 });
    assert.deepEqual(j.flexOrderIds, ['o1']);
    assert.equal(j.lastEventId, 'e6');
    const sum = scheduleSummary(s);
    assert.equal(sum.byStatus.completed, 1);
    assert.equal(sum.moved, 1, 'it started an hour after its first plan');
    assert.equal(sum.completed.costGbp, 50);
  });

  test('status follows the lifecycle; a deadline miss is a flag, not a status', () => {
    let s = fold(scheduleProjection, [submitted('a'), submitted('b', 'serving')]);
    assert.equal(s.jobs.get('a')!.status, 'submitted');
    s = evolveSchedule(s, planned('a', 1, 2, 'x'));
    assert.equal(s.jobs.get('a')!.status, 'planned');
    s = evolveSchedule(s, ev('compute.job.started', { jobId: 'a', at: T(1), kw: 1 }));
    assert.equal(s.jobs.get('a')!.status, 'running');
    assert.equal(s.jobs.get('a')!.runs[0]!.end, null);
    s = evolveSchedule(s, ev('compute.job.deadline-missed', { jobId: 'a', deadline: T(10), remainingMin: 5, feasibleOnArrival: true }));
    assert.equal(s.jobs.get('a')!.status, 'running');
    assert.equal(scheduleSummary(s).deadlineMisses, 1);
    assert.deepEqual(scheduleSummary(s).byClass, { training: 1, 'batch-inference': 0, serving: 1 });
  });

  test('a job that finished after its deadline without a deadline-missed event counts among the misses the report states, once with one', () => {
    const s = fold(scheduleProjection, [
      submitted('late-only'),
      ev('compute.job.started', { jobId: 'late-only', at: T(1), kw: 1000 }, 'l1'),
      ev('compute.job.completed', { jobId: 'late-only', at: T(11), energyKwh: 1, costGbp: 1, carbonKg: 1, late: true }, 'l2'),
      submitted('both'),
      ev('compute.job.deadline-missed', { jobId: 'both', deadline: T(10), remainingMin: 5, feasibleOnArrival: true }, 'b1'),
      ev('compute.job.completed', { jobId: 'both', at: T(12), energyKwh: 1, costGbp: 1, carbonKg: 1, late: true }, 'b2'),
      submitted('on-time'),
      ev('compute.job.completed', { jobId: 'on-time', at: T(2), energyKwh: 1, costGbp: 1, carbonKg: 1, late: false }, 'o1'),
    ]);
    const sum = scheduleSummary(s);
    assert.equal(sum.deadlineMisses, 1, 'one deadline-missed event');
    assert.equal(missedOrLate(s), 2, 'the late-only job and the one with both, each once');
  });

  test('events about unknown jobs are counted, resubmissions change nothing, rejections are kept', () => {
    const s0 = fold(scheduleProjection, [submitted('a')]);
    const s1 = evolveSchedule(s0, planned('ghost', 1, 2, 'g'));
    assert.equal(s1.orphanEvents, 1);
    assert.equal(s1.jobs.has('ghost'), false);
    assert.equal(evolveSchedule(s0, submitted('a')), s0);
    const s2 = evolveSchedule(s0, ev('compute.job.rejected', { jobId: 'bad', problems: [{ field: 'powerKw', reason: 'must be > 0' }] }));
    assert.equal(s2.rejected, 1);
    assert.equal(s2.recentRejections[0]!.problems[0]!.field, 'powerKw');
  });

  test('folding does not change earlier states', () => {
    const s0 = fold(scheduleProjection, [submitted('a'), planned('a', 1, 2, 'p1')]);
    const before = JSON.stringify(s0.jobs.get('a'));
    const s1 = evolveSchedule(s0, planned('a', 5, 6, 'p2'));
    assert.equal(JSON.stringify(s0.jobs.get('a')), before);
    assert.equal(s1.jobs.get('a')!.plannedStart, T(5));
  });

  test('the latest site plan is kept', () => {
    const s = evolveSchedule(initialSchedule, ev('compute.plan.published', { planId: 'p9', forecastId: null, startsAt: T(0), trigger: 't', solver: { status: 'optimal', mode: 'full', note: '' }, jobs: 2, itKw: [1, 2], siteKw: [1.15, 2.3], batteryChargeKw: [0, 0], batteryDischargeKw: [0, 0], batterySocKwh: [5, 5], importCapKw: [9, 9], expected: { costGbp: 1, carbonKg: 1 }, dispatch: { slotStart: T(0), runs: [], chargeKw: 0, dischargeKw: 0 } }));
    assert.equal(s.plan!.planId, 'p9');
    assert.equal(s.plan!.solverMode, 'full');
    assert.deepEqual(s.plan!.siteKw, [1.15, 2.3]);
    assert.equal(s.plansPublished, 1);
  });

  test('the Gantt window keeps jobs that touch it, in start order, up to the limit', () => {
    const s = fold(scheduleProjection, [submitted('late', 'training', 30), planned('late', 30, 32, 'l'), submitted('early'), planned('early', 1, 2, 'e'), submitted('mid', 'training', 4), planned('mid', 5, 8, 'm')]);
    assert.deepEqual(ganttJobs(s, { fromMs: Date.parse(T(0)), toMs: Date.parse(T(12)) }).jobs.map((j) => j.jobId), ['early', 'mid']);
    assert.deepEqual(ganttJobs(s, { fromMs: Date.parse(T(6)), toMs: Date.parse(T(40)) }).jobs.map((j) => j.jobId), ['mid', 'late']);
    const limited = ganttJobs(s, { fromMs: Date.parse(T(0)), toMs: Date.parse(T(40)), limit: 1 });
    assert.equal(limited.jobs.length, 1);
    assert.equal(limited.total, 3);
  });
});

describe('BucketMap', () => {
  test('behaves like a Map, and every earlier version stays as it was', () => {
    const op = fc.oneof(fc.record({ k: fc.string({ maxLength: 4 }), v: fc.integer(), del: fc.constant(false) }), fc.record({ k: fc.string({ maxLength: 4 }), v: fc.constant(0), del: fc.constant(true) }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        let b = BucketMap.empty<number>();
        const model = new Map<string, number>();
        const versions: Array<[BucketMap<number>, Map<string, number>]> = [];
        for (const o of ops) {
          if (o.del) {
            b = b.delete(o.k);
            model.delete(o.k);
          } else {
            b = b.set(o.k, o.v);
            model.set(o.k, o.v);
          }
          versions.push([b, new Map(model)]);
        }
        for (const [bv, mv] of versions) {
          assert.equal(bv.size, mv.size);
          assert.deepEqual(new Map([...bv.entries()].sort()), new Map([...mv.entries()].sort()));
          for (const [k, v] of mv) assert.equal(bv.get(k), v);
        }
      }),
      { numRuns: 60 },
    );
  });
});
