import { isSourceError, type SourceFailure } from './errors.ts';
import type { ForecastPoint, ForecastProvenance, SignalPoint, SignalSource } from './signal-source.ts';

export type SourceResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: SourceFailure };

/**
 * A `SignalSource` whose expected failures come back as values, so the grid agent can keep its
 * last good forecast and publish `grid.signal.degraded` with `failure` as the reason. Only
 * `SourceUnavailable` and `BadResponse` are turned into values; anything else is a bug and
 * still throws, so it is not mistaken for an outage.
 */
export interface GuardedSignalSource {
  readonly name: string;
  readonly forecastProvenance?: ForecastProvenance;
  readonly forecastRegionId?: number;
  observed(fromMs: number, toMs: number, nowMs: number): Promise<SourceResult<SignalPoint[]>>;
  publishedForecast?(nowMs: number): Promise<SourceResult<ForecastPoint[]>>;
}

export function guardSource(source: SignalSource): GuardedSignalSource {
  const forecast = source.publishedForecast?.bind(source);
  return {
    name: source.name,
    ...(source.forecastProvenance ? { forecastProvenance: source.forecastProvenance } : {}),
    ...(source.forecastRegionId !== undefined ? { forecastRegionId: source.forecastRegionId } : {}),
    observed: (fromMs, toMs, nowMs) => settle(() => source.observed(fromMs, toMs, nowMs)),
    ...(forecast ? { publishedForecast: (nowMs: number) => settle(() => forecast(nowMs)) } : {}),
  };
}

export async function settle<T>(run: () => Promise<T>): Promise<SourceResult<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (e) {
    if (isSourceError(e)) return { ok: false, failure: e.toFailure() };
    throw e;
  }
}
