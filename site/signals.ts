import { loadCarbonCsv, loadPriceCsv } from '../data/index.ts';
import { DAY_MS } from '../core/time/index.ts';
import { CarbonIntensityClient, ElexonClient, LiveSignalSource, RecordedSignalSource, sameTimeOfWeekOffset, type RecordedSourceOptions, type SignalSource } from '../agents/grid/index.ts';

/** Where a site's grid signals come from. */
export type SiteSignals =
  /** Recorded rows at their own dates: the simulation, on a simulated clock inside the recorded period. */
  | { readonly kind: 'recorded'; readonly carbon: RecordedSourceOptions['carbon']; readonly prices: RecordedSourceOptions['prices'] }
  /** The recorded 2023 data (data/) replayed as if current, from the same time of week as `nowMs`. */
  | { readonly kind: 'replayed'; readonly nowMs: number }
  /** The live Carbon Intensity API and Elexon Insights. */
  | { readonly kind: 'live' };

/** The grid agent's signal source, and what the start-up log says about it (nothing for the simulation). */
export function siteSignals(s: SiteSignals): { readonly source: SignalSource; readonly note?: string } {
  switch (s.kind) {
    case 'recorded':
      return { source: new RecordedSignalSource({ carbon: s.carbon, prices: s.prices }) };
    case 'replayed': {
      const carbon = loadCarbonCsv().rows;
      const prices = loadPriceCsv().rows;
      const offsetMs = sameTimeOfWeekOffset(s.nowMs, { dataFromMs: Math.max(carbon[0]!.fromMs, prices[0]!.fromMs), dataToMs: Math.min(carbon.at(-1)!.fromMs, prices.at(-1)!.fromMs), notBeforeMs: Date.parse('2023-07-01T00:00:00Z') });
      return { source: new RecordedSignalSource({ carbon, prices, offsetMs }), note: `grid signals: recorded 2023 data replayed as if current (offset ${Math.round(offsetMs / DAY_MS)} days)` };
    }
    case 'live':
      // The national published forecast (fw48h), not London's region: the grid agent forecasts,
      // observes and accounts the national intensity, and takes the operator's forecast as its
      // carbon P50 only when it is that same series (agents/grid/operator-forecast.ts).
      return { source: new LiveSignalSource({ carbon: new CarbonIntensityClient(), elexon: new ElexonClient() }), note: "grid signals: live Carbon Intensity API (observed, and the operator's national 48 h forecast as the carbon P50) and Elexon Insights" };
  }
}
