import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { plan, validatePlan, type PlanInput } from '../../../../agents/compute/planner/index.ts';
import { keepFromPrevious } from '../../../../agents/compute/planner/plan.ts';
import { makeHorizon, toItem } from '../../../../agents/compute/planner/horizon.ts';
import { columnCount } from '../../../../agents/compute/planner/formulation.ts';

const T0 = Date.UTC(2023, 6, 3, 0, 0);
const HH = 1_800_000;
const site = siteConfig({ carbonPriceGbpPerT: 0, battery: { energyKwh: 0, powerKw: 0, minSocFraction: 0, maxSocFraction: 0 } });
const flat = [50, 50, 50, 50, 50, 50, 50, 50];
const signals = { startMs: T0, priceGbpPerMwh: flat, intensityGPerKwh: flat.map(() => 200) };

// A 1 MW job that must run in slots 0–1 (no slack), under a sold reduction capping slots 0–1 at 500 kW.
function input(breachGbpPerMwh: number, slackSlots: number): PlanInput {
  return {
    nowMs: T0,
    site,
    signals,
    batterySocKwh: 0,
    flexCapKw: [500, 500, 14000, 14000, 14000, 14000, 14000, 14000],
    flexBreachGbpPerMwh: [breachGbpPerMwh, breachGbpPerMwh, 0, 0, 0, 0, 0, 0],
    jobs: [{ id: 'j', class: 'training', powerKw: 1000, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + (2 + slackSlots) * HH, slaClass: 'gold', preemptible: false }],
  };
}

test('a sold reduction is a soft cap: the plan goes above it rather than make a job late, and the plan still validates', async () => {
  const p = await plan(input(150, 0), { horizonSlots: 8, inWorker: false, mode: 'full' });
  const j = p.jobs.find((x) => x.jobId === 'j')!;
  assert.equal(j.startMs, T0, 'runs on time, above the flexibility cap');
  assert.equal(j.latenessH, 0);
  assert.ok(p.slots[0]!.siteKw > 500);
  assert.deepEqual(validatePlan(p, input(150, 0).jobs, site, signals, { batterySocKwh: 0 }), []);
});

test('with slack, the plan moves the job out of the capped window instead of paying for a shortfall', async () => {
  const p = await plan(input(150, 4), { horizonSlots: 8, inWorker: false, mode: 'full' });
  const j = p.jobs.find((x) => x.jobId === 'j')!;
  assert.ok(j.startMs! >= T0 + 2 * HH, `moved past the window, started ${new Date(j.startMs!).toISOString()}`);
  assert.ok(p.slots[0]!.siteKw <= 500 + 1e-6 && p.slots[1]!.siteKw <= 500 + 1e-6);
});

/** A 9 MW bronze job due in an hour, with the first hour sold down to 2 MW at `breach` £/MWh; a battery of 1 kWh. */
function bigJobUnderSale(breach: number, preemptible: boolean, n: number) {
  return plan(
    {
      nowMs: T0,
      site: siteConfig({ battery: { energyKwh: 1, powerKw: 1 } }),
      signals: { startMs: T0, priceGbpPerMwh: Array.from({ length: n }, () => 80), intensityGPerKwh: Array.from({ length: n }, () => 150) },
      batterySocKwh: 0.5,
      flexCapKw: Array.from({ length: n }, (_, s) => (s < 2 ? 2000 : 14000)),
      flexBreachGbpPerMwh: Array.from({ length: n }, (_, s) => (s < 2 ? breach : 0)),
      jobs: [{ id: 'b', class: 'batch-inference', powerKw: 9000, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + 2 * HH, slaClass: 'bronze', preemptible }],
    },
    { horizonSlots: n, inWorker: false, mode: 'full', deterministic: true },
  );
}

test('a sale never makes a large job late: 9 MW due in an hour under a 2 MW sold cap runs on time, above the cap (start and preemptible)', async () => {
  // A helper's review: lateness is priced per job (bronze £500/h × (1 + hours late), £1,000 for an
  // hour) and a shortfall per MWh (£300/MWh × 10.35 MWh ≈ £3,105), so the plan made the job late.
  for (const preemptible of [false, true]) {
    const p = await bigJobUnderSale(300, preemptible, 8);
    const j = p.jobs.find((x) => x.jobId === 'b')!;
    assert.equal(j.latenessH, 0, `preemptible ${preemptible}: ${JSON.stringify(j)}`);
    assert.ok(p.slots[0]!.siteKw > 2000, 'above the sold cap');
    // What a plan reports as its lateness penalty is the SLA's alone.
    assert.equal(p.totals.latenessPenaltyGbp, 0);
  }
});

test('a sale no job can reach does not change who is late: the bronze job, not the gold one', async () => {
  // The review of the fix above: charged on every late kWh while any sale was in the horizon,
  // the over-sale charge made the plan delay a 2 MW gold job (£7,500) instead of a 9 MW bronze
  // one (£750), for a sale at 20:00 that neither job touches.
  const n = 48;
  const jobs = [
    { id: 'bronze', class: 'training' as const, powerKw: 9000, runtimeMin: 240, earliestStartMs: T0, deadlineMs: T0 + 8 * HH, slaClass: 'bronze' as const, preemptible: false },
    { id: 'gold', class: 'training' as const, powerKw: 2000, runtimeMin: 30, earliestStartMs: T0, deadlineMs: T0 + 8 * HH, slaClass: 'gold' as const, preemptible: false },
  ];
  const flatSignals = { startMs: T0, priceGbpPerMwh: Array.from({ length: n }, () => 80), intensityGPerKwh: Array.from({ length: n }, () => 150) };
  const late = async (breach: number) => {
    const p = await plan(
      {
        nowMs: T0,
        site: siteConfig(),
        signals: flatSignals,
        batterySocKwh: 2500,
        flexCapKw: Array.from({ length: n }, (_, s) => (s >= 40 && s < 42 ? 8000 : 14000)),
        flexBreachGbpPerMwh: Array.from({ length: n }, (_, s) => (s >= 40 && s < 42 ? breach : 0)),
        jobs,
      },
      { horizonSlots: n, inWorker: false, mode: 'full', deterministic: true },
    );
    return p.jobs.filter((j) => j.latenessH > 0).map((j) => j.jobId);
  };
  assert.deepEqual(await late(0), ['bronze']);
  assert.deepEqual(await late(300), ['bronze'], 'the same with a sale at 20:00');
});

