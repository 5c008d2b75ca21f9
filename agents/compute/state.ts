import type { Envelope } from '../../core/envelope.ts';
import type { Job, JobClass } from './jobs/index.ts';
import { expectedFromBands, type BandPoint } from './planner/index.ts';
import type { Principal } from '../../core/identity/key-entry.ts';
import { foldOnsiteFact, pruneOffers, type OnsiteBattery, type OnsiteOffer } from './onsite-offers.ts';
import { upcastJobSubmitted, type JobSubmittedV1Data } from '../../schemas/compute-identity.ts';
import { DAY_MS, HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';

/**
 * The compute agent's state: every job and how far it has got, what the site is doing this
 * half-hour, the battery, the latest forecast, the realised signals and the import caps of
 * flexibility sold. Built only by `evolve`, from the agent's own events and the facts it
 * observes, so a restart rebuilds it exactly.
 *
 * `evolve` updates the state in place and returns it: with thousands of jobs a copy per event
 * would make a week's replay quadratic, and the runtime keeps only the latest state.
 */
export type JobStatus = 'waiting' | 'running' | 'paused' | 'done';

export interface JobRecord {
  readonly job: Job;
  status: JobStatus;
  revision: number;
  doneMin: number;
  startedMs: number | null;
  /** When its current run began (the last start not followed by a pause or the end). */
  runningSinceMs: number | null;
  endMs: number | null;
  plannedStartMs: number | null;
  plannedEndMs: number | null;
  pinnedStartMs: number | null;
  missed: boolean;
  feasibleOnArrival: boolean;
  energyKwh: number;
  costGbp: number;
  carbonKg: number;
  /** The last plan that placed it and the orders in force then (for `caco explain`). */
  lastPlanEventId: string | null;
  /** Who submitted it (the authenticated key), or null when not recorded (a v1 event). */
  readonly submittedBy: Principal | null;
}

export interface ForecastView {
  readonly forecastId: string;
  readonly eventId: string;
  readonly startMs: number;
  readonly carbon: ReadonlyArray<number>;
  readonly price: ReadonlyArray<number>;
}

export interface CapWindow {
  readonly orderId: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly capKw: number;
  readonly kw: number;
  readonly baselineKw: number;
  /** What each MWh not delivered costs: the price forgone plus the penalty. */
  readonly shortfallGbpPerMwh: number;
}

export interface Dispatch {
  readonly slotStartMs: number;
  readonly runs: ReadonlyArray<{ jobId: string; kw: number }>;
  readonly chargeKw: number;
  readonly dischargeKw: number;
  readonly planId: string;
}

export interface ComputeState {
  readonly jobs: Map<string, JobRecord>;
  /** Jobs not yet done, for quick iteration. */
  readonly active: Set<string>;
  forecast: ForecastView | null;
  /** Observed signals by half-hour start (ms). */
  readonly actuals: Map<number, { carbon: number | null; price: number | null }>;
  readonly caps: Map<string, CapWindow>;
  socKwh: number;
  dispatch: Dispatch | null;
  planRevision: number;
  meterRevision: number;
  flexRevision: number;
  lastMeterSlotMs: number | null;
  /** The jobs the last meter read booked, so a tick cut short after it can still complete them. */
  lastMeterJobs: ReadonlyArray<{ readonly jobId: string; readonly kw: number }>;
  planCount: number;
  /** Metered site import (kW) by half-hour start, for a week: the history a baseline leans on. */
  readonly importKwBySlot: Map<number, number>;
  /** Energy outside on-site assets offer (the latest offer per operator and asset), and their battery states. */
  readonly onsiteOffers: Map<string, OnsiteOffer>;
  readonly onsiteBatteries: Map<string, OnsiteBattery>;
}

export function initialComputeState(initialSocKwh: number): ComputeState {
  return {
    jobs: new Map(),
    active: new Set(),
    forecast: null,
    actuals: new Map(),
    caps: new Map(),
    socKwh: initialSocKwh,
    dispatch: null,
    planRevision: -1,
    meterRevision: -1,
    flexRevision: -1,
    lastMeterSlotMs: null,
    lastMeterJobs: [],
    planCount: 0,
    importKwBySlot: new Map(),
    onsiteOffers: new Map(),
    onsiteBatteries: new Map(),
  };
}

const ms = (iso: string) => Date.parse(iso);

function feasibleOnArrival(j: Job): boolean {
  const first = Math.ceil(j.earliestStartMs / SLOT_MS) * SLOT_MS;
  return first + j.runtimeMin * 60_000 <= j.deadlineMs + 1;
}

interface SubmittedData {
  jobId: string;
  class: JobClass;
  powerKw: number;
  gpuCount: number | null;
  runtimeMin: number;
  runtimeSource: 'given' | 'predicted';
  earliestStart: string;
  deadline: string;
  slaClass: Job['slaClass'];
  preemptible: boolean;
}

/** The evolve function for a site (job energy is booked at the site's PUE). */
export const makeEvolve = (pue: number) => (s: ComputeState, e: Envelope): ComputeState => evolveCompute(s, e, pue);

export function evolveCompute(s: ComputeState, e: Envelope, pue: number): ComputeState {
  const d = e.data as Record<string, unknown>;
  switch (e.type) {
    case 'compute.job.submitted': {
      const x = d as unknown as SubmittedData;
      const submittedBy = upcastJobSubmitted(e.version, d as unknown as JobSubmittedV1Data).submittedBy;
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
        missed: false,
        feasibleOnArrival: feasibleOnArrival(job),
        energyKwh: 0,
        costGbp: 0,
        carbonKg: 0,
        lastPlanEventId: null,
        submittedBy,
      });
      s.active.add(job.id);
      return s;
    }
    case 'compute.job.planned': {
      const r = s.jobs.get(d['jobId'] as string);
      if (r) {
        r.revision = e.revision;
        r.plannedStartMs = ms(d['plannedStart'] as string);
        r.plannedEndMs = ms(d['plannedEnd'] as string);
        r.lastPlanEventId = e.id;
      }
      return s;
    }
    case 'compute.job.started':
    case 'compute.job.preempted':
    case 'compute.job.pinned':
    case 'compute.job.released':
    case 'compute.job.deadline-missed':
    case 'compute.job.completed': {
      const r = s.jobs.get(d['jobId'] as string);
      if (!r) return s;
      r.revision = e.revision;
      if (e.type === 'compute.job.started') {
        r.status = 'running';
        if (r.startedMs === null) r.startedMs = ms(d['at'] as string);
        r.runningSinceMs = ms(d['at'] as string);
      } else if (e.type === 'compute.job.preempted') {
        r.status = 'paused';
        r.runningSinceMs = null;
      }
      else if (e.type === 'compute.job.pinned') r.pinnedStartMs = ms(d['startAt'] as string);
      else if (e.type === 'compute.job.released') r.pinnedStartMs = null;
      else if (e.type === 'compute.job.deadline-missed') r.missed = true;
      else {
        r.status = 'done';
        r.runningSinceMs = null;
        r.endMs = ms(d['at'] as string);
        s.active.delete(r.job.id);
      }
      return s;
    }
    case 'compute.plan.published': {
      s.planRevision = e.revision;
      s.planCount++;
      const disp = d['dispatch'] as { slotStart: string; runs: Array<{ jobId: string; kw: number }>; chargeKw: number; dischargeKw: number };
      s.dispatch = { slotStartMs: ms(disp.slotStart), runs: disp.runs, chargeKw: disp.chargeKw, dischargeKw: disp.dischargeKw, planId: d['planId'] as string };
      pruneOffers(s.onsiteOffers, ms(d['startsAt'] as string));
      return s;
    }
    case 'compute.flexibility.available':
      s.flexRevision = e.revision;
      s.planRevision = e.revision;
      return s;
    case 'site.meter.read': {
      s.meterRevision = e.revision;
      const slotMs = ms(d['periodStart'] as string);
      s.lastMeterSlotMs = slotMs;
      s.socKwh = d['batterySocKwh'] as number;
      s.importKwBySlot.set(slotMs, (d['importKwh'] as number) * 2);
      for (const k of s.importKwBySlot.keys()) if (k < slotMs - 8 * DAY_MS) s.importKwBySlot.delete(k);
      const price = d['priceGbpPerMwh'] as number;
      const carbon = d['carbonGPerKwh'] as number;
      s.lastMeterJobs = d['jobs'] as Array<{ jobId: string; kw: number }>;
      for (const run of s.lastMeterJobs) {
        const r = s.jobs.get(run.jobId);
        if (!r) continue;
        const itKwh = run.kw * 0.5;
        r.doneMin += 30 * (run.kw / r.job.powerKw);
        r.energyKwh += itKwh;
        r.costGbp += (itKwh * pue * price) / 1000;
        r.carbonKg += (itKwh * pue * carbon) / 1000;
      }
      return s;
    }
    case 'grid.forecast.published': {
      const c = d['carbonGPerKwh'] as { points: BandPoint[] };
      const p = d['priceGbpPerMwh'] as { points: BandPoint[] };
      // The plan's objective is linear in price and carbon, so it plans on the expected value
      // from the bands, not the median: price spikes make the upper tail the longer one.
      s.forecast = { forecastId: d['forecastId'] as string, eventId: e.id, startMs: ms(d['startsAt'] as string), carbon: expectedFromBands(c.points), price: expectedFromBands(p.points) };
      return s;
    }
    case 'grid.signal.observed': {
      const t = ms(d['periodStart'] as string);
      s.actuals.set(t, { carbon: d['carbonActualGPerKwh'] as number | null, price: (d['marketIndexPriceGbpPerMwh'] as number | null) ?? (d['imbalancePriceGbpPerMwh'] as number | null) });
      // Keep a week: enough for metering and for the same-time-yesterday fallback.
      for (const k of s.actuals.keys()) if (k < t - 8 * DAY_MS) s.actuals.delete(k);
      return s;
    }
    case 'flex.order.confirmed': {
      const kw = d['kw'] as number;
      const baselineKw = d['baselineKw'] as number;
      const shortfallGbpPerMwh = Math.max(0, (d['priceGbpPerMwh'] as number) + (d['penaltyGbpPerMwh'] as number));
      s.caps.set(d['orderId'] as string, { orderId: d['orderId'] as string, startMs: ms(d['windowStart'] as string), endMs: ms(d['windowEnd'] as string), kw, baselineKw, capKw: Math.max(0, baselineKw - kw), shortfallGbpPerMwh });
      return s;
    }
    case 'flex.order.updated': {
      const c = s.caps.get(d['orderId'] as string);
      if (c) s.caps.set(c.orderId, { ...c, kw: d['kw'] as number, capKw: Math.max(0, c.baselineKw - (d['kw'] as number)) });
      return s;
    }
    case 'flex.order.cancelled':
      s.caps.delete(d['orderId'] as string);
      return s;
    case 'onsite.energy.offered':
    case 'onsite.battery.state.reported':
      foldOnsiteFact(s.onsiteOffers, s.onsiteBatteries, e);
      return s;
    default:
      return s;
  }
}
