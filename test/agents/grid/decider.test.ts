import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeciderSpec } from '../../../core/testing/index.ts';
import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { createGridAgent, forecastIdOf, GRID_STREAMS, GRID_TICK, type GridAgentDeps } from '../../../agents/grid/index.ts';
import { MAX_OBSERVED_PER_TICK } from '../../../agents/grid/tick.ts';
import { MAX_COVERS } from '../../../core/envelope/index.ts';
import { flakySource, naiveForecaster, recordedSource } from './harness.ts';

const T = Date.parse('2023-07-03T10:00:00Z');
const spec = (deps: Partial<GridAgentDeps> = {}) => DeciderSpec.for(createGridAgent({ source: recordedSource(), forecaster: naiveForecaster(), ...deps }));

test('given no history, when the first tick is due, then the half-hour just ended, a forecast and its stress windows open their streams', async () => {
  const out = await spec().at(T).when(DeciderSpec.timer(GRID_TICK, T));
  assert.deepEqual(
    out.decisions.map((d) => [d.stream, d.expected, d.events.map((e) => e.type)]),
    [
      [GRID_STREAMS.signals, 'no-stream', ['grid.signal.observed']],
      [GRID_STREAMS.forecasts, 'no-stream', ['grid.forecast.published']],
      [GRID_STREAMS.stress, 'no-stream', out.decisions[2]?.events.map(() => 'grid.stress.expected')],
    ],
  );
  const [observed] = out.decisions[0]!.events;
  assert.ok(observed?.type === 'grid.signal.observed');
  assert.equal(observed.data.periodStart, '2023-07-03T09:30:00.000Z');
  assert.equal(observed.data.settlementPeriod, 22);
  const [forecast] = out.decisions[1]!.events;
  assert.ok(forecast?.type === 'grid.forecast.published');
  assert.equal(forecast.data.forecastId, forecastIdOf(T));
  assert.equal(forecast.data.carbonGPerKwh.points.length, 96);
  assert.ok(out.decisions[2]!.events.length > 0, 'the recorded 3 July 2023 has stress windows to announce');
  for (const e of out.decisions[2]!.events) assert.ok(e.type === 'grid.stress.expected' && e.data.forecastId === forecast.data.forecastId);
  // The next tick is armed at the next half-hour, whatever this one decided.
  assert.deepEqual(out.timers, [{ atMs: T + HALF_HOUR_MS, name: GRID_TICK, data: undefined }]);
});

test('given the stress windows it announced, when the next tick is due, then it appends at the streams\' revisions and announces none of them again', async () => {
  const first = await spec().at(T).when(DeciderSpec.timer(GRID_TICK, T));
  const history = first.decisions.flatMap((d) => d.events.map((e, revision) => ({ ...e, stream: d.stream, revision, time: new Date(T).toISOString() })));
  const announced = new Set(history.flatMap((e) => (e.type === 'grid.stress.expected' ? [e.data.stressId] : [])));
  assert.ok(announced.size > 0);

  const next = T + HALF_HOUR_MS;
  const out = await spec().given(history).at(next).when(DeciderSpec.timer(GRID_TICK, next));
  assert.deepEqual(
    out.decisions.slice(0, 2).map((d) => [d.stream, d.expected]),
    [
      [GRID_STREAMS.signals, 0],
      [GRID_STREAMS.forecasts, 0],
    ],
  );
  const again = out.decisions.flatMap((d) => d.events).filter((e) => e.type === 'grid.stress.expected' && announced.has(e.data.stressId));
  assert.deepEqual(again, []);
});

test('given a forecast for this half-hour, when the tick is due again (a retried timer), then nothing is decided and the next one is armed', async () => {
  const out = await spec()
    .given([{ type: 'grid.forecast.published', stream: GRID_STREAMS.forecasts, revision: 7, data: forecastData(T) }])
    .at(T + 60_000)
    .when(DeciderSpec.timer(GRID_TICK, T + 60_000));
  out.expectDecisions([]);
  assert.deepEqual(out.timers, [{ atMs: T + HALF_HOUR_MS, name: GRID_TICK, data: undefined }]);
});

