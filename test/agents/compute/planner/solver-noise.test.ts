import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Job, siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { validatePlan, type PlanInput, type SolveInfo } from '../../../../agents/compute/planner/index.ts';
import { MIN_RUN_KW, evaluate } from '../../../../agents/compute/planner/evaluate.ts';
import { makeHorizon, toItem, type Item } from '../../../../agents/compute/planner/horizon.ts';
import { emptyBattery, scheduleRuns } from '../../../../agents/compute/planner/schedule.ts';
import { firstHalfHour } from '../../../../agents/compute/plan-events.ts';

const T0 = Date.UTC(2023, 6, 3, 0, 0);
const HH = 1_800_000;
const N = 8;
const SOLVER: SolveInfo = { mode: 'full', modelStatus: 'Optimal', objectiveGbp: 0, boundGbp: 0, gap: 0, buildMs: 0, solveMs: 0, totalMs: 0, columns: 0, integerColumns: 0, rows: 0, groups: 0, mipNodes: 0, lpIterations: 0 };

function input(jobs: Job[]): PlanInput {
  const site = siteConfig({ itCapacityKw: 2000, importCapKw: 3000, battery: { energyKwh: 1000, powerKw: 500 } });
  return { nowMs: T0, site, jobs, signals: { startMs: T0, priceGbpPerMwh: Array(N).fill(80), intensityGPerKwh: Array(N).fill(150) }, batterySocKwh: 500 };
}

/** The plan a schedule becomes, for one preemptible job whose kW per slot are given. */
function planOf(job: Job, runKw: number[]) {
  const inp = input([job]);
  const h = makeHorizon(inp, N);
  const item = toItem(h, job) as Extract<Item, { kind: 'run' }>;
  assert.equal(item.kind, 'run');
  const sched = { jobs: new Map([[job.id, scheduleRuns(item, Float64Array.from(runKw), 0)]]), ...emptyBattery(N) };
  return { inp, result: evaluate(h, new Map([[job.id, job]]), [item], sched, inp.batterySocKwh, 'optimal', SOLVER, h.t0) };
}

const job: Job = { id: 'j1', class: 'training', powerKw: 100, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + 4 * 3_600_000, slaClass: 'silver', preemptible: true };

describe('solver noise is not a run', () => {
  test('a slot holding a solver residue (1/3000 kW) is not planned, dispatched or counted as a start', () => {
    // What HiGHS left in the default week: ~0.000333 kW in a slot before the job's real run.
    const { inp, result } = planOf(job, [1 / 3000, 0, 100, 100 - 1 / 3000, 0, 0, 0, 0]);
    const jp = result.jobs.find((j) => j.jobId === 'j1')!;
    assert.deepEqual(jp.runs.map((r) => r.slot), [2, 3], 'only the slots with work are runs');
    assert.equal(jp.startMs, T0 + 2 * HH, 'the job starts where its work starts');
    assert.deepEqual(firstHalfHour(result).runs, [], 'nothing is dispatched in slot 0');
    assert.ok(Math.abs(result.slots[0]!.itKw) < 1e-9, 'slot 0 carries no IT load');
    assert.deepEqual(validatePlan(result, inp.jobs, inp.site, inp.signals, { batterySocKwh: inp.batterySocKwh }), []);
  });

  test('a job whose whole work is that small (1 W for ten minutes) keeps its piece, and is dispatched at the ledger\'s least kW', () => {
    // Dropped as residue, it was never dispatched nor finished; dispatched at round(kW, 3) = 0,
    // it was metered at nothing, half-hour after half-hour.
    const tiny: Job = { ...job, id: 'j3', powerKw: 0.001, runtimeMin: 10 };
    const { inp, result } = planOf(tiny, [0.001 / 3, 0, 0, 0, 0, 0, 0, 0]);
    const jp = result.jobs.find((j) => j.jobId === 'j3')!;
    assert.deepEqual(jp.runs.map((r) => r.slot), [0]);
    assert.deepEqual(firstHalfHour(result).runs, [{ jobId: 'j3', kw: 0.001 }]);
    assert.deepEqual(validatePlan(result, inp.jobs, inp.site, inp.signals, { batterySocKwh: inp.batterySocKwh }), []);
  });

  test('residue is dropped only while it carries next to nothing: more of it than the plan may leave out is kept', () => {
    const many = Array(8).fill(1 / 3000);
    many[7] = 100;
    const j4: Job = { ...job, id: 'j4', runtimeMin: 30 };
    const { result } = planOf(j4, many);
    assert.equal(result.jobs.find((j) => j.jobId === 'j4')!.runs.length, 8, 'seven pieces of 1/3000 kW (0.0012 kWh) are kept beside the real run');
  });

  test('a job at full power is dispatched at its own kW, whatever its decimals: 1.4 W is not cut to 1 W (it missed its deadline), 1.6 W not raised to 2 W', () => {
    for (const powerKw of [0.0014, 0.0016, 1234.5674]) {
      const odd: Job = { ...job, id: 'j5', powerKw };
      const { result } = planOf(odd, [powerKw, powerKw, 0, 0, 0, 0, 0, 0]);
      assert.deepEqual(firstHalfHour(result, (id) => (id === 'j5' ? powerKw : undefined)).runs, [{ jobId: 'j5', kw: powerKw }]);
    }
    // Part power is still rounded to the ledger's 1 W, and never above the job's own.
    const part: Job = { ...job, id: 'j6', powerKw: 0.0016 };
    const { result } = planOf(part, [0.0009, 0.0016, 0.0016, 0, 0, 0, 0, 0]);
    assert.deepEqual(firstHalfHour(result, () => 0.0016).runs, [{ jobId: 'j6', kw: 0.001 }]);
  });

  test('a 1 W job at full power is still a run', () => {
    const tiny: Job = { ...job, id: 'j2', powerKw: 0.001 };
    const { result } = planOf(tiny, [0.001, 0.001, 0, 0, 0, 0, 0, 0]);
    const jp = result.jobs.find((j) => j.jobId === 'j2')!;
    assert.deepEqual(jp.runs.map((r) => r.slot), [0, 1]);
    assert.deepEqual(firstHalfHour(result).runs, [{ jobId: 'j2', kw: 0.001 }]);
    assert.ok(MIN_RUN_KW <= 0.001 / 2, 'the threshold stays below half of the smallest job the intake accepts');
  });
});
