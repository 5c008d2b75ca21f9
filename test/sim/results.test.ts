import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { siteConfig } from '../../agents/compute/jobs/index.ts';
import { adjustForBattery, cacoTotals, storedEnergyValue } from '../../sim/results.ts';
import { embeddedStack } from '../support/embedded.ts';
import { FIXTURE_START_MS, fulfilOrder, meterRead, writeFixtureLedger } from './report/fixture.ts';

const SLOT = 1_800_000;
const iso = (ms: number) => new Date(ms).toISOString();
const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≠ ${b}`);

describe('the CACO row of the comparison table', { timeout: 60_000 }, () => {
  test('a repeated meter read and a repeated fulfilment are counted once, as the projections count them', async () => {
    const s = embeddedStack('results-dup');
    try {
      const w = await writeFixtureLedger(s.store, 20, 'rd');
      const site = siteConfig({});
      const before = await cacoTotals(s.store, [], site);
      await meterRead(w, 5); // the same half-hour read again
      await fulfilOrder(w); // and the order's fulfilment again
      const after = await cacoTotals(s.store, [], site);
      close(after.energyCostGbp, before.energyCostGbp);
      close(after.carbonT, before.carbonT);
      close(after.siteEnergyMwh, before.siteEnergyMwh);
      close(after.flexEarnedGbp, before.flexEarnedGbp);
      close(after.flexDeliveredMwh, before.flexDeliveredMwh);
      assert.equal(after.flexOrdersSettled, 1);
    } finally {
      await s.close();
    }
  });

  test('SLA misses are distinct jobs that missed or finished late, not deadline-missed events', async () => {
    const s = embeddedStack('results-sla');
    try {
      const w = await writeFixtureLedger(s.store, 20, 'rs');
      const t = FIXTURE_START_MS + 12 * SLOT;
      // trn-1: its deadline-missed fact three times (re-delivered); inf-1: finished within the
      // half-hour after its deadline, so only completed.late says so.
      for (let i = 0; i < 3; i++) await w.append('job-trn-1', 'compute', 'compute.job.deadline-missed', t, { jobId: 'trn-1', deadline: iso(t), remainingMin: 10, feasibleOnArrival: true });
      await w.append('job-inf-1', 'compute', 'compute.job.completed', t, { jobId: 'inf-1', at: iso(t), energyKwh: 1, costGbp: 0.1, carbonKg: 0.1, late: true });
      const totals = await cacoTotals(s.store, [], siteConfig({}));
      assert.equal(totals.slaMisses, 2);
    } finally {
      await s.close();
    }
  });

  test("the battery's end state is shown and valued at the week's mean price and intensity", async () => {
    const s = embeddedStack('results-soc');
    try {
      // The fixture charges 500 kWh in slot 20 (its last read here): 2,500 → 2,975 kWh.
      await writeFixtureLedger(s.store, 22, 'rb');
      const site = siteConfig({});
      const raw = await cacoTotals(s.store, [], site, 2500);
      assert.equal(raw.startSocKwh, 2500);
      close(raw.finalSocKwh!, 2975);
      const v = storedEnergyValue({ startMs: FIXTURE_START_MS, priceGbpPerMwh: [100, 60, 999], intensityGPerKwh: [200, 100, 999] }, 2, site);
      assert.deepEqual([v.priceGbpPerMwh, v.intensityGPerKwh], [80, 150]);
      const eta = Math.sqrt(site.battery.roundTripEfficiency);
      const adj = adjustForBattery(raw, v, [], site);
      // A surplus of 475 kWh gives back 475 × η at the meter: credited.
      close(adj.battery!.meterKwh, -475 * eta);
      close(adj.battery!.adjustedEnergyCostGbp, raw.energyCostGbp - (475 * eta * 80) / 1000);
      close(adj.battery!.adjustedCarbonT, raw.carbonT - (475 * eta * 150) / 1e6);
      assert.equal(adj.energyCostGbp, raw.energyCostGbp, 'the raw figures stay');
      // A deficit of 1,000 kWh takes 1,000 / η at the meter to restore.
      const drained = adjustForBattery({ ...raw, finalSocKwh: 1500 }, v, [], site);
      close(drained.battery!.gbp, ((1000 / eta) * 80) / 1000);
    } finally {
      await s.close();
    }
  });
});
