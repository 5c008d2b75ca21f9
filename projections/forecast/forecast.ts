import { BucketMap } from '../schedule/index.ts';
import { evolverOf, projection } from '../kit.ts';
import { ForecastPublished, SignalDegraded, SignalObserved, type DataOf } from '../../schemas/index.ts';
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

/** One half-hour's P10/P50/P90, as the forecast publishes it. */
export type Band = DataOf<typeof ForecastPublished>['carbonGPerKwh']['points'][number];

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

const isoOf = (ms: number) => new Date(ms).toISOString();

type Series = DataOf<typeof ForecastPublished>['carbonGPerKwh'];
const bands = (x: Series): Band[] => x.points.map((p) => ({ p10: p.p10, p50: p.p50, p90: p.p90 }));
const modelOf = (x: Series): string => `${x.modelId}@${x.modelVersion}`;

export const forecastProjection = projection({
  name: 'forecast',
  handles: [ForecastPublished, SignalObserved, SignalDegraded],
  initial: initialForecast,
  evolve(s: ForecastState, e): ForecastState {
    switch (e.type) {
      case 'grid.forecast.published': {
        const d = e.data;
        const startsMs = Date.parse(d.startsAt);
        const issuedMs = Date.parse(d.issuedAt);
        const carbon = bands(d.carbonGPerKwh);
        const price = bands(d.priceGbpPerMwh);
        const latest: LatestForecast = {
          forecastId: d.forecastId,
          issuedAt: isoOf(issuedMs),
          startsAt: isoOf(startsMs),
          carbonModel: modelOf(d.carbonGPerKwh),
          priceModel: modelOf(d.priceGbpPerMwh),
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
        const d = e.data;
        const o: Observed = {
          periodStart: isoOf(Date.parse(d.periodStart)),
          carbonGPerKwh: d.carbonActualGPerKwh,
          carbonPublishedForecastGPerKwh: d.carbonPublishedForecastGPerKwh,
          priceGbpPerMwh: d.marketIndexPriceGbpPerMwh ?? d.imbalancePriceGbpPerMwh,
        };
        return { ...s, observed: s.observed.set(o.periodStart, o) };
      }
      case 'grid.signal.degraded':
        return { ...s, degraded: s.degraded + 1, lastDegraded: { reason: e.data.reason, source: e.data.source, at: e.time ?? null } };
      default: {
        const _never: never = e;
        return _never;
      }
    }
  },
});

export const evolveForecast = evolverOf(forecastProjection);
