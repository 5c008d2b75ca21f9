// test-file-timeout: 30
/**
 * A job is completed on the kW the meter records, from which the state rebuilds its progress.
 * Judged on the kW before rounding, a 1 W job of 40 minutes was completed while its last piece
 * (0.33 W) was recorded as 0 W, so the ledger held 30 of its 40 minutes, and a tick cut short
 * after the read would have run it again (a helper's review).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialComputeState } from '../../../agents/compute/state.ts';
import { evolveCompute } from '../../../agents/compute/evolve.ts';
import { meterHalfHour } from '../../../agents/compute/metering.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';

const T0 = Date.parse('2023-07-03T00:00:00Z');
const HH = 1_800_000;
const iso = (m: number) => new Date(m).toISOString();
type Stored = Parameters<typeof evolveCompute>[1];

/**
 * A site with one job 'a' of `powerKw` for `runtimeMin`, started at T0; `meter(slot)` dispatches
 * it at its power for that half-hour, meters it, records the read and returns the meter's result.
 */
function siteWithJob(powerKw: number, runtimeMin: number, deadlineMs: number) {
  const s = initialComputeState(2500);
  let rev = 0;
  const ev = (type: string, data: unknown, stream = 'job-a') => evolveCompute(s, { type, data, revision: rev++, id: `e${rev}`, time: iso(T0), stream } as unknown as Stored, DEFAULT_SITE.pue);
  ev('compute.job.submitted', { jobId: 'a', class: 'training', powerKw, gpuCount: null, runtimeMin, runtimeSource: 'given', runtimeModel: null, earliestStart: iso(T0), deadline: iso(deadlineMs), slaClass: 'silver', preemptible: false, submittedBy: null });
  ev('compute.job.started', { jobId: 'a', at: iso(T0), kw: powerKw });
  const meter = (slot: number) => {
    ev('compute.plan.published', {
      planId: 'p', forecastId: null, startsAt: iso(T0 + slot * HH), trigger: 'x', solver: { status: 'optimal', mode: 'full', note: '' }, jobs: 1,
      itKw: [], siteKw: [], batteryChargeKw: [], batteryDischargeKw: [], batterySocKwh: [], importCapKw: [], expected: { costGbp: 0, carbonKg: 0 },
      dispatch: { slotStart: iso(T0 + slot * HH), runs: [{ jobId: 'a', kw: powerKw }], chargeKw: 0, dischargeKw: 0 },
    }, 'plan-main');
    const m = meterHalfHour(DEFAULT_SITE, s, T0 + (slot + 1) * HH)!;
    ev('site.meter.read', m.read, 'meter-main');
    return m;
  };
  return { doneMin: () => s.jobs.get('a')!.doneMin, meter };
}

test('a 1 W job of 40 minutes: completed in its second half-hour with the ledger holding all 40 minutes', () => {
  const site = siteWithJob(0.001, 40, T0 + 4 * HH);
  assert.equal(site.meter(0).completed.length, 0);
  const second = site.meter(1);
  assert.equal(second.completed.length, 1, 'completed in the second half-hour');
  const recorded = second.read.jobs.find((j) => j.jobId === 'a')!;
  assert.ok(recorded.kw > 0, `the last piece is recorded: ${JSON.stringify(second.read.jobs)}`);
  assert.ok(site.doneMin() >= 40 - 0.05, `the ledger holds ${site.doneMin()} of 40 minutes`);
});

test('a 0.1 kW job of 31 minutes: completed at 00:31, on time, with the ledger holding its 31 minutes', () => {
  // The review of the fix above: judged on the kW rounded to 1 W (0.003 for 0.00333), the job's
  // last minute read as 0.9 of a minute; it was completed half an hour later, marked late.
  const site = siteWithJob(0.1, 31, T0 + 1.5 * HH);
  site.meter(0);
  const second = site.meter(1);
  assert.deepEqual(second.completed.map((c) => [c.at, c.late]), [['2023-07-03T00:31:00.000Z', false]]);
  assert.ok(site.doneMin() >= 31 - 0.05, `the ledger holds ${site.doneMin()} of 31 minutes`);
});
