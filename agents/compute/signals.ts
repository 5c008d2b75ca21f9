import type { Signals } from './planner/index.ts';
import { DAY_MS, HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';
import { HORIZON_SLOTS } from './horizon.ts';
import type { ComputeState } from './state.ts';

/** What price and carbon are assumed when neither a forecast nor a week of observations says. */
const DEFAULT_PRICE_GBP_PER_MWH = 80;
const DEFAULT_CARBON_G_PER_KWH = 150;

/**
 * Forecast signals for the 48 h from `t`: the grid agent's (expected value of its bands), else
 * the latest observation at the same time of day in the past week, else the slot before.
 */
export function forecastSignals(s: Pick<ComputeState, 'forecast' | 'actuals'>, t: number): Signals {
  const price: number[] = [];
  const carbon: number[] = [];
  const f = s.forecast;
  for (let i = 0; i < HORIZON_SLOTS; i++) {
    const at = t + i * SLOT_MS;
    const k = f ? Math.round((at - f.startMs) / SLOT_MS) : -1;
    if (f && k >= 0 && k < f.price.length) {
      price.push(f.price[k]!);
      carbon.push(f.carbon[k]!);
      continue;
    }
    let obs: { carbon: number | null; price: number | null } | undefined;
    for (let back = 1; back <= 7 && !obs?.price; back++) obs = s.actuals.get(at - back * DAY_MS);
    price.push(obs?.price ?? price[price.length - 1] ?? DEFAULT_PRICE_GBP_PER_MWH);
    carbon.push(obs?.carbon ?? carbon[carbon.length - 1] ?? DEFAULT_CARBON_G_PER_KWH);
  }
  return { startMs: t, priceGbpPerMwh: price, intensityGPerKwh: carbon };
}
