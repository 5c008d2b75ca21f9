import { createHash } from 'node:crypto';
import { eventOf, type Decision, type EventToAppend } from '../../core/runtime/index.ts';
import type { Logger } from '../../core/log/index.ts';
import { canonicalJson } from '../../core/ledger/index.ts';
import { MAX_COVERS } from '../../core/envelope/index.ts';
import { HALF_HOUR_MS, halfHourFloor, settlementPeriodOf } from '../../core/time/index.ts';
import { ForecastPublished, SignalDegraded, SignalObserved, StressExpected, type GridEvent } from '../../schemas/index.ts';
import { CARBON_INTENSITY_RANGE, PRICE_RANGE, plausibleOrNull } from '../../schemas/grid-api/index.ts';
import { forecastProblem, ForecastInputError, type Forecaster, type GridForecast, type SeriesForecast } from './forecaster.ts';
import { STREAMS, type GridState } from './grid-state.ts';
import { checkHistory, type HistoryRequirements } from './history.ts';
import { withOperatorForecast } from './operator-forecast.ts';
import { degradedFields, type ForecastPoint, type GuardedSignalSource, type SignalPoint } from './sources/index.ts';
import { detectStress, unannounced, type StressOptions, type StressWindow } from './stress.ts';

/** What a tick reads from: the guarded source, the forecaster and the settings, all resolved. */
export interface TickDeps {
  readonly source: GuardedSignalSource;
  /** The name `grid.signal.observed` gives as its source (the source's own, not the guard's). */
  readonly sourceName: string;
  readonly forecaster: Forecaster;
  readonly historyReq: HistoryRequirements;
  readonly lookbackMs: number;
  readonly stress?: Partial<StressOptions>;
}

/** The most half-hours one tick publishes as observed: one commit, with room for a `grid.signal.degraded` beside them. */
export const MAX_OBSERVED_PER_TICK = MAX_COVERS - 1;

/**
 * One half-hourly tick at `nowMs`: the signals observed since the last one, then a forecast and
 * the stress windows in it not announced before, or `grid.signal.degraded` when the source or
 * the forecaster cannot give a forecast to stand behind.
 */
