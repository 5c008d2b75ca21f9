/**
 * Grid signal sources behind one port (`SignalSource`): a recorded data set replayed on the
 * caller's clock, or the live Carbon Intensity and Elexon Insights APIs.
 *
 * ```ts
 * const live = new LiveSignalSource({ carbon: new CarbonIntensityClient(), elexon: new ElexonClient() });
 * const replay = new RecordedSignalSource({ carbon: loadCarbonCsv(...).rows, prices: loadPriceCsv(...).rows,
 *   offsetMs: sameTimeOfWeekOffset(clock.now(), { dataFromMs, dataToMs }) });
 * const r = await guardSource(live).observed(from, to, clock.now());
 * if (!r.ok) publish('grid.signal.degraded', r.failure);   // _tag: 'SourceUnavailable' | 'BadResponse'
 * ```
 */
export type { SignalPoint, SignalSource, ForecastPoint, ForecastProvenance } from './signal-source.ts';
export { SourceUnavailableError, BadResponseError, isSourceError, type SourceError, type SourceFailure, type ResponseProblem } from './errors.ts';
export { guardSource, settle, type GuardedSignalSource, type SourceResult } from './guarded-source.ts';
export { RecordedSignalSource, type RecordedSourceOptions, type RecordedCarbonRow, type RecordedPriceRow } from './recorded-source.ts';
export { sameTimeOfWeekOffset, type ReplayWindow } from './replay-offset.ts';
export { LiveSignalSource, type LiveSignalSourceOptions } from './live-source.ts';
export {
  CarbonIntensityClient,
  CARBON_INTENSITY_BASE_URL,
  type CarbonIntensityClientOptions,
  type CarbonIntensityPoint,
  type RegionalForecast,
  type RegionalForecastPoint,
} from './carbon-intensity-client.ts';
export { ElexonClient, ELEXON_BASE_URL, type ElexonClientOptions, type SystemPricePoint, type MarketIndexPoint } from './elexon-client.ts';
export type { HttpOptions, FetchFn } from './http-json.ts';
export { DEFAULT_RETRY, type RetryPolicy } from './backoff.ts';
