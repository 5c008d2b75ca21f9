import type { Decision } from '../../../core/runtime/index.ts';
import type { Envelope } from '../../../core/envelope/index.ts';
import type { EnergyOffered } from '../../../schemas/index.ts';
import type { MessageOf } from '../../../schemas/index.ts';
import { offerVerdict, outsideOperator } from '../onsite-offers.ts';
import { nextHalfHourAfter } from '../../../core/time/index.ts';
import type { ComputeOut, FlexOrderEvent } from '../messages.ts';
import type { ComputeState } from '../state.ts';
import type { ComputeDeciderDeps } from './deps.ts';
import { planSite } from './plan-site.ts';
import { meterHalfHour } from '../metering.ts';

/**
 * Re-plan from the next half-hour, keeping what the site is doing now: the moved jobs'
 * `compute.job.planned` (by job id) and the plan. The plan starts when the half-hour under way
 * ends, so it starts from the work and the battery charge that half-hour will have left as
 * dispatched (what the tick will meter): planned from the last read instead, every running job
 * was planned to run its current half-hour again, ending 30 minutes late, sometimes past its
 * deadline on the ledger, and the flexibility offered after it was measured against that load
 * (a helper's review).
 */
export async function replan(deps: ComputeDeciderDeps, s: ComputeState, nowMs: number, trigger: string): Promise<Decision<ComputeOut>[]> {
  const t = nextHalfHourAfter(nowMs);
  const underWay = meterHalfHour(deps.site, s, t);
  const planned = await planSite(deps, s, { t, socKwh: underWay?.socKwh ?? s.socKwh, doneAfter: underWay?.doneAfter ?? new Map(), trigger, dispatch: false });
  const out: Decision<ComputeOut>[] = [];
  for (const [jobId, e] of [...planned.jobPlanned].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const r = s.jobs.get(jobId);
    out.push({ stream: `job-${jobId}`, ...(r ? { expected: r.revision } : {}), events: [e] });
  }
  out.push(planned.planDecision);
  return out;
}

/** A flexibility order confirmed, changed or cancelled (already evolved into the caps): re-plan so the commitment holds. */
export function decideOnFlexOrder(deps: ComputeDeciderDeps, s: ComputeState, e: Envelope<FlexOrderEvent>, nowMs: number): Promise<Decision<ComputeOut>[]> {
  const verb = e.type.split('.').pop();
  return replan(deps, s, nowMs, `flexibility order ${e.data.orderId} ${verb}`);
}

/**
 * Energy an outside operator offers (already evolved, if it came through the gateway) changes
 * what energy costs in its window: re-plan from scratch, as an incremental re-plan would keep
 * the starts chosen without it. An offer not in the operator's own stream is not one; one that
 * `offerVerdict` does not use (window ended or beyond the horizon, operator at its cap) changes
 * nothing and is logged once per spell. At most one outside offer per spacing re-plans at once
 * (onsite-replans.ts); for the others the planner only forgets its last plan, so the next plan
 * (the half-hourly tick at the latest) is a full one on every offer in force.
 */
export async function decideOnEnergyOffered(deps: ComputeDeciderDeps, s: ComputeState, e: Envelope<MessageOf<typeof EnergyOffered>>, nowMs: number): Promise<Decision<ComputeOut>[]> {
  const source = outsideOperator(e);
  if (source === null) return [];
  const verdict = offerVerdict(s.onsiteOffers, source, e, deps.onsiteLimits);
  if (!verdict.use) {
    deps.onsiteReplans.notUsed(source, e.data.assetId, verdict.reason, nowMs, deps.log);
    return [];
  }
  deps.onsiteReplans.used(source, deps.log);
  deps.planner.forget();
  if (!deps.onsiteReplans.replanNow(nowMs)) return [];
  return replan(deps, s, nowMs, `energy offered by ${e.source} (${e.data.assetId})`);
}
