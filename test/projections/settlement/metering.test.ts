import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dayImport, evolveMetering, initialMeteringState, periodImport, meteringProjection } from '../../../projections/metering/index.ts';
import { iso } from './helpers.ts';
import { fold } from '../../../projections/index.ts';

const P35 = Date.parse('2026-01-15T17:00:00Z');
const MIN = 60_000;
const read = (startMs: number, endMs: number, kwh: number, meterId = 'm1') => ({ type: 'site.meter.read', data: { meterId, intervalStart: iso(startMs), intervalEnd: iso(endMs), importKwh: kwh } });

describe('metering', () => {
  test('minute reads add up to the half-hour; the average kW is kWh / 0.5 h', () => {
    const events = Array.from({ length: 30 }, (_, i) => read(P35 + i * MIN, P35 + (i + 1) * MIN, 10_000 / 60));
    const s = fold(meteringProjection, events);
    const p = periodImport(s, '2026-01-15', 35);
    assert.equal(p.status, 'complete');
    assert.ok(Math.abs(p.importKwh - 5000) < 1e-9);
    assert.ok(Math.abs(p.meteredKw! - 10_000) < 1e-9);
    assert.equal(p.startUtc, '2026-01-15T17:00:00Z');
  });

  test('a repeated read replaces the first instead of adding to it', () => {
    const s = fold(meteringProjection, [read(P35, P35 + 30 * MIN, 5000), read(P35, P35 + 30 * MIN, 5000), read(P35, P35 + 30 * MIN, 4800)]);
    assert.equal(periodImport(s, '2026-01-15', 35).importKwh, 4800);
  });

  test('a read across a boundary is split pro rata', () => {
    const s = fold(meteringProjection, [read(P35 - 15 * MIN, P35 + 15 * MIN, 3000), read(P35 - 30 * MIN, P35 - 15 * MIN, 1000), read(P35 + 15 * MIN, P35 + 30 * MIN, 2000)]);
    assert.equal(periodImport(s, '2026-01-15', 34).importKwh, 2500);
    assert.equal(periodImport(s, '2026-01-15', 35).importKwh, 3500);
    assert.equal(periodImport(s, '2026-01-15', 35).status, 'complete');
  });

  test('incomplete, missing and overlapping periods have no metered kW', () => {
    const s = fold(meteringProjection, [read(P35, P35 + 20 * MIN, 3000), read(P35 + 30 * MIN, P35 + 60 * MIN, 5000), read(P35 + 40 * MIN, P35 + 50 * MIN, 1000)]);
    const p35 = periodImport(s, '2026-01-15', 35);
    assert.equal(p35.status, 'partial');
    assert.equal(p35.meteredKw, null);
    assert.ok(Math.abs(p35.coverage - 2 / 3) < 1e-12);
    assert.equal(periodImport(s, '2026-01-15', 36).status, 'overlapping-reads');
    assert.equal(periodImport(s, '2026-01-15', 37).status, 'missing');
  });

  test('with two meters a period is complete only when both cover it; import is their sum', () => {
    const s = fold(meteringProjection, [read(P35, P35 + 30 * MIN, 3000, 'a'), read(P35, P35 + 30 * MIN, 2000, 'b'), read(P35 + 30 * MIN, P35 + 60 * MIN, 3000, 'a')]);
    assert.equal(periodImport(s, '2026-01-15', 35).meteredKw, 10_000);
    assert.equal(periodImport(s, '2026-01-15', 36).status, 'partial');
  });

  test('a meter that starts reading later leaves the half-hours before it as they were; from its first on, it must cover each', () => {
    // Before, the first read of a new meter made every earlier half-hour partial, and the
    // orders settled on them "waiting for the meter" at £0 (a helper's review).
    const before = [read(P35, P35 + 30 * MIN, 3000, 'a'), read(P35 + 30 * MIN, P35 + 60 * MIN, 3000, 'a')];
    const s = fold(meteringProjection, [...before, read(P35 + 90 * MIN, P35 + 120 * MIN, 100, 'b'), read(P35 + 90 * MIN, P35 + 120 * MIN, 2000, 'a')]);
    assert.equal(periodImport(s, '2026-01-15', 35).status, 'complete');
    assert.equal(periodImport(s, '2026-01-15', 36).status, 'complete');
    assert.equal(periodImport(s, '2026-01-15', 36).meteredKw, 6000);
    assert.equal(periodImport(s, '2026-01-15', 38).meteredKw, 4200, 'both meters, summed, from b\'s first read');
    // A half-hour after b's first that a reads alone is partial: b was reporting by then.
    const later = evolveMetering(s, read(P35 + 120 * MIN, P35 + 150 * MIN, 2000, 'a'));
    assert.equal(periodImport(later, '2026-01-15', 39).status, 'partial');
    // A late read of b for an earlier half-hour (a backfill) moves its start back, and from there it counts.
    const backfilled = evolveMetering(s, read(P35, P35 + 15 * MIN, 50, 'b'));
    assert.equal(periodImport(backfilled, '2026-01-15', 35).status, 'partial');
    assert.equal(periodImport(backfilled, '2026-01-15', 36).status, 'partial');
  });

  test('bad reads are refused and change nothing else; other events are ignored', () => {
    let s = evolveMetering(initialMeteringState, read(P35, P35 + 30 * MIN, Number.POSITIVE_INFINITY));
    s = evolveMetering(s, read(P35 + 30 * MIN, P35, 5));
    s = evolveMetering(s, { type: 'site.meter.read', data: { meterId: '', intervalStart: iso(P35), intervalEnd: iso(P35 + MIN), importKwh: 1 } });
    assert.equal(s.rejected.length, 3);
    assert.equal(s.days.size, 0);
    assert.equal(evolveMetering(s, { type: 'compute.job.submitted', data: {} }), s);
  });

  test('the registered v1 read (one half-hour of the whole site) counts; export is negative import', () => {
    const s = fold(meteringProjection, [
      { type: 'site.meter.read', data: { periodStart: iso(P35), settlementDate: '2026-01-15', settlementPeriod: 35, importKwh: 4000 } },
      { type: 'site.meter.read', data: { periodStart: iso(P35 + 30 * MIN), settlementDate: '2026-01-15', settlementPeriod: 36, importKwh: -250 } },
    ]);
    assert.equal(periodImport(s, '2026-01-15', 35).meteredKw, 8000);
    assert.equal(periodImport(s, '2026-01-15', 36).meteredKw, -500);
    assert.equal(s.rejected.length, 0);
  });

  test('a day has 46, 48 or 50 periods', () => {
    assert.equal(dayImport(initialMeteringState, '2023-03-26').length, 46);
    assert.equal(dayImport(initialMeteringState, '2023-06-01').length, 48);
    assert.equal(dayImport(initialMeteringState, '2023-10-29').length, 50);
  });
});
