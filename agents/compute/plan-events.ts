import type { DataOf } from '../../schemas/index.ts';
import { FlexibilityAvailable, JobPlanned, MAX_UNPLACED_LISTED, PlanPublished } from '../../schemas/index.ts';
import { eventOf, type EventToAppend } from '../../core/runtime/index.ts';
import type { JobPlan, PlanResult } from './planner/index.ts';
import type { FlexCaps } from './flex-caps.ts';
import type { FlexWindow } from './flex-windows.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';
import { iso, round } from './ledger-format.ts';
import type { ComputeState, JobRecord } from './state.ts';
import type { ComputeOut } from './messages.ts';
import type { SiteConfig } from './jobs/index.ts';

/** What the site does in one half-hour: IT kW per job, and the battery. */
export type Dispatched = Omit<DataOf<typeof PlanPublished>['dispatch'], 'slotStart'>;

/**
 * The plan's first half-hour, to dispatch now. `powerKwOf` gives each job's own kW: a job run
 * at full power is dispatched at exactly that, whatever its decimals. Rounded to the ledger's
 * 1 W, a 1.4 W job was dispatched at 1 W and did 21 of its 30 minutes each half-hour: accepted
 * as able to finish, it missed its deadline on an empty site; a 1.6 W one was dispatched (and
 * metered) at 2 W, above its own power (a helper's review).
 */
export function firstHalfHour(result: PlanResult, powerKwOf: (jobId: string) => number | undefined = () => undefined, site?: Pick<SiteConfig, 'itCapacityKw' | 'importCapKw' | 'pue'>): Dispatched {
  const slot0 = result.slots[0];
  const dispatchedKw = (power: number | undefined, kw: number): number => {
    if (power !== undefined && kw >= power - 0.0005) return power;
    // At least the ledger's least kW: a tiny job's piece (1 W for ten minutes) rounded to 0
    // would be metered at nothing, half-hour after half-hour, and never finish.
    const rounded = Math.max(0.001, round(kw, 3));
    return power !== undefined ? Math.min(rounded, power) : rounded;
  };
  const planned = result.jobs
    .filter((j) => j.runs[0]?.slot === 0 && j.runs[0].kw > 1e-6)
    .map((j) => {
      const power = powerKwOf(j.jobId);
      const kw = dispatchedKw(power, j.runs[0]!.kw);
      return { jobId: j.jobId, kw, plannedKw: j.runs[0]!.kw, full: kw === power };
    })
    .sort((a, b) => (a.jobId < b.jobId ? -1 : 1));
  // Net: a battery charges or discharges in a half-hour, not both. The plan may do both where a
  // price below about -£95/MWh makes burning energy in round-trip losses pay (the site cannot
  // export); no battery controller can, and the meter booked both (a helper's review).
  const net = (slot0?.chargeKw ?? 0) - (slot0?.dischargeKw ?? 0);
  let chargeKw = round(Math.max(0, net), 3);
  const dischargeKw = round(Math.max(0, -net), 3);
  if (site !== undefined) {
    // Each run rounded up by up to 0.5 W took the sum past the plan's: the default week's
    // ledger metered 10,000.002 kW of IT on a 10,000 kW site and 14,000.002 kW of import on a
    // 14,000 kW connection (a helper's review). The plan kept to both; the dispatch does now.
    // (Not to the slot's cap: under a reduction sold it is soft, and the plan may pay to pass it.)
    trimRuns(planned, sumKw(planned) - site.itCapacityKw);
    const overImport = sumKw(planned) * site.pue + chargeKw - dischargeKw - site.importCapKw;
    if (overImport > LIMIT_TOLERANCE_KW) {
      const fromCharge = Math.min(chargeKw, Math.ceil(overImport * 1000 - 1e-9) / 1000);
      chargeKw = round(chargeKw - fromCharge, 3);
      trimRuns(planned, (overImport - fromCharge) / site.pue);
    }
  }
  return { runs: planned.map(({ jobId, kw }) => ({ jobId, kw })), chargeKw, dischargeKw };
}

