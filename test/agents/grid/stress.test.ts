import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HALF_HOUR_MS, londonDate } from '../../../core/time/index.ts';
import { DEFAULT_STRESS_OPTIONS, detectStress, unannounced, type Band, type StressOptions, type StressWindow } from '../../../agents/grid/index.ts';

const SLOTS = 96;
const START = Date.parse('2023-07-03T10:00:00Z');
const MIN = 60_000;

const band = (p50: number): Band => ({ p10: p50 - 10, p50, p90: p50 + 10 });
const flat = (v: number) => Array.from({ length: SLOTS }, () => band(v));

const series = fc.array(fc.double({ min: -50, max: 500, noNaN: true }), { minLength: SLOTS, maxLength: SLOTS }).map((v) => v.map(band));
/** Smooth daily shapes with peaks, as well as noise. */
const shaped = fc
  .record({ base: fc.double({ min: 0, max: 300, noNaN: true }), amp: fc.double({ min: 0, max: 200, noNaN: true }), phase: fc.integer({ min: 0, max: 47 }), spike: fc.integer({ min: 0, max: 95 }), spikeLen: fc.integer({ min: 1, max: 20 }) })
  .map(({ base, amp, phase, spike, spikeLen }) =>
    Array.from({ length: SLOTS }, (_, i) => band(base + amp * Math.sin((2 * Math.PI * (i + phase)) / 48) + (i >= spike && i < spike + spikeLen ? amp : 0))),
  );
const options = fc.record({
  noticeMin: fc.constantFrom(0, 30, 60, 120, 180),
  maxLeadMin: fc.constantFrom(360, 1440, 2880),
  minWindowMin: fc.constantFrom(30, 60, 90),
  maxWindowMin: fc.constantFrom(90, 120, 240, 300),
  upperQuantile: fc.constantFrom(0.7, 0.8, 0.9, 0.95),
  minSeverity: fc.constantFrom(0, 0.1, 0.2, 0.5),
  mergeGapMin: fc.constantFrom(0, 30, 60),
  maxPerDay: fc.integer({ min: 1, max: 4 }),
});
const nowOffset = fc.integer({ min: 0, max: 29 }).map((m) => m * MIN);

function checkWindows(ws: ReadonlyArray<StressWindow>, now: number, o: StressOptions, carbon: ReadonlyArray<Band>, price: ReadonlyArray<Band>) {
  for (const w of ws) {
    assert.ok(w.startMs >= now + o.noticeMin * MIN, 'starts after the notice period');
    assert.ok(w.startMs <= now + o.maxLeadMin * MIN, 'starts within the lead');
    assert.ok(w.endMs < START + SLOTS * HALF_HOUR_MS, 'ends before the horizon does');
    assert.equal((w.startMs - START) % HALF_HOUR_MS, 0);
    assert.equal((w.endMs - START) % HALF_HOUR_MS, 0);
    const len = (w.endMs - w.startMs) / MIN;
    assert.ok(len >= Math.max(30, Math.ceil(o.minWindowMin / 30) * 30) && len <= Math.max(Math.ceil(o.minWindowMin / 30) * 30, o.maxWindowMin), `length ${len}`);
    assert.ok(w.severity >= 0);
    const own = (w.kind === 'carbon-peak' ? carbon : price).slice((w.startMs - START) / HALF_HOUR_MS, (w.endMs - START) / HALF_HOUR_MS).map((b) => b.p50);
    const sorted = (w.kind === 'carbon-peak' ? carbon : price).map((b) => b.p50).sort((a, b) => a - b);
    const med = (sorted[47]! + sorted[48]!) / 2;
    assert.ok(
      own.every((v) => v > med || (o.minSeverity === 0 && v >= med)),
      'every half-hour of a window stands above the median',
    );
  }
  for (const a of ws) for (const b of ws) if (a !== b && a.kind === b.kind) assert.ok(a.endMs <= b.startMs || b.endMs <= a.startMs, 'windows of a kind do not overlap');
}

