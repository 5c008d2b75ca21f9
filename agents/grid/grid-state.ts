import { categoryOf, type Envelope } from '../../core/envelope/index.ts';
import { halfHourFloor, DAY_MS } from '../../core/time/index.ts';
import type { GridEvent } from '../../schemas/index.ts';
import type { AnnouncedWindow } from './stress.ts';

/** The grid agent's state, folded from its own events only (the source is the record of signals). */
export interface GridState {
  /** Revision of each `grid-*` stream, for optimistic appends. */
  readonly revisions: Readonly<Record<string, number>>;
  /** Start of the latest half-hour a `grid.signal.observed` was published for. */
  readonly lastObservedFromMs: number | null;
  /** The half-hour of the latest tick that published a forecast or a degradation. */
  readonly lastTickMs: number | null;
  readonly lastGood: { readonly forecastId: string; readonly issuedAt: string } | null;
  /** Stress windows announced that ended less than a day ago or are still to come (the per-day cap counts them). */
  readonly announced: ReadonlyArray<AnnouncedWindow>;
}

export const GRID_CATEGORY = 'grid';
export const STREAMS = {
  signals: 'grid-signals',
  forecasts: 'grid-forecasts',
  stress: 'grid-stress',
} as const;

export const initialGridState: GridState = { revisions: {}, lastObservedFromMs: null, lastTickMs: null, lastGood: null, announced: [] };

export function evolveGrid(s: GridState, e: Envelope<GridEvent>): GridState {
  if (categoryOf(e.stream) !== GRID_CATEGORY) return s;
  const next: GridState = { ...s, revisions: { ...s.revisions, [e.stream]: e.revision } };
  switch (e.type) {
    case 'grid.signal.observed': {
      const fromMs = Date.parse(e.data.periodStart);
      return { ...next, lastObservedFromMs: Math.max(fromMs, s.lastObservedFromMs ?? fromMs) };
    }
    case 'grid.forecast.published': {
      const issuedMs = Date.parse(e.data.issuedAt);
      return {
        ...next,
        lastGood: { forecastId: e.data.forecastId, issuedAt: e.data.issuedAt },
        lastTickMs: tickOf(s, issuedMs),
        // A window over for a day can neither be announced again nor count towards a day still open.
        announced: s.announced.filter((w) => w.endMs > issuedMs - DAY_MS),
      };
    }
    case 'grid.signal.degraded':
      return { ...next, lastTickMs: tickOf(s, Date.parse(e.time)) };
    case 'grid.stress.expected':
      return { ...next, announced: [...s.announced, { kind: e.data.kind, startMs: Date.parse(e.data.windowStart), endMs: Date.parse(e.data.windowEnd) }] };
    default: {
      const _never: never = e;
      return next;
    }
  }
}

function tickOf(s: GridState, ms: number): number {
  return Math.max(halfHourFloor(ms), s.lastTickMs ?? Number.NEGATIVE_INFINITY);
}