/** Float noise in a sum of kW that is not an excess. */
const LIMIT_TOLERANCE_KW = 1e-6;

const sumKw = (runs: ReadonlyArray<{ kw: number }>): number => runs.reduce((a, r) => a + r.kw, 0);

interface DispatchRun {
  readonly jobId: string;
  kw: number;
  /** What the plan gave it, before rounding. */
  readonly plannedKw: number;
  /** At the job's own power: it may need the whole half-hour to meet its deadline. */
  readonly full: boolean;
}

/**
 * Take `excessKw` off the runs, in whole watts, none below the ledger's least kW (1 W): first
 * back to the plan's own kW (floored) from the part-power runs rounding raised, which made the
 * excess; then off the largest part-power runs; a run at its job's full power last, since it
 * may need every minute of the half-hour (a helper's review: taken from such a 2.005 kW run
 * first, the job missed its deadline by 0.075 minutes).
 */
function trimRuns(runs: DispatchRun[], excessKw: number): void {
  if (excessKw <= LIMIT_TOLERANCE_KW) return;
  let left = Math.ceil(excessKw * 1000 - 1e-6) / 1000;
  const take = (r: DispatchRun, floorKw: number) => {
    const next = Math.max(0.001, floorKw, Math.floor((r.kw - left) * 1000 + 1e-6) / 1000);
    if (next >= r.kw) return;
    left = round(left - (r.kw - next), 3);
    r.kw = next;
  };
  const byId = (a: DispatchRun, b: DispatchRun) => (a.jobId < b.jobId ? -1 : 1);
  const raised = runs.filter((r) => !r.full && r.kw > r.plannedKw).sort((a, b) => b.kw - b.plannedKw - (a.kw - a.plannedKw) || byId(a, b));
  for (const r of raised) {
    take(r, Math.floor(r.plannedKw * 1000 + 1e-6) / 1000);
    if (left <= 0) return;
  }
  for (const group of [runs.filter((r) => !r.full), runs.filter((r) => r.full)]) {
    for (const r of group.sort((a, b) => b.kw - a.kw || byId(a, b))) {
      take(r, 0);
      if (left <= 0) return;
    }
  }
}

/** What the site is doing already (a re-plan between half-hours does not change it). */
export function currentHalfHour(s: ComputeState): Dispatched {
  return { runs: [...(s.dispatch?.runs ?? [])], chargeKw: s.dispatch?.chargeKw ?? 0, dischargeKw: s.dispatch?.dischargeKw ?? 0 };
}

export interface JobPlannedContext {
  readonly t: number;
  readonly planId: string;
  readonly forecastId: string | null;
  readonly trigger: string;
  readonly orders: FlexCaps['orders'];
}

/**
 * A job's new place, or null when the plan did not move it (same start and end within a
 * half-hour; for a job running on from now, the same end) or could not place it.
 */
export function jobPlannedData(c: JobPlannedContext, r: JobRecord, jp: JobPlan, doneMin: number): DataOf<typeof JobPlanned> | null {
  if (jp.kind === 'unplaced' || jp.startMs === null) return null;
  const start = jp.startMs;
  const end = jp.endMs ?? start + (r.job.runtimeMin - doneMin) * 60_000;
  const sameEnd = r.plannedEndMs !== null && Math.abs(r.plannedEndMs - end) < SLOT_MS;
  // A job that runs on from now has not moved just because "now" has: only its end matters.
  const continuing = r.status === 'running' && start <= c.t;
  if (sameEnd && (continuing || (r.plannedStartMs !== null && Math.abs(r.plannedStartMs - start) < SLOT_MS))) return null;
  const inOrders = c.orders
    .filter((o) => jp.runs.some((x) => o.slots.has(x.slot)) || (r.plannedStartMs !== null && o.slots.has(Math.round((r.plannedStartMs - c.t) / SLOT_MS))))
    .map((o) => o.id);
  const runNow = jp.counterfactual;
  return {
    jobId: jp.jobId,
    planId: c.planId,
    forecastId: c.forecastId,
    slots: jp.runs.map((x) => ({ start: iso(c.t + x.slot * SLOT_MS), kw: round(x.kw, 1) })),
    plannedStart: iso(start),
    plannedEnd: iso(end),
    expected: { costGbp: round(jp.expectedCostGbp), carbonKg: round(jp.expectedCarbonKg) },
    runNow: { costGbp: round(runNow.costGbp), carbonKg: round(runNow.carbonKg) },
    pinned: r.pinnedStartMs !== null,
    reason: r.pinnedStartMs !== null ? 'pinned by an operator' : inOrders.length ? `${c.trigger}; import capped by flexibility sold` : c.trigger,
    flexOrderIds: inOrders,
  };
}