describe('detectStress', () => {
  test('windows lie within the notice and lead, inside the horizon, within the length bounds, above the median, and do not overlap (property)', () => {
    fc.assert(
      fc.property(fc.oneof(series, shaped), fc.oneof(series, shaped), options, nowOffset, (carbon, price, o, off) => {
        const now = START + off;
        const ws = detectStress({ startMs: START, nowMs: now, carbon, price }, o);
        checkWindows(ws, now, o, carbon, price);
      }),
      { numRuns: 400 },
    );
  });

  test('a clear evening peak is found, cut to the most severe 4 h, with both peaks reported', () => {
    // Carbon 100 all along, 300 from slot 16 to 27 (6 h, the top 4 h in the middle at 400); price 50 flat.
    const carbon = flat(100).map((b, i) => (i >= 16 && i < 28 ? band(i >= 18 && i < 26 ? 400 : 300) : b));
    const price = flat(50).map((b, i) => (i === 20 ? band(70) : b));
    const ws = detectStress({ startMs: START, nowMs: START, carbon, price });
    assert.equal(ws.length, 1);
    const [w] = ws;
    assert.equal(w!.kind, 'carbon-peak');
    assert.equal(w!.startMs, START + 18 * HALF_HOUR_MS);
    assert.equal(w!.endMs, START + 26 * HALF_HOUR_MS);
    assert.equal(w!.peakCarbonGPerKwh, 400);
    assert.equal(w!.peakPriceGbpPerMwh, 70);
    assert.equal(w!.severity, 3); // (400 − 100) / 100
  });

  test('no windows in a flat forecast, in a peak too close to now, or in one cut off by the horizon', () => {
    assert.deepEqual(detectStress({ startMs: START, nowMs: START, carbon: flat(200), price: flat(80) }), []);
    const early = flat(100).map((b, i) => (i < 6 ? band(300) : b));
    assert.deepEqual(detectStress({ startMs: START, nowMs: START, carbon: early, price: flat(80) }), []);
    const soon = flat(100).map((b, i) => (i >= 1 && i < 5 ? band(300) : b));
    assert.deepEqual(detectStress({ startMs: START, nowMs: START, carbon: soon, price: flat(80) }), [], 'starts 30 min ahead: inside the 60 min notice');
    const late = flat(100).map((b, i) => (i >= 90 ? band(300) : b));
    assert.deepEqual(detectStress({ startMs: START, nowMs: START, carbon: late, price: flat(80) }, { maxLeadMin: 2880 }), []);
    const far = flat(100).map((b, i) => (i >= 60 && i < 64 ? band(300) : b));
    assert.deepEqual(detectStress({ startMs: START, nowMs: START, carbon: far, price: flat(80) }), [], '30 h ahead: beyond the day-ahead lead');
    assert.equal(detectStress({ startMs: START, nowMs: START, carbon: far, price: flat(80) }, { maxLeadMin: 2880 }).length, 1);
  });

  test('prices around £0 do not make every wiggle severe', () => {
    // 46 half-hours at −20, 46 at 1, a 2 h peak at 60: median 1, interquartile range 21.
    const price = Array.from({ length: SLOTS }, (_, i) => band(i >= 20 && i < 24 ? 60 : i % 2 ? -20 : 1));
    const ws = detectStress({ startMs: START, nowMs: START, carbon: flat(100), price });
    assert.equal(ws.length, 1);
    assert.equal(ws[0]!.kind, 'price-peak');
    assert.equal(ws[0]!.startMs, START + 20 * HALF_HOUR_MS);
    // Against |median| it would be 59 "times above"; against the spread it is about 3 ranges up.
    assert.ok(Math.abs(ws[0]!.severity - 59 / 21) < 1e-12, `severity ${ws[0]!.severity}`);
  });
});

describe('unannounced', () => {
  const win = (kind: StressWindow['kind'], startSlot: number, len: number, severity = 1): StressWindow => ({
    kind,
    startMs: START + startSlot * HALF_HOUR_MS,
    endMs: START + (startSlot + len) * HALF_HOUR_MS,
    peakCarbonGPerKwh: 0,
    peakPriceGbpPerMwh: 0,
    severity,
  });
  const windows = fc.array(
    fc.record({ kind: fc.constantFrom('carbon-peak' as const, 'price-peak' as const), s: fc.integer({ min: 0, max: 90 }), len: fc.integer({ min: 1, max: 8 }), sev: fc.double({ min: 0, max: 3, noNaN: true }) }).map((r) => win(r.kind, r.s, r.len, r.sev)),
    { maxLength: 12 },
  );

  test('announces nothing twice, nothing near an announced window of its kind, at most maxPerDay of a kind a day (property)', () => {
    fc.assert(
      fc.property(windows, windows, fc.integer({ min: 1, max: 3 }), fc.constantFrom(0, 30, 60), (announced, candidates, maxPerDay, mergeGapMin) => {
        const o = { maxPerDay, mergeGapMin };
        const fresh = unannounced(candidates, announced, o);
        for (const f of fresh) {
          assert.ok(candidates.includes(f));
          for (const a of announced) if (a.kind === f.kind) assert.ok(f.startMs > a.endMs + mergeGapMin * MIN || a.startMs > f.endMs + mergeGapMin * MIN);
        }
        const all = [...announced, ...fresh];
        for (const f of fresh) {
          const sameDay = all.filter((w) => w.kind === f.kind && londonDate(w.startMs) === londonDate(f.startMs));
          const before = announced.filter((w) => w.kind === f.kind && londonDate(w.startMs) === londonDate(f.startMs));
          assert.ok(sameDay.length <= Math.max(maxPerDay, before.length));
        }
        // Once announced, the same candidates give nothing more.
        assert.deepEqual(unannounced(candidates, all, o), []);
      }),
      { numRuns: 400 },
    );
  });

  test('a peak that moves by a half-hour between forecasts is the same window; the more severe of two candidates wins the day', () => {
    const first = win('price-peak', 20, 4);
    assert.deepEqual(unannounced([win('price-peak', 21, 4)], [first]), []);
    assert.deepEqual(unannounced([win('price-peak', 26, 2)], [first]), [], 'within the 60 min merge gap');
    assert.equal(unannounced([win('carbon-peak', 21, 4)], [first]).length, 1, 'another kind is another window');
    const weak = win('carbon-peak', 0, 2, 0.3);
    const strong = win('carbon-peak', 10, 2, 0.9);
    assert.deepEqual(unannounced([weak, strong], [], { maxPerDay: 1 }), [strong]);
  });

  test('the defaults are what the agent documents', () => {
    assert.deepEqual(DEFAULT_STRESS_OPTIONS, { noticeMin: 60, maxLeadMin: 1440, minWindowMin: 60, maxWindowMin: 240, upperQuantile: 0.9, minSeverity: 0.2, mergeGapMin: 60, maxPerDay: 2 });
  });
});
