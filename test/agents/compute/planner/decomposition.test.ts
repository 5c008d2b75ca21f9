import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { formulate, makeHorizon, plan, sharedSolverWorker, toItem, type Item, type PlanInput, type PlanJob } from '../../../../agents/compute/planner/index.ts';
import { columnCount } from '../../../../agents/compute/planner/formulation.ts';
import { greedySchedule } from '../../../../agents/compute/planner/greedy.ts';
import { HH, T0, input, randomJobs, sineSignals } from './fixtures.ts';

after(async () => {
  await sharedSolverWorker().close();
});

const N = 24;

const jobArb = (i: number) =>
  fc.record({
    powerKw: fc.integer({ min: 1, max: 40 }).map((x) => x * 25),
    runtimeMin: fc.integer({ min: 1, max: 20 }).map((x) => x * 15),
    releaseSlot: fc.integer({ min: -6, max: 30 }),
    slackMin: fc.integer({ min: 0, max: 2000 }),
    preemptible: fc.boolean(),
    serving: fc.boolean(),
    startedSlotsAgo: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    sla: fc.constantFrom('gold' as const, 'silver' as const, 'bronze' as const),
  }).map((r): PlanJob => {
    const release = T0 + r.releaseSlot * HH;
    const job: PlanJob = {
      id: `j${i}`,
      class: r.serving && !r.preemptible ? 'serving' : 'training',
      powerKw: r.powerKw,
      runtimeMin: r.runtimeMin,
      earliestStartMs: release,
      deadlineMs: release + r.runtimeMin * 60_000 + r.slackMin * 60_000,
      slaClass: r.sla,
      preemptible: r.preemptible,
    };
    // A job released before now may already be running (non-preemptible) or part done.
    if (r.releaseSlot < 0 && r.startedSlotsAgo !== undefined) {
      return r.preemptible ? { ...job, doneMin: Math.min(r.runtimeMin - 1, r.startedSlotsAgo * 10) } : { ...job, startedMs: T0 - r.startedSlotsAgo * HH };
    }
    return job;
  });

const instanceArb = fc.record({
  jobs: fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => jobArb(i)))),
  // Duplicate jobs: identical items are grouped into one set of columns.
  duplicates: fc.integer({ min: 0, max: 3 }),
  holdKw: fc.array(fc.constantFrom(0, 0, 100, 300), { minLength: N, maxLength: N }),
  breach: fc.array(fc.constantFrom(0, 300), { minLength: N, maxLength: N }),
  onsiteSlots: fc.array(fc.integer({ min: 0, max: N - 1 }), { maxLength: 4 }),
  carbonCap: fc.option(fc.integer({ min: 80, max: 300 }), { nil: undefined }),
  keepShare: fc.integer({ min: 0, max: 3 }),
});

describe('decomposition: the column count and the time limit', { timeout: 120_000 }, () => {
  test('columnCount equals the number of columns formulate builds (property)', () => {
    fc.assert(
      fc.property(instanceArb, (x) => {
        const copies = x.jobs.slice(0, x.duplicates).map((j, k) => ({ ...j, id: `${j.id}-copy${k}` }));
        const jobs = [...x.jobs, ...copies];
        const inp: PlanInput = {
          ...input(jobs, { site: siteConfig({ itCapacityKw: 2000, importCapKw: 2800, battery: { energyKwh: 1000, powerKw: 500 } }) }),
          signals: sineSignals(T0, N),
          flexHoldKw: x.holdKw,
          flexBreachGbpPerMwh: x.breach,
          onsite: x.onsiteSlots.map((slot) => ({ slot, kw: 200, priceGbpPerMwh: 1, intensityGPerKwh: 10 })),
          ...(x.carbonCap !== undefined ? { carbonCapGPerKwh: x.carbonCap } : {}),
        };
        const h = makeHorizon(inp, N);
        const items = inp.jobs.map((j) => toItem(h, j)).filter((it): it is Item => it !== null);
        // Some jobs kept from a previous plan: they are load, not columns.
        const g = greedySchedule(h, items);
        const keep = new Map([...g.jobs].filter((_, k) => x.keepShare > 0 && k % (x.keepShare + 1) === 0));
        const opt = { keep, ...(x.carbonCap !== undefined ? { carbonCapGPerKwh: x.carbonCap } : {}) };
        const f = formulate(h, items, { socInitKwh: 500, terminalSocFraction: 0.5, reserveKw: 300, ...opt });
        assert.equal(columnCount(h, items, opt), f.model.numCols);
      }),
      { numRuns: 300, seed: 1306 },
    );
  });

  test('a decomposed plan of many windows ends near its time limit, the windows it has no time for placed greedily', async () => {
    // A tenant's worst case, scaled down: 600 open jobs, each with a 7-day window, in ~40
    // windows whose solves hit their limits. At 0.5 s a window whatever the time left, the plan
    // took over 20 s against its limit of 2 s; now ~2-4 s.
    const slots = 7 * 48 + 10;
    const jobs: PlanJob[] = randomJobs(600, 5, { horizonSlots: 48 }).map((j) => ({ ...j, deadlineMs: T0 + 7 * 48 * HH }));
    const inp = { ...input(jobs), signals: sineSignals(T0, slots) };
    const t0 = performance.now();
    const p = await plan(inp, { mode: 'full', timeLimitS: 2, decomposeAboveColumns: 10_000 });
    const took = (performance.now() - t0) / 1000;
    assert.equal(p.solver.mode, 'decomposed');
    assert.match(p.solver.message ?? '', /placed greedily, the time limit reached/);
    assert.equal(p.status, 'time-limit-greedy');
    // The limit, one window's overrun and the final checks, with room for a loaded machine.
    assert.ok(took < 12, `the plan took ${took.toFixed(1)} s against a limit of 2 s`);
    // Every job is still in the plan, and the plan passed the validator (else it says so).
    assert.equal(p.jobs.length, jobs.length);
    assert.doesNotMatch(p.solver.message ?? '', /failed validation/);
  });

  test('a deterministic plan never cuts windows short by the clock', async () => {
    const jobs = randomJobs(40, 11, { horizonSlots: 96 });
    const p = await plan(input(jobs), { mode: 'full', deterministic: true, safetyTimeLimitS: 60, decomposeAboveColumns: 800 });
    assert.equal(p.solver.mode, 'decomposed');
    assert.doesNotMatch(p.solver.message ?? '', /placed greedily/);
    const again = await plan(input(jobs), { mode: 'full', deterministic: true, safetyTimeLimitS: 60, decomposeAboveColumns: 800 });
    assert.deepEqual(again.jobs, p.jobs);
  });
});
