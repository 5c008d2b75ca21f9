import { createHash } from 'node:crypto';
import { defineAgent, type AgentContext, type AgentDefinition, type Decision, type EventToAppend } from '../../core/runtime/agent.ts';
import { canonicalJson } from '../../core/ledger/index.ts';
import { HALF_HOUR_MS, halfHourFloor, settlementPeriodOf, DAY_MS } from '../../core/time/index.ts';
import { forecastProblem, ForecastInputError, type Forecaster, type GridForecast, type SeriesForecast } from './forecaster.ts';
import { evolveGrid, GRID_CATEGORY, initialGridState, STREAMS, type GridState } from './grid-state.ts';
import { checkHistory, DEFAULT_HISTORY_REQUIREMENTS, type HistoryRequirements } from './history.ts';
import { degradedFields, guardSource, type SignalPoint, type SignalSource } from './sources/index.ts';
import { detectStress, unannounced, type StressOptions, type StressWindow } from './stress.ts';

export interface GridAgentDeps {
  readonly source: SignalSource;
  readonly forecaster: Forecaster;
  readonly stress?: Partial<StressOptions>;
  readonly history?: Partial<HistoryRequirements>;
  /** How far back each tick reads the source. Default: what the forecaster asks for (`historySlots`), at least 8 days. */
  readonly lookbackMs?: number;
}

const TICK = 'tick';

/**
 * The grid agent. Every half-hour it reads the last days of signals from its source, publishes
 * what was observed for the half-hours that have ended since its last tick, a 48 h forecast
 * of carbon intensity and price, and the stress windows in it not announced before. When the
 * source fails or the history is too thin it publishes `grid.signal.degraded` instead of a
 * forecast; the last good forecast stays the one in force. Time comes only from `ctx.now()`.
 */
export function createGridAgent(deps: GridAgentDeps): AgentDefinition<GridState> {
  const source = guardSource(deps.source);
  const historyReq: HistoryRequirements = { ...DEFAULT_HISTORY_REQUIREMENTS, ...deps.history };
  const lookbackMs = deps.lookbackMs ?? Math.max(8 * DAY_MS, (deps.forecaster.historySlots ?? 0) * HALF_HOUR_MS);
  // Timers live in memory, not the ledger: remember the latest one armed so a retried decide
  // or a second onStart does not arm the same half-hour twice.
  let armedAt = Number.NEGATIVE_INFINITY;
  const arm = (ctx: AgentContext, atMs: number) => {
    if (atMs <= armedAt) return;
    armedAt = atMs;
    ctx.setTimer(atMs, TICK);
  };

  return defineAgent<GridState>({
    name: 'grid',
    version: '1.0.0',
    categories: [GRID_CATEGORY],
    initialState: () => initialGridState,
    evolve: evolveGrid,
    onStart(ctx) {
      armedAt = Number.NEGATIVE_INFINITY;
      // Tick at once: a forecast for the current half-hour at start-up, and a tick cut short by a
      // crash (signals appended, forecast not) is completed now rather than lost.
      arm(ctx, ctx.now());
    },
    async decide(input, state, ctx) {
      if (input.kind !== 'timer' || input.name !== TICK) return [];
      const nowMs = ctx.now();
      const tickMs = halfHourFloor(nowMs);
      // Arm the next tick first, so no failure below can stop the agent's clock.
      arm(ctx, tickMs + HALF_HOUR_MS);
      if (state.lastTickMs !== null && tickMs <= state.lastTickMs) return [];
      return tick(state, ctx, nowMs);
    },
  });

  async function tick(state: GridState, ctx: AgentContext, nowMs: number): Promise<Decision[]> {
    const tickMs = halfHourFloor(nowMs);
    const signals: EventToAppend[] = [];
    const degraded = (f: { source: string; reason: string }): Decision[] => {
      ctx.log.warn({ type: 'grid.signal.degraded', ...f }, 'grid signals degraded; keeping the last good forecast');
      signals.push({
        type: 'grid.signal.degraded',
        data: { ...f, lastGoodForecastId: state.lastGood?.forecastId ?? null, lastGoodIssuedAt: state.lastGood?.issuedAt ?? null },
      });
      return [decision(state, STREAMS.signals, signals)];
    };

    const r = await source.observed(nowMs - lookbackMs, nowMs, nowMs);
    if (!r.ok) return degraded(degradedFields(r.failure));
    const history = r.value;

    // On the first tick, only the half-hour just ended; after that, every half-hour since the
    // last one published (an outage or a publication lag is caught up, nothing twice).
    const after = state.lastObservedFromMs ?? tickMs - HALF_HOUR_MS - 1;
    for (const p of history) if (p.fromMs > after && p.fromMs < tickMs) signals.push(observedEvent(p, deps.source.name));

    const check = checkHistory(history, nowMs, historyReq);
    if (!check.ok) return degraded({ source: `${deps.source.name} history`, reason: check.reason });

    let forecast: GridForecast;
    try {
      forecast = await deps.forecaster.forecast(history, nowMs);
    } catch (e) {
      if (e instanceof ForecastInputError) return degraded({ source: `forecaster ${e.modelId}`, reason: `InsufficientHistory: ${e.message}` });
      // A broken forecaster is a bug, but consumers still need to hear there is no fresh forecast.
      ctx.log.error({ err: e instanceof Error ? e.stack : String(e) }, 'forecaster failed');
      return degraded({ source: 'forecaster', reason: `ForecasterFailed: ${e instanceof Error ? e.message : String(e)}` });
    }
    const problem = forecastProblem(forecast.carbon) ?? forecastProblem(forecast.price);
    if (problem) return degraded({ source: 'forecaster', reason: `BadForecast: ${problem}` });

    const forecastId = forecastIdOf(tickMs);
    const published: EventToAppend = {
      type: 'grid.forecast.published',
      data: {
        forecastId,
        issuedAt: new Date(nowMs).toISOString(),
        startsAt: new Date(tickMs).toISOString(),
        slotMinutes: 30,
        inputsHash: forecastInputsHash(history, nowMs),
        carbonGPerKwh: onWire(forecast.carbon),
        priceGbpPerMwh: onWire(forecast.price),
      },
    };
    const windows = unannounced(detectStress({ startMs: tickMs, nowMs, carbon: forecast.carbon.points, price: forecast.price.points }, deps.stress), state.announced, deps.stress);
    // The forecast marks the tick done (lastTickMs). What comes before it is idempotent (signals
    // after the last observed), so a tick cut short before the forecast is re-run whole on
    // restart; windows cut off after it are still unannounced and go out with the next tick.
    return [
      decision(state, STREAMS.signals, signals),
      decision(state, STREAMS.forecasts, [published]),
      decision(state, STREAMS.stress, windows.map((w) => stressEvent(w, forecastId))),
    ].filter((d) => d.events.length > 0);
  }
}

