import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../../../core/errors/errors.ts';
import {
  guardSource,
  RecordedSignalSource,
  sameTimeOfWeekOffset,
  SourceUnavailableError,
  type RecordedCarbonRow,
  type RecordedPriceRow,
  type SignalPoint,
} from '../../../../agents/grid/sources/index.ts';
import { loadCarbonCsv, loadPriceCsv, type CarbonRow, type PriceRow } from '../../../../data/index.ts';
import { HH, utc } from './helpers.ts';

const T0 = utc('2023-07-03T00:00Z');
const N = 6 * 48; // six days of half-hours

/** Small composed rows; every value encodes its half-hour so a misplaced one is visible. */
function rows(n = N, t0 = T0): { carbon: RecordedCarbonRow[]; prices: RecordedPriceRow[] } {
  const carbon = Array.from({ length: n }, (_, i) => ({ fromMs: t0 + i * HH, forecastGPerKwh: 1000 + i, actualGPerKwh: i % 17 === 5 ? null : 2000 + i }));
  const prices = Array.from({ length: n }, (_, i) => ({ fromMs: t0 + i * HH, imbalanceGbpPerMwh: 3000 + i, marketIndexGbpPerMwh: i % 11 === 3 ? null : 4000 + i }));
  return { carbon, prices };
}

