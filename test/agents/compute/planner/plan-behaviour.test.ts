import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, validatePlan, type PlanResult } from '../../../../agents/compute/planner/index.ts';
import { siteConfig } from '../../../../agents/compute/jobs/index.ts';
import { HH, T0, input, randomJobs, sineSignals } from './fixtures.ts';

const small = () => randomJobs(30, 21, { maxPowerKw: 600 });

describe('plan', () => {
  test('a re-plan half an hour later is incremental and keeps still-valid starts', async () => {
    const jobs = small();
    const first = await plan(input(jobs), { inWorker: false });
    assert.equal(first.solver.mode, 'full');
    const later = { ...input(jobs), nowMs: T0 + HH, signals: sineSignals(T0, 200), previous: first };
    // Nothing has run yet in this test, so only jobs not planned to start in slot 0 remain valid.
    const second = await plan(later, { inWorker: false });
    assert.equal(second.solver.mode, 'incremental');
    const before = new Map(first.jobs.map((j) => [j.jobId, j]));
    let kept = 0;
    for (const jp of second.jobs) {
      const prev = before.get(jp.jobId)!;
      const job = jobs.find((j) => j.id === jp.jobId)!;
      if (!job.preemptible && prev.kind === 'scheduled' && prev.startMs! >= T0 + HH) {
        assert.equal(jp.startMs, prev.startMs, `${jp.jobId} moved`);
        kept++;
      }
    }
    assert.ok(kept > 0);
    assert.equal(second.lastFullMs, first.lastFullMs);
    // Six hours on, a full re-plan is due.
    const third = await plan({ ...later, nowMs: T0 + 13 * HH, previous: second }, { inWorker: false });
    assert.equal(third.solver.mode, 'full');
  });

  test('a job of a denormal kW already open (from before the intake refused them) does not make the model unsolvable', async () => {
    // 5e-324 kW: half a slot of it is 0 kWh, and a lateness cost per kWh of 0/0 made HiGHS refuse the whole model.
    const jobs = [...small(), { ...small()[0]!, id: 'tiny', powerKw: 5e-324, preemptible: true }];
    const r = await plan(input(jobs), { inWorker: false, mode: 'full' });
    assert.notEqual(r.status, 'error-greedy');
    assert.match(r.status, /^(optimal|time-limit)/);
  });

  test('greedy mode and the solver both give valid plans; the solver is no dearer', async () => {
    const jobs = small();
    const inp = input(jobs);
    const opt = await plan(inp, { inWorker: false, mode: 'full' });
    const greedy = await plan(inp, { inWorker: false, mode: 'greedy' });
    assert.equal(greedy.status, 'greedy');
    for (const p of [opt, greedy]) assert.deepEqual(validatePlan(p, jobs, inp.site, inp.signals, { batterySocKwh: 2500 }), []);
    const total = (p: PlanResult) => p.totals.energyCostGbp + p.totals.carbonCostGbp + p.totals.latenessPenaltyGbp;
    assert.ok(total(opt) <= total(greedy) + 1e-6, `${total(opt)} > ${total(greedy)}`);
  });

  test('a per-slot import cap (flexibility sold) lowers site power in that window', async () => {
    const jobs = small();
    const free = await plan(input(jobs), { inWorker: false, mode: 'full' });
    const peakSlot = free.slots.reduce((b, s, i) => (s.siteKw > free.slots[b]!.siteKw ? i : b), 0);
    const cap = Array.from({ length: 96 }, (_, i) => (Math.abs(i - peakSlot) <= 2 ? free.slots[peakSlot]!.siteKw * 0.5 : 14_000));
    const capped = await plan({ ...input(jobs), importCapKw: cap }, { inWorker: false, mode: 'full' });
    for (let i = peakSlot - 2; i <= peakSlot + 2; i++) if (i >= 0 && i < 96) assert.ok(capped.slots[i]!.siteKw <= cap[i]! + 1e-3);
    assert.deepEqual(validatePlan(capped, jobs, input(jobs).site, input(jobs).signals, { batterySocKwh: 2500, importCapKw: cap }), []);
  });

  test('a hard carbon cap lowers the plan’s average intensity', async () => {
    const jobs = small();
    const free = await plan(input(jobs), { inWorker: false, mode: 'full' });
    const avg = (p: PlanResult) => (p.totals.carbonKg * 1000) / p.totals.siteEnergyKwh;
    const capG = avg(free) - 5;
    const capped = await plan({ ...input(jobs), carbonCapGPerKwh: capG }, { inWorker: false, mode: 'full' });
    assert.ok(avg(capped) <= capG + 0.5, `${avg(capped)} > ${capG}`);
  });

  test('flexibility is non-negative and never more than the slot imports', async () => {
    const p = await plan(input(small()), { inWorker: false, mode: 'full' });
    assert.equal(p.flexibility.length, 96);
    assert.ok(p.flexibility.some((f) => f.sheddableKw > 0));
    for (let s = 0; s < 96; s++) {
      const f = p.flexibility[s]!;
      assert.ok(f.sheddableKw >= 0 && f.sheddableKw <= p.slots[s]!.siteKw + 1e-6);
      assert.ok(f.marginalCostGbpPerMwh >= 0 && Number.isFinite(f.marginalCostGbpPerMwh));
    }
  });
});

