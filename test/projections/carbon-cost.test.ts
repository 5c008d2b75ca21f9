import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, carbonByClass, carbonByDay, carbonPeriods, carbonTotals, carbonProjection } from '../../projections/carbon/index.ts';
import { costByDay, costPeriods, costTotals, costProjection } from '../../projections/cost/index.ts';
import { settlementPeriodOf } from '../../core/time/index.ts';
import { registered } from './settlement/helpers.ts';
import { fold } from '../../projections/index.ts';

const P = Date.parse('2023-07-03T22:30:00Z');
const read = (ms: number, o: { it?: Partial<Record<'training' | 'batch-inference' | 'serving', number>>; importKwh: number; g: number; price: number; soc?: number }) => {
  const by = { training: 0, 'batch-inference': 0, serving: 0, ...o.it };
  return registered('site.meter.read', {
    periodStart: new Date(ms).toISOString(),
    ...settlementPeriodOf(ms),
    itKwh: by.training + by['batch-inference'] + by.serving,
    importKwh: o.importKwh,
    batteryChargeKwh: 0,
    batteryDischargeKwh: 0,
    batterySocKwh: o.soc ?? 100,
    carbonGPerKwh: o.g,
    priceGbpPerMwh: o.price,
    byClassKwh: by,
    signals: 'observed',
    jobs: [],
  });
};
const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} ≈ ${b}`);

describe('carbon projection', () => {
  test('site import is split over classes by IT energy; the classes add up to the site', () => {
    const s = fold(carbonProjection, [read(P, { it: { training: 300, serving: 100 }, importKwh: 500, g: 200, price: 50 })]);
    const [p] = carbonPeriods(s);
    close(p!.siteKwhByClass.training, 375);
    close(p!.siteKwhByClass.serving, 125);
    close(p!.carbonKg, 100);
    close(p!.carbonKgByClass.training, 75);
    close(p!.carbonKgByClass.serving, 25);
  });

  test('allocation always sums to the whole (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: -1000, max: 10000, noNaN: true }), fc.double({ min: 0, max: 500, noNaN: true }), fc.tuple(fc.double({ min: 0, max: 5000, noNaN: true }), fc.double({ min: 0, max: 5000, noNaN: true }), fc.double({ min: 0, max: 5000, noNaN: true })), (imp, g, [a, b, c]) => {
        const r = allocate(imp, g, { training: a, 'batch-inference': b, serving: c });
        const kwh = Object.values(r.siteKwh).reduce((x, y) => x + y, 0);
        const kg = Object.values(r.carbonKg).reduce((x, y) => x + y, 0);
        close(kwh, imp, 1e-9);
        close(kg, (imp * g) / 1000, 1e-9);
      }),
      // Found by fast-check: a denormal IT load once made the import underflow to nothing.
      { examples: [[1.0000000000000003e-9, 0, [0, 0, 5e-324]]] },
    );
  });

  test('import with no IT load (battery charging while idle) is unallocated', () => {
    const s = fold(carbonProjection, [read(P, { importKwh: 400, g: 100, price: 10 })]);
    const u = carbonByClass(s).find((c) => c.class === 'unallocated')!;
    close(u.carbonKg, 40);
    close(u.siteKwh, 400);
  });

  test('a second read of a half-hour replaces the first; days are UK settlement days', () => {
    // 22:30Z and 23:00Z on 3 July are on different UK dates in summer (23:00Z is 00:00 BST on the 4th).
    const s = fold(carbonProjection, [
      read(P, { it: { training: 100 }, importKwh: 115, g: 100, price: 1 }),
      read(P, { it: { training: 200 }, importKwh: 230, g: 100, price: 1 }),
      read(P + 1_800_000, { it: { training: 100 }, importKwh: 115, g: 300, price: 1 }),
    ]);
    assert.equal(carbonPeriods(s).length, 2);
    const days = carbonByDay(s);
    assert.deepEqual(days.map((d) => d.settlementDate), ['2023-07-03', '2023-07-04']);
    close(days[0]!.carbonKg, 23);
    const t = carbonTotals(s);
    close(t.carbonKg, 23 + 34.5);
    close(t.avgGPerKwh, ((23 + 34.5) * 1000) / 345);
  });

  test('reads without the signals are refused and counted', () => {
    const s = fold(carbonProjection, [{ type: 'site.meter.read', data: { meterId: 'm', intervalStart: '2023-07-03T00:00:00Z', intervalEnd: '2023-07-03T00:30:00Z', importKwh: 5 } }]);
    assert.equal(s.refused, 1);
    assert.equal(carbonTotals(s).periods, 0);
  });
});

describe('cost projection', () => {
  test('cost is import × price, per half-hour, per day and in total; export earns', () => {
    const s = fold(costProjection, [read(P, { importKwh: 1000, g: 1, price: 80, soc: 2500 }), read(P + 1_800_000, { importKwh: -200, g: 1, price: 50 }), read(P + 3_600_000, { importKwh: 500, g: 1, price: -10 })]);
    const ps = costPeriods(s);
    assert.deepEqual(ps.map((p) => p.costGbp), [80, -10, -5]);
    assert.equal(ps[0]!.batterySocKwh, 2500);
    const d = costByDay(s);
    assert.deepEqual(d.map((x) => [x.settlementDate, x.costGbp]), [['2023-07-03', 80], ['2023-07-04', -15]]);
    close(d[1]!.importMwh, 0.3);
    const t = costTotals(s);
    close(t.costGbp, 65);
    close(t.avgPriceGbpPerMwh, 65 / 1.3);
  });

  test('the same half-hour read twice counts once', () => {
    const r = read(P, { importKwh: 1000, g: 1, price: 80 });
    assert.equal(costTotals(fold(costProjection, [r, r])).costGbp, 80);
  });
});