export async function decideTick(deps: TickDeps, state: GridState, nowMs: number, log: Logger): Promise<Decision<GridEvent>[]> {
  const tickMs = halfHourFloor(nowMs);
  const signals: EventToAppend<GridEvent>[] = [];
  const degraded = (f: { source: string; reason: string }): Decision<GridEvent>[] => {
    log.warn({ type: SignalDegraded.type, ...f }, 'grid signals degraded; keeping the last good forecast');
    signals.push(eventOf(SignalDegraded, { ...f, lastGoodForecastId: state.lastGood?.forecastId ?? null, lastGoodIssuedAt: state.lastGood?.issuedAt ?? null }));
    return [decision(state, STREAMS.signals, signals)];
  };

  const r = await deps.source.observed(nowMs - deps.lookbackMs, nowMs, nowMs);
  if (!r.ok) return degraded(degradedFields(r.failure));
  const history = r.value.map(plausiblePoint);

  // On the first tick, only the half-hour just ended; after that, every half-hour since the
  // last one published (an outage or a publication lag is caught up, nothing twice).
  const after = state.lastObservedFromMs ?? tickMs - HALF_HOUR_MS - 1;
  // The oldest first, and no more than one commit's signature covers (MAX_COVERS, less room for
  // a `degraded`): a site restarted after 38 days caught up 1,829 half-hours in one append,
  // which the stores then took and no reader could verify (a helper's review). The rest come
  // with the next ticks, each after the last one published.
  const missed = history.filter((p) => p.fromMs > after && p.fromMs < tickMs).sort((a, b) => a.fromMs - b.fromMs);
  for (const p of missed.slice(0, MAX_OBSERVED_PER_TICK)) signals.push(observedEvent(p, deps.sourceName));

  const check = checkHistory(history, nowMs, deps.historyReq);
  if (!check.ok) return degraded({ source: `${deps.sourceName} history`, reason: check.reason });

  let forecast: GridForecast;
  try {
    forecast = await deps.forecaster.forecast(history, nowMs);
  } catch (e) {
    if (e instanceof ForecastInputError) return degraded({ source: `forecaster ${e.modelId}`, reason: `InsufficientHistory: ${e.message}` });
    // A broken forecaster is a bug, but consumers still need to hear there is no fresh forecast.
    log.error({ err: e instanceof Error ? e.stack : String(e) }, 'forecaster failed');
    return degraded({ source: 'forecaster', reason: `ForecasterFailed: ${e instanceof Error ? e.message : String(e)}` });
  }
  const problem = forecastProblem(forecast.carbon) ?? forecastProblem(forecast.price);
  if (problem) return degraded({ source: 'forecaster', reason: `BadForecast: ${problem}` });

  // The operator's own carbon forecast, where the source has one for this tick, is the carbon
  // P50 where it covers (operator-forecast.ts says why); the price forecast has no such input.
  // No await at all without one, so a tick without the input runs exactly as it always has.
  const fetchOperator = operatorForecastOf(deps.source);
  // Its points outside what GB intensity can be are left out, as the history's are (plausiblePoint).
  const operator = (fetchOperator ? await fetchOperator(nowMs, log) : []).filter((p) => plausibleOrNull(p.carbonForecastGPerKwh, CARBON_INTENSITY_RANGE) !== null);
  const carbon = withOperatorForecast(forecast.carbon, operator, tickMs, deps.source.forecastProvenance);
  // The model's own object comes back when the operator covered nothing: then it was no input.
  const used = carbon !== forecast.carbon ? operator : [];

  const forecastId = forecastIdOf(tickMs);
  const published = eventOf(ForecastPublished, {
    forecastId,
    issuedAt: new Date(nowMs).toISOString(),
    startsAt: new Date(tickMs).toISOString(),
    slotMinutes: 30,
    inputsHash: forecastInputsHash(history, nowMs, used),
    carbonGPerKwh: onWire(carbon),
    priceGbpPerMwh: onWire(forecast.price),
  });
  const windows = unannounced(detectStress({ startMs: tickMs, nowMs, carbon: carbon.points, price: forecast.price.points }, deps.stress), state.announced, deps.stress);
  // The forecast marks the tick done (lastTickMs). What comes before it is idempotent (signals
  // after the last observed), so a tick cut short before the forecast is re-run whole on
  // restart; windows cut off after it are still unannounced and go out with the next tick.
  return [
    decision(state, STREAMS.signals, signals),
    decision(state, STREAMS.forecasts, [published]),
    decision(state, STREAMS.stress, windows.map((w) => stressEvent(w, forecastId))),
  ].filter((d) => d.events.length > 0);
}

/**
 * How to fetch the operator's forecast from this source, or null when there is none to use: the
 * source has none (the recorded archive without its opt-in), or it is a region's rather than the
 * national series the model forecasts. A failed fetch gives nothing and is logged; the model's
 * forecast stands. It is not a `grid.signal.degraded`, which would tell consumers there is no
 * fresh forecast when there is one (its modelId shows the operator's input was missing).
 */
function operatorForecastOf(source: GuardedSignalSource): ((nowMs: number, log: Logger) => Promise<ReadonlyArray<ForecastPoint>>) | null {
  const fetch = source.publishedForecast?.bind(source);
  if (!fetch || source.forecastRegionId !== undefined) return null;
  return async (nowMs, log) => {
    try {
      const r = await fetch(nowMs);
      if (r.ok) return r.value;
      log.warn({ ...degradedFields(r.failure) }, "operator's carbon forecast unavailable; publishing the model's alone");
    } catch (e) {
      // A bug in the source; the model's forecast is still good, so it goes out.
      log.error({ err: e instanceof Error ? e.stack : String(e) }, "operator's carbon forecast failed; publishing the model's alone");
    }
    return [];
  };
}

function decision(state: GridState, stream: string, events: ReadonlyArray<EventToAppend<GridEvent>>): Decision<GridEvent> {
  const rev = state.revisions[stream];
  return { stream, expected: rev === undefined ? 'no-stream' : rev, events };
}

/** Exactly the schema's fields: a forecaster's extra properties do not leak onto the ledger. */
function onWire(f: SeriesForecast): SeriesForecast {
  return { modelId: f.modelId, modelVersion: f.modelVersion, points: f.points.map((b) => ({ p10: b.p10, p50: b.p50, p90: b.p90 })) };
}

