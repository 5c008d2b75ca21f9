// test-file-timeout: 240
/**
 * Energy offered by outside on-site assets lowers what load costs in the half-hours it covers:
 * the planner moves flexible work into a cheap, clean offered window; facts that did not come
 * through the gateway (not in the operator's own `ext-<name>` stream) do not count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, type PlanJob, type Signals } from '../../../agents/compute/planner/index.ts';
import { siteConfig } from '../../../agents/compute/jobs/index.ts';
import { foldOnsiteFact, onsiteTiers, type OnsiteBattery, type OnsiteOffer } from '../../../agents/compute/onsite-offers.ts';
import { createComputeAgent } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import type { ComputeState } from '../../../agents/compute/state.ts';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { embeddedStack } from '../../support/embedded.ts';

const T0 = Date.parse('2023-07-03T00:00:00Z');
const HH = 1_800_000;
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Grid price and carbon that rise gently through the day: without an offer, earliest is cheapest. */
function risingSignals(slots = 96): Signals {
  return {
    startMs: T0,
    priceGbpPerMwh: Array.from({ length: slots }, (_, s) => 100 + s * 0.2),
    intensityGPerKwh: Array.from({ length: slots }, (_, s) => 200 + s * 0.2),
  };
}

const offer = (over: Partial<OnsiteOffer> = {}): OnsiteOffer => ({
  source: 'solar-1',
  assetId: 'bat-1',
  fromMs: T0 + 10 * H,
  toMs: T0 + 12 * H,
  powerKw: 3000,
  priceGbpPerMwh: 10,
  carbonGPerKwh: 20,
  eventId: 'e1',
  ...over,
});

test('onsiteTiers: every half-hour the offer covers, none outside it, a battery held to what it reported', () => {
  const tiers = onsiteTiers({ t0Ms: T0, slots: 96, slotMs: HH, offers: [offer()] });
  assert.deepEqual(
    tiers.map((t) => t.slot),
    [20, 21, 22, 23],
  );
  assert.ok(tiers.every((t) => t.kw === 3000 && t.priceGbpPerMwh === 10 && t.intensityGPerKwh === 20));
  // An offer that ended before the horizon, or offers nothing, gives nothing.
  assert.deepEqual(onsiteTiers({ t0Ms: T0, slots: 96, slotMs: HH, offers: [offer({ fromMs: T0 - 4 * H, toMs: T0 }), offer({ powerKw: 0 })] }), []);
  // A horizon that starts inside the window sees only the rest of it.
  assert.deepEqual(
    onsiteTiers({ t0Ms: T0 + 11 * H, slots: 96, slotMs: HH, offers: [offer()] }).map((t) => t.slot),
    [0, 1],
  );
  // The battery said it holds 2,000 kWh and discharges at most 2,500 kW: over 2 h that is 1,000 kW.
  const batteries = new Map<string, OnsiteBattery>([['solar-1\u0000bat-1', { source: 'solar-1', assetId: 'bat-1', atMs: T0, stateOfChargeKwh: 2000, maxDischargeKw: 2500 }]]);
  assert.ok(onsiteTiers({ t0Ms: T0, slots: 96, slotMs: HH, offers: [offer()], batteries }).every((t) => t.kw === 1000));
});

test('foldOnsiteFact counts a fact only from the operator stream ext-<source>; the latest offer of an asset replaces the one before', () => {
  const offers = new Map<string, OnsiteOffer>();
  const batteries = new Map<string, OnsiteBattery>();
  const data = { assetId: 'bat-1', from: iso(T0 + 10 * H), to: iso(T0 + 12 * H), powerKw: 500, priceGbpPerMwh: 10, carbonGPerKwh: 20 };
  const env = (stream: string, source: string, d: object, id = 'x') => ({ id, type: 'onsite.energy.offered', version: 1, stream, source, data: d }) as unknown as Envelope;
  assert.equal(foldOnsiteFact(offers, batteries, env('job-1', 'solar-1', data)), false);
  assert.equal(foldOnsiteFact(offers, batteries, env('ext-other', 'solar-1', data)), false);
  assert.equal(offers.size, 0);
  assert.equal(foldOnsiteFact(offers, batteries, env('ext-solar-1', 'solar-1', data)), true);
  assert.equal(foldOnsiteFact(offers, batteries, env('ext-solar-1', 'solar-1', { ...data, powerKw: 800 }, 'y')), true);
  assert.equal(offers.size, 1);
  assert.equal([...offers.values()][0]!.powerKw, 800);
});

