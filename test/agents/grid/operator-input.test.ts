// test-file-timeout: 120
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeciderSpec } from '../../../core/testing/index.ts';
import { DAY_MS, HALF_HOUR_MS, halfHourFloor } from '../../../core/time/index.ts';
import { decodeWith, ForecastPublished, type DataOf } from '../../../schemas/index.ts';
import {
  BadResponseError,
  createGridAgent,
  forecastInputsHash,
  GRID_STREAMS,
  GRID_TICK,
  LATE_REVISION_FORECAST_SUFFIX,
  OPERATOR_FORECAST_SUFFIX,
  RecordedSignalSource,
  SourceUnavailableError,
  type ForecastPoint,
  type SignalSource,
} from '../../../agents/grid/index.ts';
import { naiveForecaster, ofType, recordedRows, recordedSource, runGrid } from './harness.ts';

/** The grid agent reading the operator's forecast (Carbon Intensity `fw48h`) where its source offers it. */

const T = Date.parse('2023-07-03T10:00:00Z');
const slot = (i: number) => T + i * HALF_HOUR_MS;
type Published = DataOf<typeof ForecastPublished>;

/** The recorded signals, plus a published forecast from `publishedForecast` (as the live source has). */
function withOperator(publishedForecast: (nowMs: number) => Promise<ForecastPoint[]>, more: Pick<SignalSource, 'forecastProvenance' | 'forecastRegionId'> = { forecastProvenance: 'live' }): SignalSource {
  const inner = recordedSource();
  return { name: inner.name, observed: (fromMs, toMs, nowMs) => inner.observed(fromMs, toMs, nowMs), publishedForecast, ...more };
}

async function tick(source: SignalSource, atMs = T) {
  const out = await DeciderSpec.for(createGridAgent({ source, forecaster: naiveForecaster() })).at(atMs).when(DeciderSpec.timer(GRID_TICK, atMs));
  return out.decisions;
}

