import assert from 'node:assert/strict';
import type { NewEvent } from '../../../core/envelope/envelope.ts';
import type { EventStore } from '../../../core/store/event-store.ts';
import { settlementPeriodOf } from '../../../core/time/index.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { orderStatement, settlementProjection } from '../../../projections/settlement/index.ts';
import { fold } from '../../../projections/index.ts';

/**
 * A small, well-formed ledger written straight to a store: every event's data is checked
 * against its registered schema, so the fixture cannot drift from what the agents write.
 * Half-hourly grid observations and meter reads, a forecast every two hours, a few jobs of
 * each class (one preempted and resumed), and one flexibility order from offer to fulfilment.
 */

const registry = cacoRegistry();
const SLOT = 1_800_000;
export const FIXTURE_START_MS = Date.parse('2023-07-03T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

export const carbonAt = (ms: number) => 150 + 60 * Math.sin((ms - FIXTURE_START_MS) / 8.64e7 * 2 * Math.PI);
export const priceAt = (ms: number) => 60 + 40 * Math.cos((ms - FIXTURE_START_MS) / 8.64e7 * 2 * Math.PI);

export interface FixtureJob {
  readonly jobId: string;
  readonly class: 'training' | 'batch-inference' | 'serving';
  readonly powerKw: number;
  /** Half-hour slots (from the fixture start) in which it runs. */
  readonly slots: ReadonlyArray<number>;
}

export const FIXTURE_JOBS: ReadonlyArray<FixtureJob> = [
  { jobId: 'trn-1', class: 'training', powerKw: 4000, slots: [2, 3, 4, 5] },
  { jobId: 'inf-1', class: 'batch-inference', powerKw: 1500, slots: [6, 7, 9, 10] },
  { jobId: 'srv-1', class: 'serving', powerKw: 800, slots: [0, 1, 2, 3, 4, 5, 6, 7] },
  { jobId: 'trn-2', class: 'training', powerKw: 3000, slots: [30, 31, 32] },
];

export class FixtureWriter {
  private n = 0;
  constructor(
    readonly store: EventStore,
    private readonly prefix = 'fx',
  ) {}

  async append(stream: string, source: string, type: string, time: number, data: Record<string, unknown>): Promise<string> {
    const d = registry.decode(type, 1, data);
    assert.ok(d.ok, `${type} does not match its schema: ${d.ok ? '' : JSON.stringify(d.problems)}`);
    const id = `${this.prefix}-${String(++this.n).padStart(6, '0')}`;
    const e: NewEvent = { id, type, version: 1, time: iso(time), source, correlationId: `corr-${stream}`, causationId: null, data };
    await this.store.append(stream, [e], 'any');
    return id;
  }
}

function bands(startMs: number, f: (ms: number) => number, spread: number) {
  return Array.from({ length: 96 }, (_, i) => {
    const p50 = f(startMs + i * SLOT) + 5;
    return { p10: p50 - spread, p50, p90: p50 + spread };
  });
}

/** The kW each job draws in slot k. */
export function runningIn(k: number): Array<{ job: FixtureJob; kw: number }> {
  return FIXTURE_JOBS.filter((j) => j.slots.includes(k)).map((job) => ({ job, kw: job.powerKw }));
}

export const FIXTURE_PUE = 1.15;

/** A meter read for slot k: IT by class × PUE, the battery idle at 2,500 kWh. */
export async function meterRead(w: FixtureWriter, k: number): Promise<void> {
  const t = FIXTURE_START_MS + k * SLOT;
  const runs = runningIn(k);
  const byClass = { training: 0, 'batch-inference': 0, serving: 0 };
  for (const r of runs) byClass[r.job.class] += r.kw * 0.5;
  const it = byClass.training + byClass['batch-inference'] + byClass.serving;
  const charge = k === 20 ? 500 : 0;
  await w.append('meter-main', 'compute', 'site.meter.read', t + SLOT, {
    periodStart: iso(t),
    ...settlementPeriodOf(t),
    itKwh: it,
    importKwh: it * FIXTURE_PUE + charge,
    batteryChargeKwh: charge,
    batteryDischargeKwh: 0,
    batterySocKwh: 2500 + (k >= 20 ? charge * 0.95 : 0),
    carbonGPerKwh: carbonAt(t),
    priceGbpPerMwh: priceAt(t),
    byClassKwh: byClass,
    signals: 'observed',
    jobs: runs.map((r) => ({ jobId: r.job.jobId, kw: r.kw })),
  });
}

/** Everything that happens at the tick starting slot k (the previous half-hour settled). */
export async function tick(w: FixtureWriter, k: number): Promise<void> {
  const t = FIXTURE_START_MS + k * SLOT;
  if (k > 0) {
    const p = t - SLOT;
    await w.append('grid-signals', 'grid', 'grid.signal.observed', t, {
      periodStart: iso(p),
      ...settlementPeriodOf(p),
      carbonActualGPerKwh: carbonAt(p),
      carbonPublishedForecastGPerKwh: carbonAt(p) + 3,
      imbalancePriceGbpPerMwh: priceAt(p) + 1,
      marketIndexPriceGbpPerMwh: priceAt(p),
      source: 'fixture',
    });
    await meterRead(w, k - 1);
  }
  if (k % 4 === 0) {
    await w.append('grid-forecasts', 'grid', 'grid.forecast.published', t, {
      forecastId: `forecast-${iso(t).slice(0, 16)}Z`,
      issuedAt: iso(t),
      startsAt: iso(t),
      slotMinutes: 30,
      inputsHash: 'a'.repeat(64),
      carbonGPerKwh: { modelId: 'fixture-carbon', modelVersion: '1', points: bands(t, carbonAt, 20) },
      priceGbpPerMwh: { modelId: 'fixture-price', modelVersion: '1', points: bands(t, priceAt, 15) },
    });
  }
  for (const j of FIXTURE_JOBS) {
    const first = j.slots[0]!;
    const stream = `job-${j.jobId}`;
    const at = (s: number) => FIXTURE_START_MS + s * SLOT;
    if (k === Math.max(0, first - 2)) {
      await w.append(stream, 'compute', 'compute.job.submitted', t, {
        jobId: j.jobId, class: j.class, powerKw: j.powerKw, gpuCount: null, runtimeMin: j.slots.length * 30, runtimeSource: 'given', runtimeModel: null,
        earliestStart: iso(t), deadline: iso(at(j.slots[j.slots.length - 1]! + 4)), slaClass: 'silver', preemptible: j.class !== 'serving',
      });
      await w.append(stream, 'compute', 'compute.job.planned', t, {
        jobId: j.jobId, planId: `plan-${k}`, forecastId: `forecast-${iso(at(k - (k % 4))).slice(0, 16)}Z`,
        slots: j.slots.map((s) => ({ start: iso(at(s)), kw: j.powerKw })),
        plannedStart: iso(at(first)), plannedEnd: iso(at(j.slots[j.slots.length - 1]! + 1)),
        expected: { costGbp: 10, carbonKg: 100 }, runNow: { costGbp: 12, carbonKg: 130 }, pinned: false, reason: 'fixture: cheaper and cleaner later', flexOrderIds: [],
      });
    }
    const runs = j.slots.includes(k);
    const ranBefore = j.slots.includes(k - 1);
    if (runs && !ranBefore) await w.append(stream, 'compute', 'compute.job.started', t, { jobId: j.jobId, at: iso(t), kw: j.powerKw });
    if (!runs && ranBefore) {
      const done = j.slots[j.slots.length - 1] === k - 1;
      if (done) {
        const kwh = j.powerKw * 0.5 * j.slots.length;
        await w.append(stream, 'compute', 'compute.job.completed', t, { jobId: j.jobId, at: iso(t), energyKwh: kwh, costGbp: kwh * 0.06, carbonKg: kwh * 0.15, late: false });
      } else await w.append(stream, 'compute', 'compute.job.preempted', t, { jobId: j.jobId, at: iso(t), remainingMin: 60 });
    }
  }
  await w.append('plan-main', 'compute', 'compute.plan.published', t, {
    planId: `plan-${k}`, forecastId: null, startsAt: iso(t), trigger: 'half-hourly re-plan',
    solver: { status: 'optimal', mode: 'full', note: '' }, jobs: runningIn(k).length,
    itKw: [runningIn(k).reduce((a, r) => a + r.kw, 0)], siteKw: [runningIn(k).reduce((a, r) => a + r.kw, 0) * FIXTURE_PUE], batteryChargeKw: [0], batteryDischargeKw: [0], batterySocKwh: [2500], importCapKw: [14000],
    expected: { costGbp: 1, carbonKg: 1 }, dispatch: { slotStart: iso(t), runs: runningIn(k).map((r) => ({ jobId: r.job.jobId, kw: r.kw })), chargeKw: 0, dischargeKw: 0 },
  });
}

/** One flexibility order over slots 8..9 (04:00–05:00Z), from offer to fulfilment; the site sheds 1,000 kW. */
export async function flexLifecycle(w: FixtureWriter, opts: { fulfil: boolean } = { fulfil: true }): Promise<{ orderId: string }> {
  const ws = FIXTURE_START_MS + 8 * SLOT, we = FIXTURE_START_MS + 10 * SLOT;
  const win = { windowStart: iso(ws), windowEnd: iso(we), settlementDate: settlementPeriodOf(ws).settlementDate, firstSettlementPeriod: settlementPeriodOf(ws).settlementPeriod, lastSettlementPeriod: settlementPeriodOf(we - 1).settlementPeriod };
  await w.append('grid-stress', 'grid', 'grid.stress.expected', ws - 6 * SLOT, { stressId: 'stress-1', forecastId: 'forecast-x', windowStart: iso(ws), windowEnd: iso(we), kind: 'carbon-peak', peakCarbonGPerKwh: 260, peakPriceGbpPerMwh: 120, severity: 0.4 });
  await w.append('flex-offers', 'coordination', 'flex.offer.published', ws - 4 * SLOT, { offerId: 'offer-1', planId: 'plan-2', ...win, availableKw: 1500, minKw: 100, priceGbpPerMwh: 150, penaltyGbpPerMwh: 50, noticeMin: 15, baselineMethod: 'scheduled-load-profile', baselineKw: 2645, location: 'site-lon-01', validUntil: iso(ws - 3_600_000) });
  const terms = { orderId: 'order-1', offerId: 'offer-1', transactionId: 'tx-1', bapId: 'grid-operator.local', bapUri: 'http://127.0.0.1:9/beckn', ...win, kw: 1000, priceGbpPerMwh: 150, penaltyGbpPerMwh: 50, baselineMethod: 'scheduled-load-profile', baselineKw: 2645, cancelGate: iso(ws - SLOT) };
  for (const v of ['selected', 'initialized', 'confirmed']) await w.append('order-order-1', 'coordination', `flex.order.${v}`, ws - 3 * SLOT, terms);
  if (!opts.fulfil) return { orderId: 'order-1' };
  await fulfilOrder(w);
  return { orderId: 'order-1' };
}

/**
 * Activate and fulfil order-1 with the numbers the settlement projection gives on what is on
 * the ledger, as the coordination agent settles it (call after the window's meter reads).
 */
export async function fulfilOrder(w: FixtureWriter): Promise<void> {
  const ws = FIXTURE_START_MS + 8 * SLOT, we = FIXTURE_START_MS + 10 * SLOT;
  await w.append('order-order-1', 'coordination', 'flex.order.activated', ws, { orderId: 'order-1', at: iso(ws), capKw: 1645 });
  const events = [];
  for await (const e of w.store.readAll()) events.push(e);
  const st = orderStatement(fold(settlementProjection, events), 'order-1');
  assert.ok(st && st.totals.periodsSettled === 2, 'order-1 needs its window metered before it is fulfilled');
  await w.append('order-order-1', 'coordination', 'flex.order.fulfilled', we + SLOT, {
    orderId: 'order-1', deliveredMwh: st.totals.deliveredMwh, contractedMwh: st.totals.contractedMwh, paymentGbp: st.totals.paymentGbp, penaltyGbp: st.totals.penaltyGbp, netGbp: st.totals.netGbp,
    periods: st.lines.map((l) => ({ settlementDate: l.settlementDate, settlementPeriod: l.settlementPeriod, baselineKwh: (l.baselineKw ?? 0) * 0.5, meteredKwh: (l.meteredKw ?? 0) * 0.5, deliveredKwh: l.deliveredKw * 0.5 })),
  });
}

/** Ticks 0..slots-1 plus the flexibility order: a complete small ledger. */
export async function writeFixtureLedger(store: EventStore, slots = 60, prefix = 'fx'): Promise<FixtureWriter> {
  const w = new FixtureWriter(store, prefix);
  for (let k = 0; k < slots; k++) {
    await tick(w, k);
    if (k === 3) await flexLifecycle(w, { fulfil: false });
    if (k === 11) await fulfilOrder(w);
  }
  return w;
}
