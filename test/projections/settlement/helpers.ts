import assert from 'node:assert/strict';
import { HALF_HOUR_MS, periodsInDay, settlementPeriodOf, settlementPeriodStartUtc } from '../../../core/time/index.ts';
import type { BaselinePoint } from '../../../projections/settlement/index.ts';
import { cacoRegistry } from '../../../schemas/index.ts';

export const iso = (ms: number): string => new Date(ms).toISOString();

/** One `site.meter.read` per half-hour of [startMs, endMs) at a constant average kW. */
export function halfHourReads(startMs: number, endMs: number, kw: (periodStartMs: number) => number, meterId = 'site-lon-01/import') {
  const out: Array<{ type: 'site.meter.read'; data: { meterId: string; intervalStart: string; intervalEnd: string; importKwh: number } }> = [];
  for (let p = startMs; p < endMs; p += HALF_HOUR_MS) {
    out.push({ type: 'site.meter.read', data: { meterId, intervalStart: iso(p), intervalEnd: iso(p + HALF_HOUR_MS), importKwh: kw(p) * 0.5 } });
  }
  return out;
}

/** Baseline points for every period of [startMs, endMs). */
export function baselineFor(startMs: number, endMs: number, kw: (periodStartMs: number) => number): BaselinePoint[] {
  const out: BaselinePoint[] = [];
  for (let p = startMs; p < endMs; p += HALF_HOUR_MS) out.push({ ...settlementPeriodOf(p), kw: kw(p) });
  return out;
}

export function dayBounds(date: string): { startMs: number; endMs: number; periods: number } {
  const n = periodsInDay(date);
  const startMs = settlementPeriodStartUtc(date, 1);
  return { startMs, endMs: startMs + n * HALF_HOUR_MS, periods: n };
}

export function confirmed(data: { orderId: string; itemId?: string; kw: number; startMs: number; endMs: number; price: number; penalty: number; baselineKw?: BaselinePoint[] }) {
  return {
    type: 'flex.order.confirmed' as const,
    data: {
      orderId: data.orderId,
      itemId: data.itemId ?? `item-${data.orderId}`,
      kw: data.kw,
      windowStart: iso(data.startMs),
      windowEnd: iso(data.endMs),
      priceGbpPerMwh: data.price,
      penaltyGbpPerMwh: data.penalty,
      ...(data.baselineKw ? { baselineKw: data.baselineKw } : {}),
    },
  };
}

const registry = cacoRegistry();

/** An event in the shape registered in schemas/ (v1 unless said); fails the test if the registry would refuse it. */
export function registered(type: string, data: Record<string, unknown>, version = 1): { type: string; data: unknown } {
  const d = registry.decode(type, version, data);
  assert.ok(d.ok, `${type} v${version} does not match its registered schema: ${d.ok ? '' : JSON.stringify(d.problems)}`);
  return { type, data };
}

function windowFields(startMs: number, endMs: number) {
  const first = settlementPeriodOf(startMs);
  const last = settlementPeriodOf(endMs - 1);
  return { windowStart: iso(startMs), windowEnd: iso(endMs), settlementDate: first.settlementDate, firstSettlementPeriod: first.settlementPeriod, lastSettlementPeriod: last.settlementPeriod };
}

export function v1OfferPublished(o: { offerId: string; startMs: number; endMs: number; kw: number; price: number; penalty: number; baselineKw: number }) {
  return registered('flex.offer.published', {
    offerId: o.offerId,
    planId: 'plan-1',
    ...windowFields(o.startMs, o.endMs),
    availableKw: o.kw,
    minKw: Math.min(o.kw, 100),
    priceGbpPerMwh: o.price,
    penaltyGbpPerMwh: o.penalty,
    noticeMin: 15,
    baselineMethod: 'scheduled-load-profile',
    baselineKw: o.baselineKw,
    location: 'site-lon-01',
    validUntil: iso(o.startMs - 15 * 60_000),
  });
}

export function v1OrderConfirmed(o: { orderId: string; offerId: string; startMs: number; endMs: number; kw: number; price: number; penalty: number; baselineKw: number }) {
  return registered('flex.order.confirmed', {
    orderId: o.orderId,
    offerId: o.offerId,
    transactionId: '0b7f5a8e-3c1d-4f52-9a0e-6d2b8c4e1f70',
    bapId: 'grid-operator.example.org',
    bapUri: 'https://grid-operator.example.org/beckn',
    ...windowFields(o.startMs, o.endMs),
    kw: o.kw,
    priceGbpPerMwh: o.price,
    penaltyGbpPerMwh: o.penalty,
    baselineMethod: 'scheduled-load-profile',
    baselineKw: o.baselineKw,
    cancelGate: iso(o.startMs - 15 * 60_000),
  });
}

export function v1MeterRead(periodStartMs: number, importKwh: number) {
  const id = settlementPeriodOf(periodStartMs);
  return registered('site.meter.read', {
    periodStart: iso(periodStartMs),
    ...id,
    itKwh: Math.max(0, importKwh),
    importKwh,
    batteryChargeKwh: 0,
    batteryDischargeKwh: 0,
    batterySocKwh: 2500,
    carbonGPerKwh: 150,
    priceGbpPerMwh: 80,
    byClassKwh: { training: Math.max(0, importKwh), 'batch-inference': 0, serving: 0 },
    signals: 'observed',
    jobs: [],
  });
}