function observedEvent(p: SignalPoint, source: string): EventToAppend<GridEvent> {
  const { settlementDate, settlementPeriod } = settlementPeriodOf(p.fromMs);
  return eventOf(SignalObserved, {
    periodStart: new Date(p.fromMs).toISOString(),
    settlementDate,
    settlementPeriod,
    carbonActualGPerKwh: p.carbonActualGPerKwh,
    carbonPublishedForecastGPerKwh: p.carbonForecastGPerKwh,
    imbalancePriceGbpPerMwh: p.imbalancePriceGbpPerMwh,
    marketIndexPriceGbpPerMwh: p.marketIndexPriceGbpPerMwh,
    source,
  });
}

function stressEvent(w: StressWindow, forecastId: string): EventToAppend<GridEvent> {
  return eventOf(StressExpected, {
    stressId: stressIdOf(w),
    forecastId,
    windowStart: new Date(w.startMs).toISOString(),
    windowEnd: new Date(w.endMs).toISOString(),
    kind: w.kind,
    peakCarbonGPerKwh: w.peakCarbonGPerKwh,
    peakPriceGbpPerMwh: w.peakPriceGbpPerMwh,
    severity: w.severity,
  });
}

const minuteIso = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;

/** One forecast per half-hour, named by it: `forecast-2023-07-03T10:30Z`. */
export function forecastIdOf(tickMs: number): string {
  return `forecast-${minuteIso(halfHourFloor(tickMs))}`;
}

/** A window is announced once, so its kind and start name it: `stress-price-peak-2023-07-03T16:00Z`. */
export function stressIdOf(w: Pick<StressWindow, 'kind' | 'startMs'>): string {
  return `stress-${w.kind}-${minuteIso(w.startMs)}`;
}

/**
 * A source's point with every value a GB signal cannot take read as missing (plausibleOrNull):
 * one live value of 1e12 g/kWh set the ensemble's weights for the 28 days it stayed in the
 * window (negative intensities forecast, a carbon-peak stress announced at 2.3e11), and one
 * Infinity made every tick's inputs hash throw, so the agent published nothing, not even
 * degraded, for the 38 days of its lookback. Applied to every source's answer, before anything
 * is recorded, forecast or hashed.
 */
export function plausiblePoint(p: SignalPoint): SignalPoint {
  return {
    fromMs: p.fromMs,
    carbonActualGPerKwh: plausibleOrNull(p.carbonActualGPerKwh, CARBON_INTENSITY_RANGE),
    carbonForecastGPerKwh: plausibleOrNull(p.carbonForecastGPerKwh, CARBON_INTENSITY_RANGE),
    imbalancePriceGbpPerMwh: plausibleOrNull(p.imbalancePriceGbpPerMwh, PRICE_RANGE),
    marketIndexPriceGbpPerMwh: plausibleOrNull(p.marketIndexPriceGbpPerMwh, PRICE_RANGE),
  };
}

/**
 * SHA-256 of the canonical JSON of what the forecaster was given: the issue time and the
 * history as the source returned it, values no GB signal takes read as missing (plausiblePoint).
 * Anyone with the source can rebuild the inputs (`observed(now − lookback, now, now)`: 8 days,
 * or the forecaster's `historySlots`) and check the hash before re-running the models.
 * When the operator's forecast gave carbon P50s, its points as the source returned them, less
 * those outside what GB intensity can be, are an input too (hashed as `operatorForecast`);
 * without them the hash is what it always was.
 */
export function forecastInputsHash(history: ReadonlyArray<SignalPoint>, nowMs: number, operator: ReadonlyArray<ForecastPoint> = []): string {
  const points = history.map((p) => ({
    fromMs: p.fromMs,
    carbonActualGPerKwh: p.carbonActualGPerKwh,
    carbonForecastGPerKwh: p.carbonForecastGPerKwh,
    imbalancePriceGbpPerMwh: p.imbalancePriceGbpPerMwh,
    marketIndexPriceGbpPerMwh: p.marketIndexPriceGbpPerMwh,
  }));
  const inputs =
    operator.length === 0
      ? { nowMs, history: points }
      : { nowMs, history: points, operatorForecast: operator.map((p) => ({ fromMs: p.fromMs, carbonForecastGPerKwh: p.carbonForecastGPerKwh })) };
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex');
}
