import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { candidateOffers, coordinationConfig, evolveCoordination, INITIAL_COORDINATION_STATE, offersToPublish, priceFor, type CoordinationState } from '../../agents/coordination/index.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { flexibility, HOUR, T0 } from './harness.ts';

const cfg = coordinationConfig();
const at = (h: number) => T0 + h * HOUR;
let pos = 0;
const ev = (type: string, data: unknown, timeMs = T0): Envelope => ({ id: `e${++pos}`, type, version: 1, stream: 'x', revision: pos, position: pos, time: new Date(timeMs).toISOString(), source: 't', correlationId: 'c', causationId: null, data, prevHash: '', hash: '', sig: '' }) as unknown as Envelope;

function withFlex(s: CoordinationState, data: ReturnType<typeof flexibility>): CoordinationState {
  return evolveCoordination(s, ev('compute.flexibility.available', data));
}
function publish(s: CoordinationState, nowMs = T0): CoordinationState {
  for (const o of offersToPublish(s, nowMs, cfg)) s = evolveCoordination(s, ev('flex.offer.published', o, nowMs));
  return s;
}

test('offers: hour-aligned windows only, half the sheddable kW, price = cost + margin with a floor, notice and horizon', () => {
  const s = withFlex(INITIAL_COORDINATION_STATE, flexibility('p', [
    { startMs: at(0.25), kw: 900, costGbpPerMwh: 50, baselineKw: 5000 }, // inside the notice
    { startMs: at(1), kw: 900, costGbpPerMwh: 50, baselineKw: 5000 },
    { startMs: at(1.5), kw: 900, costGbpPerMwh: 50, baselineKw: 5000 }, // not on the hour
    { startMs: at(2), kw: 150, costGbpPerMwh: -20, baselineKw: 5000 }, // half is below 100 kW
    { startMs: at(3), kw: 400, costGbpPerMwh: -20, baselineKw: 5000 },
    { startMs: at(13), kw: 900, costGbpPerMwh: 50, baselineKw: 5000 }, // past the 12 h horizon
  ]));
  const c = candidateOffers(s.flex, T0, cfg);
  assert.deepEqual(c.map((o) => [o.windowStart.slice(11, 16), o.availableKw, o.minKw, o.priceGbpPerMwh, o.penaltyGbpPerMwh, o.validUntil.slice(11, 16)]), [
    ['11:00', 450, 100, 80, 96, '10:30'],
    ['13:00', 200, 100, 40, 48, '12:30'],
  ]);
  assert.equal(priceFor(-100, cfg), cfg.minPriceGbpPerMwh);
});

test('offers are republished only on material change, withdrawn when the plan drops them; once sold, only the kW sold are held', () => {
  let s = publish(withFlex(INITIAL_COORDINATION_STATE, flexibility('p1', [{ startMs: at(2), kw: 2000, costGbpPerMwh: 50, baselineKw: 5000 }, { startMs: at(3), kw: 2000, costGbpPerMwh: 50, baselineKw: 5000 }])));
  assert.equal(s.offers.size, 2);
  // Small moves: nothing to say. A plan on the half-hour alignment: nothing to judge.
  s = withFlex(s, flexibility('p2', [{ startMs: at(2), kw: 1900, costGbpPerMwh: 52, baselineKw: 5100 }, { startMs: at(3), kw: 2100, costGbpPerMwh: 50, baselineKw: 5000 }]));
  assert.deepEqual(offersToPublish(s, T0, cfg), []);
  s = withFlex(s, flexibility('p3', [{ startMs: at(2.5), kw: 100, costGbpPerMwh: 50, baselineKw: 5000 }]));
  assert.deepEqual(offersToPublish(s, T0, cfg), []);
  // Less kW (−15 %) is said at once; more (+20 %) waits for +50 %; the 13:00 window is dropped → withdrawn.
  s = withFlex(s, flexibility('p4', [{ startMs: at(2), kw: 1700, costGbpPerMwh: 50, baselineKw: 5000 }, { startMs: at(4), kw: 500, costGbpPerMwh: 50, baselineKw: 5000 }]));
  assert.deepEqual(offersToPublish(s, T0, cfg).map((o) => [o.windowStart.slice(11, 16), o.availableKw]), [['12:00', 850], ['14:00', 250], ['13:00', 0]]);
  s = publish(s);
  // Sold: the kW sold are held (each order carries its own price and baseline); the rest follows
  // the plan against the agreed baseline: 500 sold + half the 200 kW more it can shed, at the new price.
  const sold = s.offers.get('flex-20260115-sp25-26')!;
  s = evolveCoordination(s, ev('flex.order.confirmed', {
    orderId: 'ord-1', offerId: sold.offerId, transactionId: 't', bapId: 'b', bapUri: 'http://b', windowStart: new Date(sold.windowStartMs).toISOString(), windowEnd: new Date(sold.windowEndMs).toISOString(),
    settlementDate: '2026-01-15', firstSettlementPeriod: 25, lastSettlementPeriod: 26, kw: 500, priceGbpPerMwh: 80, penaltyGbpPerMwh: 96, baselineMethod: 'scheduled-load-profile', baselineKw: 5000, cancelGate: new Date(sold.validUntilMs).toISOString(),
  }));
  s = withFlex(s, flexibility('p5', [{ startMs: at(2), kw: 200, costGbpPerMwh: 90, baselineKw: 3000 }, { startMs: at(4), kw: 500, costGbpPerMwh: 50, baselineKw: 5000 }]));
  assert.deepEqual(offersToPublish(s, T0, cfg).map((o) => [o.windowStart.slice(11, 16), o.availableKw, o.priceGbpPerMwh, o.baselineKw]), [['12:00', 600, 120, 5000]]);
});

test('property: an offer never puts more on sale than the sell share of what the plan can shed, nor less than its minimum', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.record({ h: fc.integer({ min: 0, max: 20 }), kw: fc.integer({ min: 0, max: 20_000 }), cost: fc.double({ min: -200, max: 500, noNaN: true }) }), { maxLength: 30, selector: (w) => w.h }), (ws) => {
      const s = withFlex(INITIAL_COORDINATION_STATE, flexibility('p', ws.map((w) => ({ startMs: at(w.h), kw: w.kw, costGbpPerMwh: w.cost, baselineKw: 10_000 }))));
      for (const o of candidateOffers(s.flex, T0, cfg)) {
        const w = ws.find((x) => at(x.h) === Date.parse(o.windowStart))!;
        if (o.availableKw > w.kw * cfg.sellShare || o.availableKw < o.minKw || o.priceGbpPerMwh < cfg.minPriceGbpPerMwh) return false;
      }
      return true;
    }),
  );
});