export interface PlanFacts {
  readonly t: number;
  readonly planId: string;
  readonly forecastId: string | null;
  readonly trigger: string;
  readonly result: PlanResult;
  /** What went wrong on the way, if anything (SitePlan.note). */
  readonly note: string;
  readonly jobCount: number;
  readonly capsKw: ReadonlyArray<number>;
  readonly dispatchSlotMs: number;
  readonly dispatch: Dispatched;
  readonly windows: ReadonlyArray<FlexWindow>;
  /** The jobs the plan found no room for (unplacedOf), when there are any. */
  readonly unplaced?: Unplaced;
}

/** The plan's two facts: the plan itself, and the flexibility it leaves to offer. */
export function planEvents(p: PlanFacts): Array<EventToAppend<ComputeOut>> {
  const { result } = p;
  return [
    eventOf(PlanPublished, {
      planId: p.planId,
      forecastId: p.forecastId,
      startsAt: iso(p.t),
      trigger: p.trigger,
      solver: { status: result.status, mode: result.solver.mode, note: [result.solver.message ?? '', p.note].filter(Boolean).join('; ') },
      jobs: p.jobCount,
      itKw: result.slots.map((x) => round(x.itKw, 1)),
      siteKw: result.slots.map((x) => round(x.siteKw, 1)),
      batteryChargeKw: result.slots.map((x) => round(x.chargeKw, 1)),
      batteryDischargeKw: result.slots.map((x) => round(x.dischargeKw, 1)),
      batterySocKwh: result.slots.map((x) => round(Math.max(0, x.socKwh), 1)),
      importCapKw: p.capsKw.slice(0, result.slots.length).map((x) => round(x, 1)),
      expected: { costGbp: round(result.totals.energyCostGbp), carbonKg: round(result.totals.carbonKg) },
      dispatch: { slotStart: iso(p.dispatchSlotMs), ...p.dispatch },
      ...(p.unplaced ? { unplaced: p.unplaced } : {}),
    }),
    eventOf(FlexibilityAvailable, {
      planId: p.planId,
      windows: p.windows.map((w) => ({ windowStart: iso(w.windowStartMs), windowEnd: iso(w.windowEndMs), kw: w.kw, marginalCostGbpPerMwh: w.marginalCostGbpPerMwh, baselineKw: w.baselineKw })),
    }),
  ];
}

/**
 * The jobs the plan found no room for, when there are any. Such a job gets no
 * `compute.job.planned` (it has no place) and keeps the place an earlier plan gave it, so
 * without this the ledger said nothing of it until its deadline was missed.
 */
export function unplacedOf(result: Pick<PlanResult, 'jobs'>): Unplaced | undefined {
  const ids = result.jobs.filter((j) => j.kind === 'unplaced').map((j) => j.jobId);
  if (ids.length === 0) return undefined;
  ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { count: ids.length, jobIds: ids.slice(0, MAX_UNPLACED_LISTED) };
}

/** How many jobs a plan could not place, and the first MAX_UNPLACED_LISTED of their ids. */
export type Unplaced = NonNullable<DataOf<typeof PlanPublished>['unplaced']>;
