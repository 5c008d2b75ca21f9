import { defineAgent, type AgentContext, type AgentDefinition } from '../../core/runtime/index.ts';
import { HALF_HOUR_MS, halfHourFloor, DAY_MS } from '../../core/time/index.ts';
import type { GridEvent } from '../../schemas/index.ts';
import type { Forecaster } from './forecaster.ts';
import { evolveGrid, GRID_CATEGORY, initialGridState, type GridState } from './grid-state.ts';
import { DEFAULT_HISTORY_REQUIREMENTS, type HistoryRequirements } from './history.ts';
import { guardSource, type SignalSource } from './sources/index.ts';
import type { StressOptions } from './stress.ts';
import { decideTick, type TickDeps } from './tick.ts';

export interface GridAgentDeps {
  readonly source: SignalSource;
  readonly forecaster: Forecaster;
  readonly stress?: Partial<StressOptions>;
  readonly history?: Partial<HistoryRequirements>;
  /** How far back each tick reads the source. Default: what the forecaster asks for (`historySlots`), at least 8 days. */
  readonly lookbackMs?: number;
}

/** The grid agent evolves and emits its own grid events only; it takes no commands. */
export type GridAgent = AgentDefinition<GridState, GridEvent, GridEvent, never>;

export const TICK = 'tick';

/**
 * The grid agent. Every half-hour it reads the last days of signals from its source, publishes
 * what was observed for the half-hours that have ended since its last tick, a 48 h forecast
 * of carbon intensity and price (the carbon P50 is the operator's own national forecast where
 * the source offers one, i.e. live; operator-forecast.ts), and the stress windows in it not
 * announced before. When the source fails or the history is too thin it publishes
 * `grid.signal.degraded` instead of a forecast; the last good forecast stays the one in force
 * (decideTick). Time comes only from `ctx.now()`.
 */
export function createGridAgent(deps: GridAgentDeps): GridAgent {
  const tickDeps: TickDeps = {
    source: guardSource(deps.source),
    sourceName: deps.source.name,
    forecaster: deps.forecaster,
    historyReq: { ...DEFAULT_HISTORY_REQUIREMENTS, ...deps.history },
    lookbackMs: deps.lookbackMs ?? Math.max(8 * DAY_MS, (deps.forecaster.historySlots ?? 0) * HALF_HOUR_MS),
    ...(deps.stress ? { stress: deps.stress } : {}),
  };
  // Timers live in memory, not the ledger: remember the latest one armed so a retried decide
  // or a second onStart does not arm the same half-hour twice.
  let armedAt = Number.NEGATIVE_INFINITY;
  const arm = (ctx: AgentContext, atMs: number) => {
    if (atMs <= armedAt) return;
    armedAt = atMs;
    ctx.setTimer(atMs, TICK);
  };

  return defineAgent<GridState, GridEvent, GridEvent, never>({
    name: 'grid',
    version: '1.0.0',
    categories: [GRID_CATEGORY],
    initialState: () => initialGridState,
    evolve: evolveGrid,
    onStart(ctx) {
      armedAt = Number.NEGATIVE_INFINITY;
      if (deps.source.publishedForecast && deps.source.forecastRegionId !== undefined) {
        // A region's forecast is not a forecast of the national intensity the model forecasts
        // and `observed` reports, so it is not blended in (tick.ts); say so once, not every tick.
        ctx.log.warn(
          { source: deps.source.name, forecastRegionId: deps.source.forecastRegionId },
          "the source's published carbon forecast is regional; the national carbon forecast does not use it",
        );
      }
      // Tick at once: a forecast for the current half-hour at start-up, and a tick cut short by a
      // crash (signals appended, forecast not) is completed now rather than lost.
      arm(ctx, ctx.now());
    },
    async decide(input, state, ctx) {
      // Its only input is its own timer: it subscribes to nothing and accepts no command.
      if (input.kind !== 'timer' || input.name !== TICK) return [];
      const nowMs = ctx.now();
      const tickMs = halfHourFloor(nowMs);
      // Arm the next tick first, so no failure below can stop the agent's clock.
      arm(ctx, tickMs + HALF_HOUR_MS);
      if (state.lastTickMs !== null && tickMs <= state.lastTickMs) return [];
      return decideTick(tickDeps, state, nowMs, ctx.log);
    },
  });
}