test('planner: with a cheap, clean offer a flexible job moves into the offered window, and the plan costs less', async () => {
  const site = siteConfig();
  const job: PlanJob = { id: 'j1', class: 'training', powerKw: 1000, runtimeMin: 60, earliestStartMs: T0, deadlineMs: T0 + 24 * H, slaClass: 'silver', preemptible: false };
  const base = { nowMs: T0, site, jobs: [job], signals: risingSignals(), batterySocKwh: 2500 };
  const opts = { inWorker: false, mode: 'full' as const, timeLimitS: 20 };
  const without = await plan(base, opts);
  const onsite = onsiteTiers({ t0Ms: T0, slots: 96, slotMs: HH, offers: [offer()] });
  const withOffer = await plan({ ...base, onsite }, opts);
  const startOf = (p: typeof without) => p.jobs.find((j) => j.jobId === 'j1')!.startMs!;
  assert.equal(startOf(without), T0, 'without an offer the earliest (cheapest) slot');
  const s = startOf(withOffer);
  assert.ok(s >= T0 + 10 * H && s + 60 * 60_000 <= T0 + 12 * H, `with the offer the job runs inside 10:00-12:00, not from ${iso(s)}`);
  assert.ok(withOffer.totals.energyCostGbp < without.totals.energyCostGbp, `${withOffer.totals.energyCostGbp} < ${without.totals.energyCostGbp}`);
  assert.ok(withOffer.totals.carbonKg < without.totals.carbonKg);
  // The job's own expected cost carries the discount: 1,150 kWh at £10/MWh, 20 g/kWh, not the grid's.
  const j = withOffer.jobs.find((x) => x.jobId === 'j1')!;
  assert.ok(Math.abs(j.expectedCostGbp - 11.5) < 0.01, `expected £${j.expectedCostGbp}`);
  assert.ok(Math.abs(j.expectedCarbonKg - 23) < 0.01, `expected ${j.expectedCarbonKg} kg`);
  assert.ok(j.counterfactual.costGbp > 100, 'running at once, from the grid, costs what the grid charges');
  // An offer dearer than the grid changes nothing: the site imports instead.
  const dear = onsiteTiers({ t0Ms: T0, slots: 96, slotMs: HH, offers: [offer({ priceGbpPerMwh: 500, carbonGPerKwh: 900 })] });
  assert.equal(startOf(await plan({ ...base, onsite: dear }, opts)), T0);
});

test('compute agent: an offer appended to the operator stream re-plans the job into the window; the same offer elsewhere is ignored', async () => {
  const s = embeddedStack('onsite');
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep' });
  try {
    const compute = rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 10 } }));
    await rt.start();
    await rt.settle();
    const sub = await rt.send('compute', 'submit', {
      jobId: 'flex-1',
      class: 'training',
      powerKw: 1000,
      runtimeMin: 60,
      earliestStart: iso(T0 + H),
      deadline: iso(T0 + 30 * H),
      slaClass: 'silver',
      preemptible: false,
    });
    assert.equal(sub.ok, true, JSON.stringify(sub));
    await rt.settle();
    const plannedStart = async () => {
      let last: string | null = null;
      for await (const e of s.store.readAll()) if (e.type === 'compute.job.planned' && (e.data as { jobId: string }).jobId === 'flex-1') last = (e.data as { plannedStart: string }).plannedStart;
      return last;
    };
    const before = await plannedStart();
    assert.ok(before !== null);
    const from = T0 + 20 * H;
    assert.ok(Date.parse(before) < from || Date.parse(before) >= from + 2 * H, `the job was not already in the window (${before})`);
    const data = { assetId: 'bat-1', from: iso(from), to: iso(from + 2 * H), powerKw: 3000, priceGbpPerMwh: -50, carbonGPerKwh: 0 };
    const fact = (id: string) => ({ id, type: 'onsite.energy.offered', version: 1, time: iso(T0), source: 'solar-1', correlationId: id, causationId: null, data });
    // Not through the gateway (another stream): no re-plan, no offer in the state.
    await s.store.append('plan-forged', [fact('0190f000-0000-7000-8000-000000000001')], 'any');
    await rt.settle();
    assert.equal((compute.state as ComputeState).onsiteOffers.size, 0);
    assert.equal(await plannedStart(), before);
    await s.store.append('ext-solar-1', [fact('0190f000-0000-7000-8000-000000000002')], 'any');
    await rt.settle();
    assert.equal((compute.state as ComputeState).onsiteOffers.size, 1);
    const after = await plannedStart();
    assert.ok(after !== null && Date.parse(after) >= from && Date.parse(after) + H <= from + 2 * H, `re-planned into the offered window: ${after}`);
    // A job that arrives after the offer gets its provisional place in the window at once.
    const late = await rt.send('compute', 'submit', { jobId: 'flex-2', class: 'training', powerKw: 500, runtimeMin: 30, earliestStart: iso(T0 + H), deadline: iso(T0 + 30 * H), slaClass: 'silver', preemptible: false });
    assert.equal(late.ok, true);
    await rt.settle();
    let arrival: { plannedStart: string; planId: string; reason: string } | undefined;
    for await (const e of s.store.readAll()) if (e.type === 'compute.job.planned' && (e.data as { jobId: string }).jobId === 'flex-2') arrival ??= e.data as typeof arrival;
    assert.equal(arrival?.planId, 'arrival-flex-2');
    assert.ok(arrival && Date.parse(arrival.plannedStart) >= from && Date.parse(arrival.plannedStart) < from + 2 * H, JSON.stringify(arrival));
    assert.match(arrival.reason, /on-site assets offer/);
  } finally {
    await rt.stop();
    await s.close();
  }
});
