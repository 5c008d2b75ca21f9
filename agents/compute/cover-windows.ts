import { extendBands, quantileWeightedCost, type PlanJob, type Signals } from './planner/index.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';

const DAY_SLOTS = 48;

/**
 * The signals the compute agent plans on. When a job's deadline lies beyond the forecast's 48 h,
 * the forecast extended by the long-range estimate — the time-of-day profile of the signals
 * observed in the past week (only before `t`), bands at least as wide as the forecast's — up to
 * that deadline (≤ `maxSlots`), so the planner sees the whole window; the agent re-plans every
 * half-hour as forecasts arrive. Jobs within 48 h, or no observed history yet: the forecast
 * alone, as before. Pure.
 */
export function coverWindows(
  t: number,
  actuals: ReadonlyMap<number, { readonly carbon: number | null; readonly price: number | null }>,
  forecast: Signals,
  jobs: ReadonlyArray<PlanJob>,
  o: { readonly minSlots: number; readonly maxSlots: number },
): Signals {
  let need = o.minSlots;
  for (const j of jobs) if (j.class !== 'serving') need = Math.max(need, Math.ceil((j.deadlineMs - t) / SLOT_MS));
  need = Math.min(need, o.maxSlots);
  if (need <= o.minSlots) return forecast;
  const from = t - 8 * DAY_SLOTS * SLOT_MS;
  const hist = (k: 'price' | 'carbon') => ({ fromMs: from, values: Array.from({ length: 8 * DAY_SLOTS }, (_, i) => actuals.get(from + i * SLOT_MS)?.[k] ?? null) });
  const point = (xs: ReadonlyArray<number>) => xs.map((v) => ({ p10: v, p50: v, p90: v }));
  try {
    return {
      startMs: forecast.startMs,
      priceGbpPerMwh: quantileWeightedCost(extendBands(point(forecast.priceGbpPerMwh), hist('price'), t, need, { days: 7 })),
      intensityGPerKwh: quantileWeightedCost(extendBands(point(forecast.intensityGPerKwh), hist('carbon'), t, need, { days: 7 })),
    };
  } catch {
    return forecast;
  }
}