test('given a good forecast, when the source is down, then it appends grid.signal.degraded naming that forecast and no new one', async () => {
  const down = flakySource(recordedSource(), () => 'unavailable');
  const out = await spec({ source: down })
    .given([
      { type: 'grid.signal.observed', stream: GRID_STREAMS.signals, revision: 4, data: observedData(T - 2 * HALF_HOUR_MS) },
      { type: 'grid.forecast.published', stream: GRID_STREAMS.forecasts, revision: 2, data: forecastData(T - HALF_HOUR_MS) },
    ])
    .at(T)
    .when(DeciderSpec.timer(GRID_TICK, T));
  out.expectDecisions([
    {
      stream: GRID_STREAMS.signals,
      expected: 4,
      events: [
        {
          type: 'grid.signal.degraded',
          version: 1,
          data: {
            source: 'test /observed',
            reason: 'SourceUnavailable: connect ECONNREFUSED (after 4 attempts)',
            lastGoodForecastId: forecastIdOf(T - HALF_HOUR_MS),
            lastGoodIssuedAt: new Date(T - HALF_HOUR_MS).toISOString(),
          },
        },
      ],
    },
  ]);
});

test('a timer it did not set is not a tick', async () => {
  const out = await spec().at(T).when(DeciderSpec.timer('something-else', T));
  out.expectDecisions([]);
  assert.deepEqual(out.timers, []);
});

function forecastData(issuedMs: number) {
  const series = { modelId: 'naive', modelVersion: '1', points: Array.from({ length: 96 }, () => ({ p10: 100, p50: 150, p90: 200 })) };
  return { forecastId: forecastIdOf(issuedMs), issuedAt: new Date(issuedMs).toISOString(), startsAt: new Date(issuedMs).toISOString(), slotMinutes: 30 as const, inputsHash: '0'.repeat(64), carbonGPerKwh: series, priceGbpPerMwh: series };
}

function observedData(fromMs: number) {
  return {
    periodStart: new Date(fromMs).toISOString(),
    settlementDate: '2023-07-03',
    settlementPeriod: 20,
    carbonActualGPerKwh: 150,
    carbonPublishedForecastGPerKwh: 150,
    imbalancePriceGbpPerMwh: 90,
    marketIndexPriceGbpPerMwh: 90,
    source: 'recorded',
  };
}

test('given the last observed half-hour 30 days back, when the tick is due, then it publishes the oldest MAX_OBSERVED_PER_TICK in one commit, and the next tick the rest', async () => {
  // A helper's review: a site restarted after 38 days caught up 1,829 half-hours in one append,
  // which no signature covers: every reader and the audit refused all of them.
  const DAY = 86_400_000;
  const last = T - 30 * DAY;
  const deps = { lookbackMs: 31 * DAY };
  const given = [{ type: 'grid.signal.observed' as const, stream: GRID_STREAMS.signals, revision: 0, data: observedData(last) }];
  const out = await spec(deps).given(given).at(T).when(DeciderSpec.timer(GRID_TICK, T));
  const signals = out.decisions.find((d) => d.stream === GRID_STREAMS.signals)!;
  assert.equal(signals.events.length, MAX_OBSERVED_PER_TICK);
  assert.ok(signals.events.length <= MAX_COVERS);
  const starts = signals.events.map((e) => (e.type === 'grid.signal.observed' ? Date.parse(e.data.periodStart) : NaN));
  assert.equal(starts[0], last + HALF_HOUR_MS, 'the oldest missed half-hour first');
  for (let i = 1; i < starts.length; i++) assert.equal(starts[i], starts[i - 1]! + HALF_HOUR_MS);
  // The next tick carries on after the last one published, up to the half-hour just ended.
  const next = T + HALF_HOUR_MS;
  const published = signals.events.map((e, i) => ({ ...e, stream: GRID_STREAMS.signals, revision: i + 1 }));
  const out2 = await spec(deps).given([...given, ...published]).at(next).when(DeciderSpec.timer(GRID_TICK, next));
  const rest = out2.decisions.find((d) => d.stream === GRID_STREAMS.signals)!.events.map((e) => (e.type === 'grid.signal.observed' ? Date.parse(e.data.periodStart) : NaN));
  assert.equal(rest[0], starts.at(-1)! + HALF_HOUR_MS);
  assert.equal(rest.at(-1), next - HALF_HOUR_MS);
  assert.equal(starts.length + rest.length, (next - HALF_HOUR_MS - last) / HALF_HOUR_MS);
});
