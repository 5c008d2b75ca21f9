import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  SolverWorker,
  formulate,
  makeHorizon,
  plan,
  sharedSolverWorker,
  solveLpText,
  solvePlanInWorker,
  toItem,
  toLpText,
  type Item,
} from '../../../../agents/compute/planner/index.ts';
import { input, randomJobs } from './fixtures.ts';

after(async () => {
  await sharedSolverWorker().close();
});

const BAD_LP = 'Minimise this is not an LP model at all';

describe('solver worker', () => {
  test('a bad LP string is reported as an error, not an empty plan (in-process and in the worker)', async () => {
    const r = await solveLpText(BAD_LP, 5, 0.01);
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /could not use the model|status/);
    const w = await sharedSolverWorker().solveLpText(BAD_LP, 5, 0.01);
    assert.equal(w.ok, false);
    assert.notEqual(w.modelStatus, 'Optimal');
  });

  test('the LP text of a planner model solves to the same objective as the sparse model', async () => {
    const inp = input(randomJobs(6, 3));
    const h = makeHorizon(inp, 96);
    const items = inp.jobs.map((j) => toItem(h, j)).filter((x): x is Item => x !== null);
    const f = formulate(h, items, { socInitKwh: 2500, terminalSocFraction: 0.5 });
    const text = await solveLpText(toLpText(f.model), 20, 0);
    const sparse = await solvePlanInWorker({ model: f.model, timeLimitS: 20, mipRelGap: 0, strategy: 'mip' });
    assert.equal(text.ok, true);
    assert.ok(sparse.objective !== null && text.objective !== null);
    assert.ok(Math.abs(sparse.objective! - text.objective!) <= 1e-6 * Math.max(1, Math.abs(sparse.objective!)), `${sparse.objective} vs ${text.objective}`);
  });

  test('returns within its time budget on a hard instance, with a usable plan and a status that says so', async () => {
    const inp = input(randomJobs(600, 11));
    const t0 = performance.now();
    const p = await plan(inp, { timeLimitS: 0.5, mode: 'full' });
    const elapsed = (performance.now() - t0) / 1000;
    // 0.5 s of solving, model building and the worker round trip; the backstop is time limit + 3 s.
    assert.ok(elapsed < 6, `took ${elapsed.toFixed(2)} s`);
    assert.ok(['optimal', 'time-limit-incumbent', 'time-limit-greedy'].includes(p.status), p.status);
    assert.equal(p.jobs.length, 600);
  });

  test('a worker that overruns is ended and the call rejects with a timeout', async () => {
    const w = new SolverWorker(0);
    try {
      const inp = input(randomJobs(400, 5));
      const h = makeHorizon(inp, 96);
      const items = inp.jobs.map((j) => toItem(h, j)).filter((x): x is Item => x !== null);
      const f = formulate(h, items, { socInitKwh: 2500, terminalSocFraction: 0.5 });
      // A budget far below what loading the WASM and building the model takes: the backstop must fire.
      await assert.rejects(w.solve({ model: f.model, timeLimitS: 0.001, mipRelGap: 0, strategy: 'mip' }), /did not answer/);
      // The next request goes to a fresh worker and is answered: the ended worker's exit, arriving
      // after it was sent, rejected it too (a helper's review: "solver worker exited with code 1").
      const small = input(randomJobs(4, 6));
      const hs = makeHorizon(small, 96);
      const fs = formulate(hs, small.jobs.map((j) => toItem(hs, j)).filter((x): x is Item => x !== null), { socInitKwh: 2500, terminalSocFraction: 0.5 });
      const next = await w.solve({ model: fs.model, timeLimitS: 5, mipRelGap: 0.01, strategy: 'mip' });
      assert.equal(next.modelStatus, 'Optimal');
    } finally {
      await w.close();
    }
  });

  test('works when the parent runs under `tsx` and under `node --import tsx`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caco-worker-'));
    const script = join(dir, 'run.mts');
    const root = resolve('.');
    writeFileSync(
      script,
      `import { plan, sharedSolverWorker } from '${root}/agents/compute/planner/index.ts';\n` +
        `import { input, randomJobs } from '${root}/test/agents/compute/planner/fixtures.ts';\n` +
        `const p = await plan(input(randomJobs(5, 1)), { mode: 'full', inWorker: true });\n` +
        `console.log('STATUS', p.status, p.solver.modelStatus);\n` +
        `await sharedSolverWorker().close();\n`,
    );
    const tsxBin = resolve('node_modules/.bin/tsx');
    for (const [cmd, args] of [[process.execPath, ['--import', 'tsx', script]], [tsxBin, [script]]] as const) {
      const r = spawnSync(cmd, [...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      assert.match(r.stdout, /STATUS optimal Optimal/, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    }
  });
});
