import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Job, siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { plan, validatePlan, type PlanInput, type PlanResult } from '../../../../agents/compute/planner/index.ts';

const T0 = Date.UTC(2023, 6, 3, 0, 0);
const HH = 1_800_000;
const N = 16;

const jobArb = (i: number) =>
  fc.record({
    powerKw: fc.integer({ min: 1, max: 40 }).map((x) => x * 50),
    runtimeMin: fc.integer({ min: 1, max: 12 }).map((x) => x * 15),
    releaseSlot: fc.integer({ min: 0, max: 8 }),
    releaseMin: fc.integer({ min: 0, max: 29 }),
    slackMin: fc.integer({ min: 0, max: 300 }),
    preemptible: fc.boolean(),
    sla: fc.constantFrom('gold' as const, 'silver' as const, 'bronze' as const),
  }).map((r): Job => {
    const release = T0 + r.releaseSlot * HH + r.releaseMin * 60_000;
    const first = Math.ceil(release / HH) * HH;
    return { id: `j${i}`, class: 'training', powerKw: r.powerKw, runtimeMin: r.runtimeMin, earliestStartMs: release, deadlineMs: first + r.runtimeMin * 60_000 + r.slackMin * 60_000, slaClass: r.sla, preemptible: r.preemptible };
  });

const instanceArb = fc.record({
  jobs: fc.integer({ min: 1, max: 10 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => jobArb(i)))),
  capacityKw: fc.integer({ min: 2, max: 8 }).map((x) => x * 500),
  prices: fc.array(fc.integer({ min: -20, max: 300 }), { minLength: N, maxLength: N }),
  intensity: fc.array(fc.integer({ min: 20, max: 400 }), { minLength: N, maxLength: N }),
  capCuts: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: N, maxLength: N }),
  socFraction: fc.double({ min: 0.1, max: 0.9, noNaN: true }),
  carbonCap: fc.option(fc.integer({ min: 80, max: 300 }), { nil: undefined }),
});

type Instance = typeof instanceArb extends fc.Arbitrary<infer T> ? T : never;

function toInput(x: Instance): PlanInput {
  const site = siteConfig({ itCapacityKw: x.capacityKw, importCapKw: x.capacityKw * 1.15 + 500, battery: { energyKwh: 1000, powerKw: 500 } });
  // Import caps cut by up to a quarter in some slots (flexibility sold there).
  const importCapKw = x.capCuts.map((c) => site.importCapKw * (1 - (c > 75 ? (c - 75) / 100 : 0)));
  return {
    nowMs: T0,
    site,
    jobs: x.jobs,
    signals: { startMs: T0, priceGbpPerMwh: x.prices, intensityGPerKwh: x.intensity },
    batterySocKwh: x.socFraction * 1000,
    importCapKw,
    ...(x.carbonCap !== undefined ? { carbonCapGPerKwh: x.carbonCap } : {}),
  };
}

function checkInvariants(input: PlanInput, p: PlanResult): void {
  const { site } = input;
  const eta = Math.sqrt(site.battery.roundTripEfficiency);
  const byJob = new Map(input.jobs.map((j) => [j.id, j]));
  const it = new Array<number>(N).fill(0);
  for (const jp of p.jobs) {
    const job = byJob.get(jp.jobId)!;
    for (const r of jp.runs) {
      it[r.slot]! += r.kw;
      assert.ok(T0 + r.slot * HH >= job.earliestStartMs - 1, `${job.id} runs in slot ${r.slot} before its release`);
      assert.ok(r.kw <= job.powerKw + 1e-6);
    }
  }
  let soc = input.batterySocKwh;
  for (let s = 0; s < N; s++) {
    const sp = p.slots[s]!;
    assert.ok(it[s]! <= site.itCapacityKw + 1e-3, `slot ${s}: IT ${it[s]} above capacity`);
    assert.ok(Math.abs(sp.itKw - it[s]!) < 1e-3);
    const siteKw = it[s]! * site.pue + sp.chargeKw - sp.dischargeKw;
    assert.ok(Math.abs(sp.siteKw - siteKw) < 1e-3, 'site power balance');
    assert.ok(sp.siteKw <= input.importCapKw![s]! + 1e-3, `slot ${s}: site ${sp.siteKw} above import cap ${input.importCapKw![s]}`);
    soc += 0.5 * (eta * sp.chargeKw - sp.dischargeKw / eta);
    assert.ok(Math.abs(sp.socKwh - soc) < 1e-3, 'battery energy balance');
    assert.ok(soc >= Math.min(100, input.batterySocKwh) - 1e-3 && soc <= Math.max(900, input.batterySocKwh) + 1e-3, `slot ${s}: SoC ${soc} out of bounds`);
  }
}

describe('planner properties on random small instances', () => {
  test('capacity, release, SoC bounds, energy balance and import cap hold; the validator agrees', async () => {
    await fc.assert(
      fc.asyncProperty(instanceArb, async (x) => {
        const input = toInput(x);
        const p = await plan(input, { horizonSlots: N, inWorker: false, mode: 'full', timeLimitS: 5, reserveFraction: 0 });
        checkInvariants(input, p);
        assert.deepEqual(validatePlan(p, input.jobs, input.site, input.signals, { batterySocKwh: input.batterySocKwh, importCapKw: input.importCapKw! }), []);
      }),
      { numRuns: 30, seed: 4242 },
    );
  });

  test('with room for every job, no job runs after its deadline', async () => {
    await fc.assert(
      fc.asyncProperty(instanceArb, async (x) => {
        // Ample capacity and cap: every job is feasible on its own and together.
        const input = { ...toInput({ ...x, capacityKw: 20_000, carbonCap: undefined }), importCapKw: undefined };
        const big = { ...input, site: siteConfig({ itCapacityKw: 20_000, importCapKw: 30_000, battery: { energyKwh: 1000, powerKw: 500 } }) };
        const p = await plan(big, { horizonSlots: N, inWorker: false, mode: 'full', timeLimitS: 5 });
        for (const jp of p.jobs) {
          const job = big.jobs.find((j) => j.id === jp.jobId)!;
          assert.notEqual(jp.kind, 'unplaced', `${job.id} unplaced`);
          assert.equal(jp.latenessH, 0, `${job.id} late`);
          if (jp.kind === 'scheduled') for (const r of jp.runs) assert.ok(T0 + r.slot * HH < job.deadlineMs, `${job.id} runs in slot ${r.slot} after its deadline`);
          if (jp.endMs !== null) assert.ok(jp.endMs <= job.deadlineMs + 1);
        }
      }),
      { numRuns: 25, seed: 99 },
    );
  });
});
