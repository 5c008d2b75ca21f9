import type { Decision, EventToAppend } from '../../../core/runtime/index.ts';
import { metricsHooks } from '../../../core/observability/index.ts';
import { eventOf } from '../../../core/runtime/index.ts';
import { JobPlanned } from '../../../schemas/index.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../../../core/time/index.ts';
import { coverWindows } from '../cover-windows.ts';
import { arrivalHistory, arrivalRoomKw } from '../expected-arrivals.ts';
import { flexCapsFor } from '../flex-caps.ts';
import { onsiteTiers } from '../onsite-offers.ts';
import { forecastSignals } from '../signals.ts';
import { jobsToPlan } from '../site-planner.ts';
import { offerWindows } from '../offer-windows.ts';
import { currentHalfHour, firstHalfHour, jobPlannedData, planEvents, unplacedOf, type Dispatched } from '../plan-events.ts';
import { HORIZON_SLOTS, LONG_HORIZON_SLOTS } from '../horizon.ts';
import { iso } from '../ledger-format.ts';
import type { ComputeOut } from '../messages.ts';
import type { ComputeState } from '../state.ts';
import type { ComputeDeciderDeps } from './deps.ts';

export interface PlanRequest {
  /** The half-hour the plan starts at. */
  readonly t: number;
  /** The site battery's state of charge at `t`. */
  readonly socKwh: number;
  /** Jobs' work done by `t` where the state does not know it yet (a half-hour metered in the same tick). */
  readonly doneAfter: ReadonlyMap<string, number>;
  /** Why: becomes the plan's `trigger` and the moved jobs' `reason`. */
  readonly trigger: string;
  /** Whether this plan dispatches the half-hour at `t`, or keeps what the site is doing. */
  readonly dispatch: boolean;
}

export interface PlannedSite {
  readonly dispatch: Dispatched;
  /** A `compute.job.planned` for each job the plan moved, by job id. */
  readonly jobPlanned: ReadonlyMap<string, EventToAppend<ComputeOut>>;
  /** The plan and its flexibility, for the plan stream. */
  readonly planDecision: Decision<ComputeOut>;
}

/**
 * Re-plan the site from `t`: the jobs left, on the forecast (extended over the jobs' windows),
 * with the import caps of flexibility sold, the energy on-site assets offer and the battery.
 * The connection limit is hard; a reduction sold is a soft cap priced at what a shortfall
 * costs, so the plan never makes a job late to deliver flexibility worth less than that.
 */
export async function planSite(deps: ComputeDeciderDeps, s: ComputeState, req: PlanRequest): Promise<PlannedSite> {
  const { site } = deps;
  const { t, socKwh, doneAfter, trigger } = req;
  const { jobs, records } = jobsToPlan(s, t, doneAfter);
  const signals = coverWindows(t, s.actuals, forecastSignals(s, t), jobs, { minSlots: HORIZON_SLOTS, maxSlots: LONG_HORIZON_SLOTS });
  // What jobs still to arrive will add: the offers are sized on it, and under a sold cap the
  // plan keeps room for what the offer's baseline counted.
  const arrivals = arrivalHistory(s, t);
  const room = arrivalRoomKw(arrivals, t, HORIZON_SLOTS, SLOT_MS, site.pue, s.caps.values());
  const { caps, breach, soldKw, orders } = flexCapsFor({ t0Ms: t, slots: HORIZON_SLOTS, slotMs: SLOT_MS, siteImportCapKw: site.importCapKw, windows: s.caps.values(), arrivalRoomKw: room });
  const onsite = onsiteTiers({ t0Ms: t, slots: HORIZON_SLOTS, slotMs: SLOT_MS, offers: s.onsiteOffers.values(), batteries: s.onsiteBatteries });
  // A sale is also insured with the battery: the plan holds the kW sold (flexHoldKw) for the
  // window, to discharge if a job arrives beyond that room.
  const { result, note } = await deps.planner.plan(
    { nowMs: t, site, jobs, signals, batterySocKwh: socKwh, flexCapKw: caps, flexBreachGbpPerMwh: breach, flexHoldKw: soldKw, flexWindowSlots: deps.flexWindows.slotsPerWindow, ...(onsite.length ? { onsite } : {}) },
    deps.log,
  );
  const planId = `plan-${iso(t)}-${s.planCount + 1}`;
  const forecastId = s.forecast?.forecastId ?? null;
  const dispatch = req.dispatch ? firstHalfHour(result, (id) => records.get(id)?.job.powerKw, site) : currentHalfHour(s);

  const jobPlanned = new Map<string, EventToAppend<ComputeOut>>();
  for (const jp of result.jobs) {
    const r = records.get(jp.jobId);
    if (!r) continue;
    const data = jobPlannedData({ t, planId, forecastId, trigger, orders }, r, jp, doneAfter.get(jp.jobId) ?? r.doneMin);
    if (data) jobPlanned.set(jp.jobId, eventOf(JobPlanned, data));
  }

  const unplaced = unplacedOf(result);
  const events = planEvents({
    t,
    planId,
    forecastId,
    trigger,
    result,
    note,
    jobCount: jobs.length,
    capsKw: caps,
    // A re-plan keeps the dispatch in force. Before the first tick there is none: the half-hour
    // under way is stamped as dispatched idle, as it is. Stamped with `t`, it read as the tick
    // at `t` already done, and that tick dispatched nothing: a fresh site lost its first
    // half-hour to any outside offer or order that came before it (a helper's review).
    dispatchSlotMs: req.dispatch ? t : (s.dispatch?.slotStartMs ?? t - SLOT_MS),
    dispatch,
    windows: offerWindows(site, deps.flexWindows, s, t, result, socKwh, arrivals),
    ...(unplaced ? { unplaced } : {}),
  });
  metricsHooks.planned(unplaced?.count ?? 0);
  if (unplaced) deps.log.warn({ planId, unplaced: unplaced.count, jobIds: unplaced.jobIds.slice(0, 10) }, 'the plan found no room for some jobs: they will miss their deadlines unless room is made (pin, release or cancel work)');
  return { dispatch, jobPlanned, planDecision: { stream: 'plan-main', expected: s.planRevision < 0 ? 'no-stream' : s.planRevision, events } };
}
