/**
 * Grid signal sources behind one port (`SignalSource`): a recorded data set replayed on the
 * caller's clock, or the live Carbon Intensity and Elexon Insights APIs.
 *
 * ```ts
 * const live = new LiveSignalSource({ carbon: new CarbonIntensityClient(), elexon: new ElexonClient() });
 * const replay = new RecordedSignalSource({ carbon: loadCarbonCsv().rows, prices: loadPriceCsv().rows,
 *   offsetMs: sameTimeOfWeekOffset(clock.now(), { dataFromMs, dataToMs }) });
 * const r = await guardSource(live).observed(from, to, clock.now());
 * if (!r.ok) emit(SignalDegraded, { ...degradedFields(r.failure), lastGoodForecastId, lastGoodIssuedAt });
 * ```
 *
 * What a caller can rely on:
 * - No value for a half-hour that has not ended at `nowMs` (plus the recorded source's `lagMs`);
 *   missing values are `null` or absent, never invented.
 * - Expected failures are typed: `SourceUnavailableError` (`_tag: 'SourceUnavailable'`: network,
 *   timeout, HTTP error after the allowed retries, or a recorded replay asked outside its data)
 *   and `BadResponseError` (`_tag: 'BadResponse'`: the answer is not in the documented shape;
 *   `problems` name the field paths). `guardSource` turns them into `{ ok: false, failure }`
 *   values; anything else is a bug and is thrown.
 * - Live calls: each attempt has a timeout (default 10 s, body included); network errors, 5xx
 *   and 429 are retried with jittered exponential back-off (default 4 attempts, 0.5 s base, 8 s
 *   cap, `Retry-After` honoured); other 4xx are not retried.
 */
export type { SignalPoint, SignalSource, ForecastPoint, ForecastProvenance } from './signal-source.ts';
export {
  SourceUnavailableError,
  BadResponseError,
  isSourceError,
  degradedFields,
  type SourceError,
  type SourceFailure,
  type ResponseProblem,
} from './errors.ts';
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