function decision(state: GridState, stream: string, events: ReadonlyArray<EventToAppend>): Decision {
  const rev = state.revisions[stream];
  return { stream, expected: rev === undefined ? 'no-stream' : rev, events };
}

/** Exactly the schema's fields: a forecaster's extra properties do not leak onto the ledger. */
function onWire(f: SeriesForecast): SeriesForecast {
  return { modelId: f.modelId, modelVersion: f.modelVersion, points: f.points.map((b) => ({ p10: b.p10, p50: b.p50, p90: b.p90 })) };
}

function observedEvent(p: SignalPoint, source: string): EventToAppend {
  const { settlementDate, settlementPeriod } = settlementPeriodOf(p.fromMs);
  return {
    type: 'grid.signal.observed',
    data: {
      periodStart: new Date(p.fromMs).toISOString(),
      settlementDate,
      settlementPeriod,
      carbonActualGPerKwh: p.carbonActualGPerKwh,
      carbonPublishedForecastGPerKwh: p.carbonForecastGPerKwh,
      imbalancePriceGbpPerMwh: p.imbalancePriceGbpPerMwh,
      marketIndexPriceGbpPerMwh: p.marketIndexPriceGbpPerMwh,
      source,
    },
  };
}

function stressEvent(w: StressWindow, forecastId: string): EventToAppend {
  return {
    type: 'grid.stress.expected',
    data: {
      stressId: stressIdOf(w),
      forecastId,
      windowStart: new Date(w.startMs).toISOString(),
      windowEnd: new Date(w.endMs).toISOString(),
      kind: w.kind,
      peakCarbonGPerKwh: w.peakCarbonGPerKwh,
      peakPriceGbpPerMwh: w.peakPriceGbpPerMwh,
      severity: w.severity,
    },
  };
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
 * SHA-256 of the canonical JSON of what the forecaster was given: the issue time and the
 * history exactly as the source returned it. Anyone with the source can rebuild the inputs
 * (`observed(now − lookback, now, now)`: 8 days, or the forecaster's `historySlots`) and check the hash before re-running the models.
 */
export function forecastInputsHash(history: ReadonlyArray<SignalPoint>, nowMs: number): string {
  const points = history.map((p) => ({
    fromMs: p.fromMs,
    carbonActualGPerKwh: p.carbonActualGPerKwh,
    carbonForecastGPerKwh: p.carbonForecastGPerKwh,
    imbalancePriceGbpPerMwh: p.imbalancePriceGbpPerMwh,
    marketIndexPriceGbpPerMwh: p.marketIndexPriceGbpPerMwh,
  }));
  return createHash('sha256').update(canonicalJson({ nowMs, history: points })).digest('hex');
}
