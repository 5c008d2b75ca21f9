import type { DataOf } from '../../schemas/index.ts';
import type { JobPlanned } from '../../schemas/index.ts';
import type { Job, SiteConfig } from './jobs/index.ts';
import type { OnsiteTier } from './planner/index.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';
import { onsiteTiers } from './onsite-offers.ts';
import { forecastSignals } from './signals.ts';
import { costOf, score } from './costing.ts';
import { HORIZON_SLOTS } from './horizon.ts';
import { iso, round } from './ledger-format.ts';
import type { ComputeState } from './state.ts';

/**
 * At arrival: the cheapest on-time start by the forecast (and the energy on-site assets offer),
 * before the next full re-plan checks that there is room. Serving load starts at once.
 */
export function provisionalPlacement(site: SiteConfig, s: ComputeState, job: Job, nowMs: number): DataOf<typeof JobPlanned> {
  const first = Math.max(Math.ceil(nowMs / SLOT_MS), Math.ceil(job.earliestStartMs / SLOT_MS)) * SLOT_MS;
  const sig = forecastSignals(s, first);
  const onsite = new Map<number, OnsiteTier[]>();
  for (const x of onsiteTiers({ t0Ms: first, slots: HORIZON_SLOTS, slotMs: SLOT_MS, offers: s.onsiteOffers.values(), batteries: s.onsiteBatteries })) {
    const list = onsite.get(x.slot);
    if (list) list.push(x);
    else onsite.set(x.slot, [x]);
  }
  let best = first;
  let bestScore = Infinity;
  if (job.class !== 'serving') {
    for (let t = first; t + job.runtimeMin * 60_000 <= job.deadlineMs && t < first + HORIZON_SLOTS * SLOT_MS; t += SLOT_MS) {
      const c = score(site, costOf(site, job, t, sig, onsite));
      if (c < bestScore - 1e-9) {
        bestScore = c;
        best = t;
      }
    }
  }
  const slots: Array<{ start: string; kw: number }> = [];
  for (let t = best, left = job.runtimeMin; left > 0; t += SLOT_MS, left -= 30) slots.push({ start: iso(t), kw: round((job.powerKw * Math.min(30, left)) / 30, 1) });
  return {
    jobId: job.id,
    planId: `arrival-${job.id}`,
    forecastId: s.forecast?.forecastId ?? null,
    slots,
    plannedStart: iso(best),
    plannedEnd: iso(best + job.runtimeMin * 60_000),
    expected: costOf(site, job, best, sig, onsite),
    runNow: costOf(site, job, first, sig),
    pinned: false,
    reason: onsite.size
      ? 'on arrival: cheapest on-time start by the forecast and the energy on-site assets offer (provisional until the next half-hourly re-plan checks capacity)'
      : 'on arrival: cheapest on-time start by the forecast (provisional until the next half-hourly re-plan checks capacity)',
    flexOrderIds: [],
  };
}