describe('validatePlan catches what is wrong', () => {
  test('capacity, release, import cap and SoC tampering are each reported', async () => {
    const jobs = small();
    const inp = input(jobs);
    const p = await plan(inp, { inWorker: false, mode: 'full' });
    const codes = (q: PlanResult, caps?: number[]) => validatePlan(q, jobs, inp.site, inp.signals, { batterySocKwh: 2500, ...(caps ? { importCapKw: caps } : {}) }).map((x) => x.code);
    assert.deepEqual(codes(p), []);
    const over = { ...p, slots: p.slots.map((s, i) => (i === 3 ? { ...s, itKw: 20_000 } : s)) };
    assert.ok(codes(over).includes('capacity'));
    const job = p.jobs.find((j) => j.runs.length > 0 && jobs.find((x) => x.id === j.jobId)!.earliestStartMs > T0 + HH)!;
    const early = { ...p, jobs: p.jobs.map((j) => (j === job ? { ...j, runs: [{ slot: 0, kw: j.runs[0]!.kw }, ...j.runs.slice(1)] } : j)) };
    assert.ok(codes(early).includes('release'));
    assert.ok(codes(p, Array.from({ length: 96 }, () => 10)).includes('import-cap'));
    const soc = { ...p, slots: p.slots.map((s, i) => (i === 5 ? { ...s, socKwh: s.socKwh + 100 } : s)) };
    assert.ok(codes(soc).includes('energy-balance'));
    const missing = { ...p, jobs: p.jobs.slice(1) };
    assert.ok(codes(missing).includes('job-missing'));
  });
});

describe('lateness', () => {
  test('a long preemptible job does not finish late to skip a price peak its SLA penalty outweighs', async () => {
    // 5 h of work in a 6 h window; the 3 h peak costs £550/MWh more. Skipping the whole peak saves
    // ~£950 of energy but makes the job 2 h late: £1,500 for a bronze job. The model once priced
    // each late kWh at the penalty over the job's whole remaining energy (10 slots' worth), so a
    // late slot cost it a tenth of what lateness costs, and it went late.
    const price = Array.from({ length: 96 }, (_, s) => (s >= 2 && s < 8 ? 600 : 50));
    const signals = { startMs: T0, priceGbpPerMwh: price, intensityGPerKwh: price.map(() => 150) };
    // No battery: it would cover the peak instead, and the choice would not be between lateness and price.
    const site = siteConfig({ battery: { powerKw: 0 } });
    const job = { id: 'long', class: 'training' as const, powerKw: 1000, runtimeMin: 300, earliestStartMs: T0, deadlineMs: T0 + 12 * HH, slaClass: 'bronze' as const, preemptible: true };
    for (const mode of ['full', 'greedy'] as const) {
      const p = await plan(input([job], { signals, site }), { inWorker: false, mode });
      const jp = p.jobs[0]!;
      assert.equal(jp.latenessH, 0, `${mode}: late by ${jp.latenessH} h, runs ${jp.runs.map((r) => r.slot).join(',')}`);
      assert.deepEqual(validatePlan(p, [job], site, signals, { batterySocKwh: 2500 }), []);
      // On time, it still skips the two dearest half-hours it can.
      assert.equal(jp.runs.filter((r) => r.slot >= 2 && r.slot < 8).length, 4, `${mode}: runs ${jp.runs.map((r) => r.slot).join(',')}`);
    }
  });

  test('a job that cannot finish on time is planned to finish late, not left partly undone', async () => {
    // 24 h of gold work in a 21 h window: at least 3 h late. Each late slot now carries the whole
    // penalty, so leaving work unserved has to cost more than the latest slot, or the model
    // would rather not finish the job at all.
    const job = { id: 'late', class: 'training' as const, powerKw: 1000, runtimeMin: 24 * 60, earliestStartMs: T0, deadlineMs: T0 + 42 * HH, slaClass: 'gold' as const, preemptible: true };
    for (const mode of ['full', 'greedy'] as const) {
      const p = await plan(input([job]), { inWorker: false, mode });
      const jp = p.jobs[0]!;
      const kwh = jp.runs.reduce((a, r) => a + r.kw * 0.5, 0);
      assert.equal(jp.kind, 'scheduled', `${mode}: ${jp.kind}`);
      assert.ok(Math.abs(kwh - 24_000) < 1e-6, `${mode}: ${kwh} of 24,000 kWh planned`);
      assert.equal(jp.latenessH, 3, `${mode}: late by ${jp.latenessH} h`);
    }
  });
});
