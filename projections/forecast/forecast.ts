import { BucketMap, type FoldEvent } from '../schedule/index.ts';
import { HALF_HOUR_MS, HOUR_MS } from '../../core/time/index.ts';

/**
 * Forecasts against what happened: the latest 48 h forecast with its P10–P90 bands, the
 * observed actuals, and the day-ahead view — for each half-hour, the forecast point issued
 * closest to 24 h before it — so a plot can show forecast and actual on one time axis.
 * Folded from `grid.forecast.published`, `grid.signal.observed` and `grid.signal.degraded`.
 *
 * The actual price is the market index price, as the price model forecasts it; the
 * imbalance price stands in when the index is missing.
 */

export const SLOT_MS = HALF_HOUR_MS;
export const DAY_AHEAD_LEAD_MS = 24 * HOUR_MS;

export interface Band {
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
}

export interface LatestForecast {
  readonly forecastId: string;
  readonly issuedAt: string;
  readonly startsAt: string;
  readonly carbonModel: string;
  readonly priceModel: string;
  readonly carbon: ReadonlyArray<Band>;
  readonly price: ReadonlyArray<Band>;
  readonly eventId: string | null;
}

export interface Observed {
  readonly periodStart: string;
  readonly carbonGPerKwh: number | null;
  /** The Carbon Intensity API's own forecast for the half-hour, as published with the actual. */
  readonly carbonPublishedForecastGPerKwh: number | null;
  readonly priceGbpPerMwh: number | null;
}

export interface DayAheadPoint {
  readonly periodStart: string;
  readonly forecastId: string;
  readonly issuedAt: string;
  /** How long before the half-hour the forecast was issued. */
  readonly leadMin: number;
  readonly carbon: Band;
  readonly price: Band;
}

export interface ForecastState {
  readonly latest: LatestForecast | null;
  readonly published: number;
  readonly observed: BucketMap<Observed>;
  readonly dayAhead: BucketMap<DayAheadPoint>;
  readonly degraded: number;
  readonly lastDegraded: { readonly reason: string; readonly source: string; readonly at: string | null } | null;
}

export const initialForecast: ForecastState = { latest: null, published: 0, observed: BucketMap.empty(), dayAhead: BucketMap.empty(), degraded: 0, lastDegraded: null };

const numOrNull = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const isoOf = (ms: number) => new Date(ms).toISOString();

function bands(x: unknown): Band[] {
  const pts = (x as { points?: unknown } | undefined)?.points;
  return Array.isArray(pts) ? pts.map((p: Band) => ({ p10: p.p10, p50: p.p50, p90: p.p90 })) : [];
}

const modelOf = (x: unknown): string => {
  const m = x as { modelId?: string; modelVersion?: string } | undefined;
  return m?.modelId ? `${m.modelId}${m.modelVersion ? `@${m.modelVersion}` : ''}` : 'unknown';
};

export function evolveForecast(s: ForecastState, e: FoldEvent): ForecastState {
  const d = (e.data ?? {}) as Record<string, unknown>;
  switch (e.type) {
    case 'grid.forecast.published': {
      const startsMs = Date.parse(String(d['startsAt']));
      const issuedMs = Date.parse(String(d['issuedAt']));
      if (Number.isNaN(startsMs) || Number.isNaN(issuedMs)) return s;
      const carbon = bands(d['carbonGPerKwh']);
      const price = bands(d['priceGbpPerMwh']);
      const latest: LatestForecast = {
        forecastId: String(d['forecastId']),
        issuedAt: isoOf(issuedMs),
        startsAt: isoOf(startsMs),
        carbonModel: modelOf(d['carbonGPerKwh']),
        priceModel: modelOf(d['priceGbpPerMwh']),
        carbon,
        price,
        eventId: e.id ?? null,
      };
      let dayAhead = s.dayAhead;
      const n = Math.min(carbon.length, price.length);
      for (let i = 0; i < n; i++) {
        const t = startsMs + i * SLOT_MS;
        const lead = t - issuedMs;
        const key = isoOf(t);
        const cur = dayAhead.get(key);
        const dist = Math.abs(lead - DAY_AHEAD_LEAD_MS);
        const curDist = cur ? Math.abs(cur.leadMin * 60_000 - DAY_AHEAD_LEAD_MS) : Infinity;
        // Closest to 24 h ahead wins; of two equally close, the newer.
        if (dist < curDist || (dist === curDist && cur && issuedMs >= Date.parse(cur.issuedAt))) {
          dayAhead = dayAhead.set(key, { periodStart: key, forecastId: latest.forecastId, issuedAt: latest.issuedAt, leadMin: lead / 60_000, carbon: carbon[i]!, price: price[i]! });
        }
      }
      return { ...s, latest, published: s.published + 1, dayAhead };
    }
    case 'grid.signal.observed': {
      const t = Date.parse(String(d['periodStart']));
      if (Number.isNaN(t)) return s;
      const o: Observed = {
        periodStart: isoOf(t),
        carbonGPerKwh: numOrNull(d['carbonActualGPerKwh']),
        carbonPublishedForecastGPerKwh: numOrNull(d['carbonPublishedForecastGPerKwh']),
        priceGbpPerMwh: numOrNull(d['marketIndexPriceGbpPerMwh']) ?? numOrNull(d['imbalancePriceGbpPerMwh']),
      };
      return { ...s, observed: s.observed.set(o.periodStart, o) };
    }
    case 'grid.signal.degraded':
      return { ...s, degraded: s.degraded + 1, lastDegraded: { reason: String(d['reason']), source: String(d['source']), at: e.time ?? null } };
    default:
      return s;
  }
}

export function projectForecast(events: Iterable<FoldEvent>, from: ForecastState = initialForecast): ForecastState {
  let s = from;
  for (const e of events) s = evolveForecast(s, e);
  return s;
}
