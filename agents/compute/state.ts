import type { DataOf } from '../../schemas/index.ts';
import type { PlanPublished, SiteMetered } from '../../schemas/index.ts';
import type { Job } from './jobs/index.ts';
import type { Principal } from '../../core/identity/index.ts';
import type { OnsiteBattery, OnsiteOffer } from './onsite-offers.ts';

/**
 * The compute agent's state: every job and how far it has got, what the site is doing this
 * half-hour, the battery, the latest forecast, the realised signals and the import caps of
 * flexibility sold. Built only by `evolve`, from the agent's own events and the facts it
 * observes, so a restart rebuilds it exactly.
 *
 * One state style, rebuilt: `initialState()` makes a new state for every rebuild and `evolve`
 * (evolve.ts) updates it in place and returns it. With thousands of jobs a copy per event would
 * make a week's replay quadratic, and the runtime keeps only the latest state, so nothing else
 * ever holds an older one. Deciders only read it.
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
  /** Pins and releases recorded on its stream (held to maxOverridesPerJob, decide/overrides.ts). */
  overrides: number;
  /** When the last of them was recorded (the event's time), or null: an override sent before it is refused (decide/overrides.ts). */
  lastOverrideMs: number | null;
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
  readonly runs: DataOf<typeof PlanPublished>['dispatch']['runs'];
  readonly chargeKw: number;
  readonly dischargeKw: number;
  readonly planId: string;
}

/**
 * How long a finished job's record is kept after it ends: past the 8 days of arrivals the
 * offers read (expected-arrivals.ts), with a day to spare. A record is ~400 bytes and a site
 * runs ~1,600 jobs a week, so kept for good they grew the agent's memory, and a restart's
 * rebuild, by ~35 MB a year; a retired job leaves only its id (see `retired`).
 */
export const RETIRE_DONE_AFTER_MS = 9 * 24 * 3_600_000;

export interface ComputeState {
  /** Every job not yet retired: those open and those done within RETIRE_DONE_AFTER_MS. */
  readonly jobs: Map<string, JobRecord>;
  /** Jobs not yet done, for quick iteration. */
  readonly active: Set<string>;
  /** Jobs done and still in `jobs`, by id, with when they ended, in the order they ended. */
  readonly done: Map<string, number>;
  /**
   * Ids of jobs retired from `jobs`: such an id is still taken (its stream exists, so a new
   * job under it could never be stored) and a pin or release of it is told the job has finished.
   */
  readonly retired: Set<string>;
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
  lastMeterJobs: DataOf<typeof SiteMetered>['jobs'];
  planCount: number;
  /** Metered site import (kW) by half-hour start, for a week: the history a baseline leans on. */
  readonly importKwBySlot: Map<number, number>;
  /**
   * Energy outside on-site assets offer (the latest offer per operator and asset, at most so
   * many live per operator: offerVerdict in onsite-offers.ts), and their battery states.
   */
  readonly onsiteOffers: Map<string, OnsiteOffer>;
  readonly onsiteBatteries: Map<string, OnsiteBattery>;
}

export function initialComputeState(initialSocKwh: number): ComputeState {
  return {
    jobs: new Map(),
    active: new Set(),
    done: new Map(),
    retired: new Set(),
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

/**
 * Drop the records of jobs that ended before `cutoffMs`, keeping their ids in `retired`. Done
 * jobs are visited in the order they ended, so this stops at the first one still recent; one
 * that ended out of order waits for the next call. In place, as evolve is (see above).
 */
export function retireDoneBefore(s: ComputeState, cutoffMs: number): void {
  for (const [id, endMs] of s.done) {
    if (endMs >= cutoffMs) break;
    s.done.delete(id);
    s.jobs.delete(id);
    s.retired.add(id);
  }
}