describe('RecordedSignalSource', () => {
  test('returns only half-hours that have ended at now, with their recorded values', async () => {
    const src = new RecordedSignalSource(rows());
    const now = T0 + 10 * HH + 20 * 60_000; // 05:20: the 05:00 half-hour is still running
    const pts = await src.observed(T0, T0 + 48 * HH, now);
    assert.equal(pts.length, 10);
    assert.equal(pts.at(-1)!.fromMs, T0 + 9 * HH);
    assert.deepEqual(pts[6], {
      fromMs: T0 + 6 * HH,
      carbonActualGPerKwh: 2006,
      carbonForecastGPerKwh: 1006,
      imbalancePriceGbpPerMwh: 3006,
      marketIndexPriceGbpPerMwh: 4006,
    });
    assert.equal(pts[5]!.carbonActualGPerKwh, null); // a gap stays a gap
    // at the exact end of a half-hour it is known, a millisecond before it is not
    assert.equal((await src.observed(T0, T0 + 48 * HH, T0 + 10 * HH)).length, 10);
    assert.equal((await src.observed(T0, T0 + 48 * HH, T0 + 10 * HH - 1)).length, 9);
  });

  test('a publication lag holds values back further', async () => {
    const src = new RecordedSignalSource({ ...rows(), lagMs: 20 * 60_000 });
    const pts = await src.observed(T0, T0 + 48 * HH, T0 + 10 * HH + 10 * 60_000);
    assert.equal(pts.at(-1)!.fromMs, T0 + 8 * HH);
  });

  test('property: nothing after now leaks, and everything known before now is returned', async () => {
    const data = rows();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -2 * 48, max: N + 48 }).map((i) => T0 + i * HH),
        fc.integer({ min: 0, max: 3 * 48 }).map((n) => n * HH),
        // now near half-hour ends is where an off-by-one would leak, so it is drawn there often
        fc.tuple(fc.integer({ min: 0, max: N + 96 }), fc.oneof(fc.constantFrom(-1, 0, 1, -60_000), fc.integer({ min: 0, max: HH - 1 }))).map(
          ([i, d]) => i * HH + d,
        ),
        fc.integer({ min: 0, max: 3 * HH }),
        fc.integer({ min: -60, max: 60 }).map((w) => w * 7 * 48 * HH),
        async (fromMs, len, nowOffset, lagMs, offsetMs) => {
          const nowMs = T0 - 48 * HH + nowOffset + offsetMs;
          const a = new RecordedSignalSource({ ...data, lagMs, offsetMs });
          // The same data with every half-hour that is not yet over at now replaced by garbage.
          const recNow = nowMs - offsetMs;
          const over = (r: { fromMs: number }) => r.fromMs + HH + lagMs <= recNow;
          const b = new RecordedSignalSource({
            carbon: data.carbon.map((r) => (over(r) ? r : { ...r, actualGPerKwh: -1, forecastGPerKwh: -1 })),
            prices: data.prices.map((r) => (over(r) ? r : { ...r, imbalanceGbpPerMwh: -1, marketIndexGbpPerMwh: -1 })),
            lagMs,
            offsetMs,
          });
          const q = [fromMs + offsetMs, fromMs + offsetMs + len, nowMs] as const;
          const ra = await guardSource(a).observed(...q);
          const rb = await guardSource(b).observed(...q);
          assert.deepEqual(ra, rb, 'the answer depends on values that were not known at now');
          if (!ra.ok) {
            assert.equal(ra.failure._tag, 'SourceUnavailable');
            return;
          }
          for (const p of ra.value) {
            assert.ok(p.fromMs + HH + lagMs <= nowMs, `leaked ${p.fromMs}`);
            assert.ok(p.fromMs >= q[0] && p.fromMs < q[1], 'outside the asked range');
          }
          const expected = data.carbon.filter((r) => over(r) && r.fromMs >= fromMs && r.fromMs < fromMs + len).length;
          assert.equal(ra.value.length, expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('an offset replays the data shifted: current time = recorded time + offset', async () => {
    const week = 7 * 48 * HH;
    const offsetMs = 150 * week;
    const plain = new RecordedSignalSource(rows());
    const shifted = new RecordedSignalSource({ ...rows(), offsetMs });
    const now = T0 + 30 * HH;
    const a = await plain.observed(T0, T0 + 48 * HH, now);
    const b = await shifted.observed(T0 + offsetMs, T0 + offsetMs + 48 * HH, now + offsetMs);
    assert.deepEqual(
      b.map((p) => ({ ...p, fromMs: p.fromMs - offsetMs })),
      a,
    );
    assert.deepEqual(shifted.coverage, { fromMs: T0 + offsetMs, toMs: T0 + N * HH + offsetMs });
    assert.throws(() => new RecordedSignalSource({ ...rows(), offsetMs: 60_000 }), InvalidArgumentError);
  });

  test('asking wholly outside the recorded data is SourceUnavailable, a gap inside it is an empty list', async () => {
    const { carbon } = rows();
    const src = new RecordedSignalSource({ carbon: [...carbon.slice(0, 48), ...carbon.slice(96)] });
    assert.deepEqual(await src.observed(T0 + 50 * HH, T0 + 60 * HH, T0 + 200 * HH), []);
    const after = T0 + (N + 10) * HH;
    await assert.rejects(src.observed(after, after + 4 * HH, after + 10 * HH), (e: unknown) => {
      assert.ok(e instanceof SourceUnavailableError, String(e));
      assert.equal(e.retryable, false);
      assert.match(e.reason, /outside the recorded data/);
      return true;
    });
  });

  test('no published forecast unless asked for, and then flagged as a late revision', async () => {
    assert.equal(new RecordedSignalSource(rows()).publishedForecast, undefined);
    const src = new RecordedSignalSource({ ...rows(), lateRevisionForecast: true });
    assert.equal(src.forecastProvenance, 'late-revision');
    const now = T0 + 20 * HH + 5 * 60_000;
    const f = await src.publishedForecast!(now);
    assert.equal(f.length, 96);
    assert.equal(f[0]!.fromMs, T0 + 20 * HH);
    assert.equal(f[0]!.carbonForecastGPerKwh, 1020);
    assert.equal(f.at(-1)!.fromMs, T0 + 115 * HH);
  });

  test('bad rows are refused with the row named', () => {
    const { carbon } = rows(4);
    assert.throws(() => new RecordedSignalSource({ carbon: [...carbon, carbon[1]!] }), /carbon\[4\]\.fromMs: duplicate half-hour/);
    assert.throws(() => new RecordedSignalSource({ prices: [{ fromMs: T0 + 60_000, imbalanceGbpPerMwh: 1, marketIndexGbpPerMwh: 1 }] }), /prices\[0\]\.fromMs/);
    assert.throws(() => new RecordedSignalSource({}), InvalidArgumentError);
  });

  test('replays the real 2023 data from the data loaders, as if current', async () => {
    const carbon: CarbonRow[] = loadCarbonCsv().rows;
    const prices: PriceRow[] = loadPriceCsv().rows;
    const dataFromMs = Math.max(carbon[0]!.fromMs, prices[0]!.fromMs);
    const dataToMs = Math.min(carbon.at(-1)!.fromMs, prices.at(-1)!.fromMs) + HH;
    const now = utc('2026-01-15T17:10:00Z'); // a Thursday, GMT
    const offsetMs = sameTimeOfWeekOffset(now, { dataFromMs, dataToMs, notBeforeMs: utc('2023-07-01T00:00Z') });
    const src = new RecordedSignalSource({ carbon, prices, offsetMs });
    const pts: SignalPoint[] = await src.observed(now - 7 * 24 * 3_600_000, now + 24 * 3_600_000, now);
    // from 17:30 a week ago (the first whole half-hour after now − 7 d) to 16:30 today, which ended at 17:00
    assert.equal(pts.length, 7 * 48 - 1);
    assert.equal(pts.at(-1)!.fromMs, utc('2026-01-15T16:30Z'));
    const recordedLast = new Date(pts.at(-1)!.fromMs - offsetMs);
    assert.equal(recordedLast.getUTCDay(), 4); // also a Thursday
    const carbonAt = new Map(carbon.map((r) => [r.fromMs, r]));
    for (const p of pts) assert.equal(p.carbonActualGPerKwh, carbonAt.get(p.fromMs - offsetMs)?.actualGPerKwh ?? null);
    assert.ok(pts.filter((p) => p.imbalancePriceGbpPerMwh !== null).length > 300);
  });
});
