import { halfHourFloor } from '../../../core/time/index.ts';
import type { CarbonIntensityClient } from './carbon-intensity-client.ts';
import type { ElexonClient } from './elexon-client.ts';
import { PointMerger } from './merge-points.ts';
import type { ForecastPoint, SignalPoint, SignalSource } from './signal-source.ts';
import { HORIZON_48H_MS, knownRange } from './time-grid.ts';

export interface LiveSignalSourceOptions {
  /** Carbon intensity; without it the carbon fields stay `null`. */
  readonly carbon?: CarbonIntensityClient;
  /** Prices; without it the price fields stay `null`. */
  readonly elexon?: ElexonClient;
  /** Take `publishedForecast` from this region's forecast (London is 13) instead of the national one. */
  readonly forecastRegionId?: number;
  /** Cancels in-flight requests, e.g. on shutdown. */
  readonly signal?: AbortSignal;
}

/**
 * The live public APIs behind the `SignalSource` port. `nowMs` should be close to the wall
 * clock: the APIs serve today's revision of every value, so asking about the past with a past
 * `nowMs` cannot undo later revisions (only the half-hours not yet over are held back).
 *
 * A call fails as a whole, with the first typed error, if any API it needs fails: a point with
 * carbon but silently no price would look like a complete observation. A caller that wants the
 * signals to degrade independently can hold one source per client.
 */
export class LiveSignalSource implements SignalSource {
  readonly name = 'live';
  readonly forecastProvenance = 'live' as const;

  /** Present only with a carbon client: the prices have no published forecast. */
  readonly publishedForecast?: (nowMs: number) => Promise<ForecastPoint[]>;
  /** Set when `publishedForecast` is a region's, not the national series `observed` reports. */
  readonly forecastRegionId?: number;

  constructor(private readonly opts: LiveSignalSourceOptions) {
    if (!opts.carbon && !opts.elexon) throw new RangeError('LiveSignalSource needs a carbon client, an Elexon client or both');
    const carbon = opts.carbon;
    if (carbon) {
      this.publishedForecast = (nowMs) => this.forecastFrom(carbon, nowMs);
      if (opts.forecastRegionId !== undefined) this.forecastRegionId = opts.forecastRegionId;
    }
  }

  async observed(fromMs: number, toMs: number, nowMs: number): Promise<SignalPoint[]> {
    const { startMs, endMs } = knownRange(fromMs, toMs, nowMs);
    if (endMs <= startMs) return [];
    const { carbon, elexon, signal } = this.opts;
    const [ci, sp, mid] = await Promise.all([
      carbon ? carbon.range(startMs, endMs, signal) : [],
      elexon ? elexon.systemPricesBetween(startMs, endMs, signal) : [],
      elexon ? elexon.marketIndex(startMs, endMs, signal) : [],
    ]);
    const m = new PointMerger();
    for (const p of ci) {
      // GB intensity is never 0; the API and the recorded data use 0 as a placeholder.
      m.set(p.fromMs, 'carbonActualGPerKwh', p.actualGPerKwh !== null && p.actualGPerKwh > 0 ? p.actualGPerKwh : null);
      m.set(p.fromMs, 'carbonForecastGPerKwh', p.forecastGPerKwh);
    }
    for (const p of sp) m.set(p.fromMs, 'imbalancePriceGbpPerMwh', p.imbalancePriceGbpPerMwh);
    for (const p of mid) m.set(p.fromMs, 'marketIndexPriceGbpPerMwh', p.priceGbpPerMwh);
    return m.points();
  }

  private async forecastFrom(carbon: CarbonIntensityClient, nowMs: number): Promise<ForecastPoint[]> {
    const { forecastRegionId, signal } = this.opts;
    const startMs = halfHourFloor(nowMs);
    const rows =
      forecastRegionId === undefined ? await carbon.fw48h(startMs, signal) : (await carbon.regionalFw48h(startMs, forecastRegionId, signal)).points;
    return rows
      .filter((r) => r.fromMs >= startMs && r.fromMs < startMs + HORIZON_48H_MS)
      .map((r) => ({ fromMs: r.fromMs, carbonForecastGPerKwh: r.forecastGPerKwh }));
  }
}
