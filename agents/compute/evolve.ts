import type { Envelope } from '../../core/envelope/index.ts';
import type { Job } from './jobs/index.ts';
import { expectedFromBands } from './planner/index.ts';
import { DEFAULT_ONSITE_LIMITS, foldOnsiteFact, pruneOffers, type OnsiteLimits } from './onsite-offers.ts';
import { DAY_MS, HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';
import type { ComputeIn } from './messages.ts';
import { RETIRE_DONE_AFTER_MS, retireDoneBefore, type ComputeState, type JobRecord } from './state.ts';

const ms = (iso: string) => Date.parse(iso);

function feasibleOnArrival(j: Job): boolean {
  const first = Math.ceil(j.earliestStartMs / SLOT_MS) * SLOT_MS;
  return first + j.runtimeMin * 60_000 <= j.deadlineMs + 1;
}

/**
 * The evolve function for a site (job energy is booked at the site's PUE; outside operators'
 * offers are held to `onsite`, see onsite-offers.ts).
 */
export const makeEvolve =
  (pue: number, onsite: OnsiteLimits = DEFAULT_ONSITE_LIMITS) =>
  (s: ComputeState, e: Envelope<ComputeIn>): ComputeState =>
    evolveCompute(s, e, pue, onsite);

/** A job's record at the event's revision, or undefined for a job this state never saw submitted. */
function recordAt(s: ComputeState, jobId: string, revision: number): JobRecord | undefined {
  const r = s.jobs.get(jobId);
  if (r) r.revision = revision;
  return r;
}

/** Folds one event into the state in place (see state.ts for why) and returns it. */
export function evolveCompute(s: ComputeState, e: Envelope<ComputeIn>, pue: number, onsite: OnsiteLimits = DEFAULT_ONSITE_LIMITS): ComputeState {
  switch (e.type) {
    case 'compute.job.submitted': {
      const x = e.data;
      const job: Job = {
        id: x.jobId,
        class: x.class,
        powerKw: x.powerKw,
        ...(x.gpuCount !== null ? { gpuCount: x.gpuCount } : {}),
        runtimeMin: x.runtimeMin,
        runtimeSource: x.runtimeSource,
        earliestStartMs: ms(x.earliestStart),
        deadlineMs: ms(x.deadline),
        slaClass: x.slaClass,
        preemptible: x.preemptible,
      };
      s.jobs.set(job.id, {
        job,
        status: 'waiting',
        revision: e.revision,
        doneMin: 0,
        startedMs: null,
        runningSinceMs: null,
        endMs: null,
        plannedStartMs: null,
        plannedEndMs: null,
        pinnedStartMs: null,
        overrides: 0,
        lastOverrideMs: null,
        missed: false,
        feasibleOnArrival: feasibleOnArrival(job),
        energyKwh: 0,
        costGbp: 0,
        carbonKg: 0,
        lastPlanEventId: null,
        submittedBy: x.submittedBy,
      });
      s.active.add(job.id);
      return s;
    }
    case 'compute.job.planned': {
      const r = recordAt(s, e.data.jobId, e.revision);
      if (r) {
        r.plannedStartMs = ms(e.data.plannedStart);
        r.plannedEndMs = ms(e.data.plannedEnd);
        r.lastPlanEventId = e.id;
      }
      return s;
    }
    case 'compute.job.started': {
      const r = recordAt(s, e.data.jobId, e.revision);
      if (r) {
        r.status = 'running';
        if (r.startedMs === null) r.startedMs = ms(e.data.at);
        r.runningSinceMs = ms(e.data.at);
      }
      return s;
    }
    case 'compute.job.preempted': {
      const r = recordAt(s, e.data.jobId, e.revision);
      if (r) {
        r.status = 'paused';
        r.runningSinceMs = null;
      }
      return s;
    }
    case 'compute.job.pinned': {
      const r = recordAt(s, e.data.jobId, e.revision);
      if (r) {
        r.pinnedStartMs = ms(e.data.startAt);
        r.overrides++;
        r.lastOverrideMs = ms(e.time);
      }
      return s;
    }
    case 'compute.job.released': {
      const r = recordAt(s, e.data.jobId, e.revision);
      if (r) {
        r.pinnedStartMs = null;
        r.overrides++;
        r.lastOverrideMs = ms(e.time);
      }
      return s;
    }
    case 'compute.job.deadline-missed': {
      const r = recordAt(s, e.data.jobId, e.revision);
      if (r) r.missed = true;
      return s;
    }
    case 'compute.job.completed': {
      const r = recordAt(s, e.data.jobId, e.revision);
      if (r) {
        r.status = 'done';
        r.runningSinceMs = null;
        r.endMs = ms(e.data.at);
        s.active.delete(r.job.id);
        s.done.set(r.job.id, r.endMs);
      }
      return s;
    }
    case 'compute.plan.published': {
      s.planRevision = e.revision;
      s.planCount++;
      const disp = e.data.dispatch;
      s.dispatch = { slotStartMs: ms(disp.slotStart), runs: disp.runs, chargeKw: disp.chargeKw, dischargeKw: disp.dischargeKw, planId: e.data.planId };
      pruneOffers(s.onsiteOffers, ms(e.data.startsAt));
      retireDoneBefore(s, ms(e.data.startsAt) - RETIRE_DONE_AFTER_MS);
      return s;
    }
    case 'compute.flexibility.available':
      s.flexRevision = e.revision;
      s.planRevision = e.revision;
      return s;
    case 'site.meter.read': {
      const d = e.data;
      s.meterRevision = e.revision;
      const slotMs = ms(d.periodStart);
      s.lastMeterSlotMs = slotMs;
      s.socKwh = d.batterySocKwh;
      s.importKwBySlot.set(slotMs, d.importKwh * 2);
      for (const k of s.importKwBySlot.keys()) if (k < slotMs - 8 * DAY_MS) s.importKwBySlot.delete(k);
      s.lastMeterJobs = d.jobs;
      for (const run of s.lastMeterJobs) {
        const r = s.jobs.get(run.jobId);
        if (!r) continue;
        const itKwh = run.kw * 0.5;
        r.doneMin += 30 * (run.kw / r.job.powerKw);
        r.energyKwh += itKwh;
        r.costGbp += (itKwh * pue * d.priceGbpPerMwh) / 1000;
        r.carbonKg += (itKwh * pue * d.carbonGPerKwh) / 1000;
      }
      return s;
    }
    case 'compute.job.rejected':
      // A refusal is on the intake stream for the record; no job came of it.
      return s;
    case 'grid.forecast.published': {
      const d = e.data;
      // The plan's objective is linear in price and carbon, so it plans on the expected value
      // from the bands, not the median: price spikes make the upper tail the longer one.
      s.forecast = { forecastId: d.forecastId, eventId: e.id, startMs: ms(d.startsAt), carbon: expectedFromBands(d.carbonGPerKwh.points), price: expectedFromBands(d.priceGbpPerMwh.points) };
      return s;
    }
    case 'grid.signal.observed': {
      const d = e.data;
      const t = ms(d.periodStart);
      s.actuals.set(t, { carbon: d.carbonActualGPerKwh, price: d.marketIndexPriceGbpPerMwh ?? d.imbalancePriceGbpPerMwh });
      // Keep a week: enough for metering and for the same-time-yesterday fallback.
      for (const k of s.actuals.keys()) if (k < t - 8 * DAY_MS) s.actuals.delete(k);
      return s;
    }
    case 'flex.order.confirmed': {
      const d = e.data;
      const shortfallGbpPerMwh = Math.max(0, d.priceGbpPerMwh + d.penaltyGbpPerMwh);
      s.caps.set(d.orderId, { orderId: d.orderId, startMs: ms(d.windowStart), endMs: ms(d.windowEnd), kw: d.kw, baselineKw: d.baselineKw, capKw: Math.max(0, d.baselineKw - d.kw), shortfallGbpPerMwh });
      return s;
    }
    case 'flex.order.updated': {
      const c = s.caps.get(e.data.orderId);
      if (c) s.caps.set(c.orderId, { ...c, kw: e.data.kw, capKw: Math.max(0, c.baselineKw - e.data.kw) });
      return s;
    }
    case 'flex.order.cancelled':
      s.caps.delete(e.data.orderId);
      return s;
    case 'onsite.energy.offered':
    case 'onsite.battery.state.reported':
      foldOnsiteFact(s.onsiteOffers, s.onsiteBatteries, e, onsite);
      return s;
    default: {
      const _never: never = e;
      return s;
    }
  }
}