test('under a very dear sale a job is still run, late if it must, never left unplaced', async () => {
  // The review of the fix: the over-sale charge was not in the cost of leaving a job unplaced, so
  // at £20,000/MWh a breach the 9 MW job was left unplaced (latenessH 47) rather than run.
  const p = await bigJobUnderSale(20_000, false, 96);
  const j = p.jobs.find((x) => x.jobId === 'b')!;
  assert.equal(j.kind, 'scheduled', JSON.stringify(j));
  assert.equal(p.totals.unplacedJobs, 0);
});

describe('an incremental re-plan that falls short of flexibility sold is made again in full', () => {
  // The default week (2023-07-08 17:30): the incremental plan kept a roomy preemptible job in the
  // sold half-hour, tight arrivals were placed around it and the import went 82 kW over the cap.
  const n = 8;
  const cheapFirst = { startMs: T0, priceGbpPerMwh: [40, 60, 60, 60, 60, 60, 60, 60], intensityGPerKwh: Array.from({ length: n }, () => 150) };
  const roomy = { id: 'roomy', class: 'batch-inference' as const, powerKw: 1000, runtimeMin: 30, earliestStartMs: T0, deadlineMs: T0 + n * HH, slaClass: 'bronze' as const, preemptible: true };
  const tight = { id: 'tight', class: 'training' as const, powerKw: 1000, runtimeMin: 30, earliestStartMs: T0, deadlineMs: T0 + HH, slaClass: 'gold' as const, preemptible: false };
  const opts = { horizonSlots: n, inWorker: false, deterministic: true } as const;
  // Slot 0 sold down to 1,200 kW: room for the tight job (1,150 kW at PUE 1.15), not for both.
  const sold = { flexCapKw: [1200, 14000, 14000, 14000, 14000, 14000, 14000, 14000], flexBreachGbpPerMwh: [300, 0, 0, 0, 0, 0, 0, 0] };

  test('a kept job that can move leaves the sold slot, and the plan says why it was made in full', async () => {
    const first = await plan({ nowMs: T0, site, signals: cheapFirst, batterySocKwh: 0, jobs: [roomy] }, { ...opts, mode: 'full' });
    assert.equal(first.jobs.find((j) => j.jobId === 'roomy')!.runs[0]!.slot, 0, 'the first plan runs it in the cheapest slot');
    const again = await plan({ nowMs: T0, site, signals: cheapFirst, batterySocKwh: 0, jobs: [roomy, tight], previous: first, ...sold }, { ...opts, mode: 'auto' });
    assert.ok(again.slots[0]!.siteKw <= 1200 + 1e-6, `slot 0 imports ${again.slots[0]!.siteKw} kW under a 1,200 kW cap`);
    assert.equal(again.solver.mode, 'full');
    assert.match(again.solver.message ?? '', /made again in full: the incremental plan fell 550\.0 kWh short/);
    assert.equal(again.totals.lateJobs, 0);
  });

  test('where nothing can move, the incremental plan stands', async () => {
    const stuck = { ...roomy, deadlineMs: T0 + HH, preemptible: false };
    const first = await plan({ nowMs: T0, site, signals: cheapFirst, batterySocKwh: 0, jobs: [stuck] }, { ...opts, mode: 'full' });
    const again = await plan({ nowMs: T0, site, signals: cheapFirst, batterySocKwh: 0, jobs: [stuck, tight], previous: first, ...sold }, { ...opts, mode: 'auto' });
    assert.equal(again.solver.mode, 'incremental');
    assert.ok(again.slots[0]!.siteKw > 1200, 'both jobs must run in slot 0');
    assert.equal(again.totals.lateJobs, 0);
    // The second solve is said and timed, not hidden.
    assert.match(again.solver.message ?? '', /550\.0 kWh short of flexibility sold; a full re-plan was tried \(full, optimal, 550\.0 kWh short\) and not taken/);
  });

  test('a full plan made by decomposition is not taken over a whole incremental one', async () => {
    // A helper's review: sized on every job, the full plan can be decomposed where the incremental
    // one (sized on the jobs it does not keep) is solved whole; taken on its shortfall alone, it
    // cost more, energy and shortfall together, than the plan it replaced.
    const first = await plan({ nowMs: T0, site, signals: cheapFirst, batterySocKwh: 0, jobs: [roomy] }, { ...opts, mode: 'full' });
    const again: PlanInput = { nowMs: T0, site, signals: cheapFirst, batterySocKwh: 0, jobs: [roomy, tight], previous: first, ...sold };
    const h = makeHorizon(again, n);
    const items = again.jobs.map((j) => toItem(h, j)).filter((x) => x !== null);
    const incrementalColumns = columnCount(h, items, { keep: keepFromPrevious(h, items, first) });
    assert.ok(columnCount(h, items, {}) > incrementalColumns, 'the full model is the larger');
    const p = await plan(again, { ...opts, mode: 'auto', decomposeAboveColumns: incrementalColumns });
    assert.equal(p.solver.mode, 'incremental');
    assert.match(p.solver.message ?? '', /a full re-plan was tried \(decomposed, /);
  });
});