function publishedIn(decisions: Awaited<ReturnType<typeof tick>>): Published {
  const e = decisions.find((d) => d.stream === GRID_STREAMS.forecasts)?.events[0];
  assert.ok(e?.type === 'grid.forecast.published', 'a forecast was published');
  return e.data;
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

describe('grid agent with the operator forecast', () => {
  test('the carbon P50 is the operator\'s where it covers, with the model\'s band width; the model\'s beyond; modelId says so; price untouched', async () => {
    const base = await tick(recordedSource());
    const model = publishedIn(base);
    // The first 30 h, values that are nothing like the model's so a leak either way shows.
    const operator = Array.from({ length: 60 }, (_, i) => ({ fromMs: slot(i), carbonForecastGPerKwh: 40 + 7 * (i % 9) }));
    const asked: number[] = [];
    const got = await tick(
      withOperator((nowMs) => {
        asked.push(nowMs);
        return Promise.resolve(operator);
      }),
    );
    const f = publishedIn(got);
    assert.deepEqual(asked, [T], 'asked once, at the tick, with the clock\'s time');

    assert.equal(f.carbonGPerKwh.modelId, `${model.carbonGPerKwh.modelId}${OPERATOR_FORECAST_SUFFIX}`);
    assert.equal(f.carbonGPerKwh.modelVersion, model.carbonGPerKwh.modelVersion);
    assert.equal(f.carbonGPerKwh.points.length, 96);
    f.carbonGPerKwh.points.forEach((b, i) => {
      const m = model.carbonGPerKwh.points[i]!;
      if (i >= 60) return assert.deepEqual(b, m, `slot ${i} beyond the operator's coverage`);
      assert.equal(b.p50, operator[i]!.carbonForecastGPerKwh, `slot ${i}`);
      close(b.p90 - b.p50, m.p90 - m.p50, `slot ${i} upper width`);
      close(b.p10, Math.max(0, b.p50 - (m.p50 - m.p10)), `slot ${i} lower band`);
      assert.ok(0 <= b.p10 && b.p10 <= b.p50 && b.p50 <= b.p90);
    });
    assert.deepEqual(f.priceGbpPerMwh, model.priceGbpPerMwh);
    // Same signals, same forecast id and times.
    assert.deepEqual(got[0], base[0]);
    assert.equal(f.forecastId, model.forecastId);

    // The operator's points are an input the forecast can be checked against; without them the hash is as before.
    const history = await recordedSource().observed(T - 8 * DAY_MS, T, T);
    assert.equal(model.inputsHash, forecastInputsHash(history, T));
    assert.equal(f.inputsHash, forecastInputsHash(history, T, operator));
    assert.notEqual(f.inputsHash, model.inputsHash);

    const decoded = decodeWith(ForecastPublished.data, f);
    assert.ok(decoded.ok, JSON.stringify(decoded));
  });

  test('the stress windows are found in the published (operator) carbon forecast', async () => {
    const operator = Array.from({ length: 96 }, (_, i) => ({ fromMs: slot(i), carbonForecastGPerKwh: i >= 20 && i < 24 ? 900 : 100 }));
    const got = await tick(withOperator(() => Promise.resolve(operator)));
    const f = publishedIn(got);
    assert.deepEqual(
      f.carbonGPerKwh.points.map((b) => b.p50),
      operator.map((p) => p.carbonForecastGPerKwh),
    );
    const stress = got.find((d) => d.stream === GRID_STREAMS.stress)?.events ?? [];
    const carbonPeaks = stress.flatMap((e) => (e.type === 'grid.stress.expected' && e.data.kind === 'carbon-peak' ? [e.data] : []));
    assert.deepEqual(
      carbonPeaks.map((w) => [w.windowStart, w.peakCarbonGPerKwh]),
      [[new Date(slot(20)).toISOString(), 900]],
    );
  });

  const failures: Array<[string, (nowMs: number) => Promise<ForecastPoint[]>]> = [
    ['unavailable', () => Promise.reject(new SourceUnavailableError('carbon-intensity /intensity/{from}/fw48h', 'http://127.0.0.1/fw48h', 'connect ECONNREFUSED', null, 4, true))],
    ['a bad response', () => Promise.reject(new BadResponseError('carbon-intensity /intensity/{from}/fw48h', 'http://127.0.0.1/fw48h', [{ path: 'data[1].intensity.forecast', reason: 'expected a number' }]))],
    ['a bug that rejects', () => Promise.reject(new TypeError('undefined is not a function'))],
    [
      'a bug that throws at once',
      () => {
        throw new RangeError('thrown before any promise');
      },
    ],
    ['empty', () => Promise.resolve([])],
    ['nothing usable (placeholders, outside the 48 h)', () => Promise.resolve([{ fromMs: slot(0), carbonForecastGPerKwh: 0 }, { fromMs: slot(-3), carbonForecastGPerKwh: 120 }, { fromMs: slot(96), carbonForecastGPerKwh: 120 }])],
  ];
  for (const [what, publishedForecast] of failures) {
    test(`the operator forecast ${what}: the model's forecast goes out unchanged, nothing degraded`, async () => {
      const base = await tick(recordedSource());
      const got = await tick(withOperator(publishedForecast));
      assert.deepEqual(got, base);
      assert.ok(got.flatMap((d) => d.events).every((e) => e.type !== 'grid.signal.degraded'));
    });
  }

  test('a regional operator forecast is not used for the national carbon forecast (it is not asked for)', async () => {
    let asked = 0;
    const regional = withOperator(
      () => {
        asked++;
        return Promise.resolve(Array.from({ length: 96 }, (_, i) => ({ fromMs: slot(i), carbonForecastGPerKwh: 55 })));
      },
      { forecastProvenance: 'live', forecastRegionId: 13 },
    );
    assert.deepEqual(await tick(regional), await tick(recordedSource()));
    assert.equal(asked, 0);
  });

  test('the recorded archive: no operator input by default; its late-revision column only on the explicit opt-in, and named so', async () => {
    const { carbon, prices } = recordedRows();
    // The half-hours the archive has a forecast for (a placeholder 0 is none).
    const archive = new Map(carbon.flatMap((r) => (r.forecastGPerKwh !== null && r.forecastGPerKwh > 0 ? [[r.fromMs, r.forecastGPerKwh] as const] : [])));
    const covered = Array.from({ length: 96 }, (_, i) => i).filter((i) => archive.has(slot(i)));
    assert.ok(covered.length > 90, `the archive covers ${covered.length} of the 96 half-hours`);
    const isArchive = (f: Published) => covered.every((i) => f.carbonGPerKwh.points[i]!.p50 === archive.get(slot(i)));

    const plain = publishedIn(await tick(new RecordedSignalSource({ carbon, prices })));
    assert.ok(!plain.carbonGPerKwh.modelId.includes('operator'), plain.carbonGPerKwh.modelId);
    assert.ok(!isArchive(plain), 'without the opt-in the archive forecast column is not the P50');
    assert.deepEqual(plain, publishedIn(await tick(recordedSource())));

    const optedIn = publishedIn(await tick(new RecordedSignalSource({ carbon, prices, lateRevisionForecast: true })));
    assert.equal(optedIn.carbonGPerKwh.modelId, `${plain.carbonGPerKwh.modelId}${LATE_REVISION_FORECAST_SUFFIX}`);
    assert.ok(isArchive(optedIn), 'with the opt-in the archive column is the P50, and the modelId says it is a late revision');
  });

  test('on the runtime: a morning of ticks appends valid forecasts carrying the operator P50s, the ledger verifies', async () => {
    const start = Date.parse('2023-07-03T06:00:00Z');
    // An operator forecast that moves with the tick, as the live one does.
    const op = (nowMs: number) => Array.from({ length: 80 }, (_, i) => ({ fromMs: halfHourFloor(nowMs) + i * HALF_HOUR_MS, carbonForecastGPerKwh: 120 + i }));
    const run = await runGrid({ startMs: start, untilMs: start + 2 * 3_600_000, deps: { source: withOperator((nowMs) => Promise.resolve(op(nowMs))), forecaster: naiveForecaster() } });
    assert.deepEqual(run.dlq, []);
    assert.ok(run.auditOk);
    const forecasts = ofType<Published>(run.events, 'grid.forecast.published');
    assert.equal(forecasts.length, 4);
    for (const e of forecasts) {
      assert.ok(e.data.carbonGPerKwh.modelId.endsWith(OPERATOR_FORECAST_SUFFIX));
      assert.deepEqual(
        e.data.carbonGPerKwh.points.slice(0, 80).map((b) => b.p50),
        Array.from({ length: 80 }, (_, i) => 120 + i),
      );
      assert.ok(!e.data.priceGbpPerMwh.modelId.includes('operator'));
    }
  });
});
