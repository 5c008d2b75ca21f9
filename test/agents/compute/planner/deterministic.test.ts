import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { cpus } from 'node:os';
import { SeededRandom } from '../../../../core/ids/ids.ts';
import { siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { plan, sharedSolverWorker, statusOf, type PlanInput, type PlanJob, type PlanResult } from '../../../../agents/compute/planner/index.ts';
import { HH, T0, input, randomJobs, sineSignals } from './fixtures.ts';

after(async () => {
  await sharedSolverWorker().close();
});

/**
 * An over-subscribed small site: twenty long, non-preemptible jobs on 1.5 MW with narrow
 * windows. HiGHS cannot close the gap at the root, so a node limit is what stops it. The tests
 * plan it without the reserve (`reserveFraction: 0`): a plan with a late job is otherwise made
 * twice (plan.ts, missesLess), and the first seventeen of these jobs are solved at the root
 * without it.
 */
function packedInput(): PlanInput {
  const r = new SeededRandom(5);
  const jobs: PlanJob[] = [];
  for (let i = 0; i < 20; i++) {
    const rel = T0 + r.int(0, 30) * HH;
    const runtimeMin = 30 * r.int(2, 8);
    jobs.push({
      id: `h${i}`,
      class: 'training',
      powerKw: 50 * r.int(4, 30),
      runtimeMin,
      earliestStartMs: rel,
      deadlineMs: rel + runtimeMin * 60_000 + r.int(2, 12) * HH,
      slaClass: (['gold', 'silver', 'bronze'] as const)[r.int(0, 2)]!,
      preemptible: false,
    });
  }
  const site = siteConfig({ itCapacityKw: 1500, importCapKw: 1500 * 1.15 + 500 });
  return { nowMs: T0, site, jobs, signals: sineSignals(T0, 96, 5), batterySocKwh: 2500 };
}

/** The plan without its timings: everything that is acted on or written to the ledger. */
function decisions(p: PlanResult): unknown {
  const { buildMs: _b, solveMs: _s, totalMs: _t, ...solver } = p.solver;
  return { ...p, solver };
}

/** Busy loops in worker threads, one per core, until stopped: a machine that is suddenly slow. */
function hogCpu(): { stop: () => Promise<void> } {
  const workers = Array.from({ length: Math.max(2, cpus().length) }, () => new Worker('let x = 0; for (;;) { x = (x + 1) % 1e9; }', { eval: true }));
  return { stop: async () => void (await Promise.all(workers.map((w) => w.terminate()))) };
}

describe('deterministic plans', () => {
  test('a work limit that is hit gives the identical plan on an idle and on a hogged CPU, whatever timeLimitS says', async () => {
    const inp = packedInput();
    const opts = { mode: 'full', deterministic: true, workLimit: { mipNodes: 3 }, mipRelGap: 0, reserveFraction: 0 } as const;
    const idle = await plan(inp, { ...opts, inWorker: false });
    assert.equal(idle.status, 'work-limit-incumbent', `${idle.status} ${idle.solver.modelStatus}`);
    assert.ok(idle.solver.mipNodes <= 3, `${idle.solver.mipNodes} nodes`);
    const hog = hogCpu();
    let loaded: PlanResult;
    try {
      // In the worker this time, and with a wall-clock limit that would cut the solve short if it were used.
      loaded = await plan(inp, { ...opts, inWorker: true, timeLimitS: 0.05 });
    } finally {
      await hog.stop();
    }
    assert.ok(loaded.solver.totalMs > 0);
    assert.deepEqual(decisions(loaded), decisions(idle));
  });

  test('the node limit really bounds the work: more nodes, more work, a bound no worse', async () => {
    const inp = packedInput();
    const one = await plan(inp, { mode: 'full', inWorker: false, deterministic: true, workLimit: { mipNodes: 1 }, mipRelGap: 0, reserveFraction: 0 });
    const eight = await plan(inp, { mode: 'full', inWorker: false, deterministic: true, workLimit: { mipNodes: 8 }, mipRelGap: 0, reserveFraction: 0 });
    assert.equal(one.solver.mipNodes, 1);
    assert.ok(eight.solver.mipNodes > 1 && eight.solver.mipNodes <= 8, `${eight.solver.mipNodes} nodes`);
    assert.ok(eight.solver.lpIterations > one.solver.lpIterations, `${eight.solver.lpIterations} vs ${one.solver.lpIterations} iterations`);
    assert.ok(eight.solver.objectiveGbp! <= one.solver.objectiveGbp! + 1e-6);
    assert.ok(eight.solver.boundGbp! >= one.solver.boundGbp! - 1e-6);
  });

  test('an LP iteration limit that is hit gives the greedy plan and says a work limit did it', async () => {
    // 300 jobs: relax-and-fix, whose LP needs thousands of simplex iterations.
    const inp = input(randomJobs(300, 11));
    const p = await plan(inp, { mode: 'full', inWorker: false, deterministic: true, workLimit: { lpIterations: 50 } });
    assert.equal(p.status, 'work-limit-greedy', `${p.status} ${p.solver.modelStatus}`);
    assert.equal(p.solver.modelStatus, 'Iteration limit reached');
    assert.ok(p.solver.lpIterations <= 50 && p.solver.lpIterations > 0, `${p.solver.lpIterations}`);
    assert.equal(p.jobs.length, 300);
    const again = await plan(inp, { mode: 'full', inWorker: false, deterministic: true, workLimit: { lpIterations: 50 } });
    assert.deepEqual(decisions(again), decisions(p));
  });

  test('the default deterministic limits leave a routine plan optimal and the same as an unlimited solve', async () => {
    const inp = input(randomJobs(30, 21, { maxPowerKw: 600 }));
    const det = await plan(inp, { mode: 'full', inWorker: false, deterministic: true });
    const free = await plan(inp, { mode: 'full', inWorker: false });
    assert.equal(det.status, 'optimal');
    assert.deepEqual(det.jobs, free.jobs);
  });

  test('statuses: what stopped the solver and whether there was an incumbent', () => {
    assert.equal(statusOf('Optimal', true), 'optimal');
    assert.equal(statusOf('Solution limit reached', true), 'work-limit-incumbent');
    assert.equal(statusOf('Iteration limit reached', false), 'work-limit-greedy');
    assert.equal(statusOf('Time limit reached', true), 'time-limit-incumbent');
    assert.equal(statusOf('Time limit reached', false), 'time-limit-greedy');
    assert.equal(statusOf('Infeasible', false), 'error-greedy');
  });
});
