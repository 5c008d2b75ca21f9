import type { Job, SiteConfig } from '../jobs/index.ts';
import type { WorkLimit } from './solver-core.ts';

export type { WorkLimit };

/** Half-hourly grid signals starting at `startMs`; index i covers [startMs + i·30 min, +30 min). */
export interface Signals {
  readonly startMs: number;
  readonly priceGbpPerMwh: ReadonlyArray<number>;
  readonly intensityGPerKwh: ReadonlyArray<number>;
}

/** Supply an on-site asset offers in one slot of the horizon (slot 0 = the plan's first half-hour). */
export interface OnsiteTier {
  readonly slot: number;
  readonly kw: number;
  readonly priceGbpPerMwh: number;
  readonly intensityGPerKwh: number;
}

/**
 * A job as the planner sees it at `nowMs`: the job plus how far it has got. A started
 * non-preemptible job must run on; a preemptible one has `doneMin` of its runtime behind it.
 */
export interface PlanJob extends Job {
  /** Set when a non-preemptible job is already running: it started then and must continue. */
  readonly startedMs?: number;
  /** An operator's pin (`compute.job.pinned`): the job starts at earliestStartMs, its only candidate start, and runs straight through. */
  readonly pinned?: boolean;
  /** Runtime already done (preemptible jobs, or a running non-preemptible one). Default 0. */
  readonly doneMin?: number;
}

export interface PlanInput {
  /** Start of the first slot; floored to the half-hour. */
  readonly nowMs: number;
  readonly site: SiteConfig;
  readonly jobs: ReadonlyArray<PlanJob>;
  /** Forecast (or, for the oracle, actual) signals covering at least the horizon. */
  readonly signals: Signals;
  readonly batterySocKwh: number;
  /** Per-slot import cap (kW): the connection limit, lower where flexibility was sold. */
  readonly importCapKw?: ReadonlyArray<number>;
  /**
   * Per-slot soft caps from flexibility sold (kW). Import above one is allowed at
   * `flexBreachGbpPerMwh` — what under-delivering costs (the order's price forgone plus its
   * penalty) — so the plan weighs a shortfall against making a job late, instead of treating
   * a sold reduction like the physical connection limit.
   */
  readonly flexCapKw?: ReadonlyArray<number>;
  readonly flexBreachGbpPerMwh?: ReadonlyArray<number>;
  /**
   * Per-slot battery kW to hold back under a sold cap (the kW sold): jobs that arrive after the
   * plan, beyond the room it keeps for them, can take the import over the cap, and only a
   * battery with the power and energy left can then still deliver. Soft: falling short of the
   * hold costs a share (FLEX_HOLD_RISK) of the slot's breach price, so the plan spends the held
   * energy to meet a cap but not on a price spread. Ignored where no breach price is given.
   */
  readonly flexHoldKw?: ReadonlyArray<number>;
  /**
   * Energy on-site assets of outside operators offer (onsite.energy.offered): in each slot the
   * first `kw` of site load may be supplied at the tier's price and carbon instead of the grid's.
   */
  readonly onsite?: ReadonlyArray<OnsiteTier>;
  /**
   * Half-hours in a flexibility offer window (default 2: an hour), windows aligned to their
   * length as the coordination agent offers them. The flexibility a plan reports for a slot is
   * what can leave the slot's window, all of the window's moves sharing the room they go to.
   */
  readonly flexWindowSlots?: number;
  /** Optional hard cap on the plan's average carbon intensity of imports (gCO2/kWh). */
  readonly carbonCapGPerKwh?: number;
  /** The last plan, for a warm start. */
  readonly previous?: PlanResult;
}

export interface PlanOptions {
  /** Slots in the horizon at least; 96 = 48 h. */
  readonly horizonSlots?: number;
  /**
   * The horizon grows to cover the latest deadline among the jobs, up to this many slots
   * (default 336 = 7 days), as far as the signals reach (a forecast extended by a long-range
   * estimate, see long-range.ts). Signals of only `horizonSlots` keep the horizon at that.
   */
  readonly maxHorizonSlots?: number;
  /** HiGHS wall-clock limit per solve (seconds). Not used when `deterministic` (see safetyTimeLimitS). */
  readonly timeLimitS?: number;
  /**
   * Deterministic limits on the solver's work (branch-and-bound nodes, simplex iterations):
   * unlike a wall-clock limit, one that is hit gives the same plan on a fast or slow machine.
   */
  readonly workLimit?: WorkLimit;
  /**
   * Plans that depend only on the input, never on machine speed or load (the simulation's
   * ledger must be the same for the same seed anywhere): the work limit bounds the solve (see
   * DETERMINISTIC_WORK_LIMIT when none is given), the wall-clock limit is only the far-away
   * `safetyTimeLimitS`, and decomposition never splits its budget by elapsed time.
   */
  readonly deterministic?: boolean;
  /** With `deterministic`, the wall-clock limit for the whole plan: a safety net, not a budget (default 120 s). */
  readonly safetyTimeLimitS?: number;
  /** HiGHS relative MIP gap at which to stop. */
  readonly mipRelGap?: number;
  /**
   * 'full' re-optimises every job; 'incremental' keeps the previous plan's still-valid starts
   * and optimises new jobs, preemptible work and the battery around them; 'auto' does an
   * incremental re-plan unless a full one is due (see fullEveryMs) or the previous plan is unusable.
   */
  readonly mode?: 'auto' | 'full' | 'incremental' | 'greedy';
  /** In 'auto' mode, a full re-plan at least this often (default 6 h). */
  readonly fullEveryMs?: number;
  /** Solve in a worker thread (default) or in-process (blocks the event loop; tests, tools). */
  readonly inWorker?: boolean;
  /** Above this many integer columns a full plan is decomposed into windows (default 60,000). */
  readonly decomposeAboveColumns?: number;
  /**
   * Share of IT capacity that non-preemptible jobs with ≥ 2 h of slack may not be planned into,
   * kept for tight jobs still to arrive (default 0.15). Preemptible work may use it.
   */
  readonly reserveFraction?: number;
  /** Target state of charge at the horizon's end, as a fraction (default 0.5; never above start). */
  readonly terminalSocFraction?: number;
}

export type PlanStatus =
  /** Solved to the requested gap. */
  | 'optimal'
  /** The time limit stopped HiGHS; its best incumbent is used. */
  | 'time-limit-incumbent'
  /** The time limit stopped HiGHS with no incumbent, or the worker did not answer: greedy plan. */
  | 'time-limit-greedy'
  /** The solver failed or its plan did not validate: greedy plan, see solver.message. */
  | 'error-greedy'
  /** A work limit (nodes, iterations) stopped HiGHS; its best incumbent is used. */
  | 'work-limit-incumbent'
  /** A work limit stopped HiGHS with no incumbent: greedy plan. */
  | 'work-limit-greedy'
  /** Greedy by request. */
  | 'greedy';

export interface SolveInfo {
  readonly mode: 'full' | 'incremental' | 'decomposed' | 'greedy';
  readonly modelStatus: string;
  readonly objectiveGbp: number | null;
  /** Best proven lower bound on the objective (the LP bound when the root relaxation is solved). */
  readonly boundGbp: number | null;
  readonly gap: number | null;
  readonly buildMs: number;
  readonly solveMs: number;
  readonly totalMs: number;
  readonly columns: number;
  readonly integerColumns: number;
  readonly rows: number;
  readonly groups: number;
  /** Work done by HiGHS (deterministic counters, unlike the times above). */
  readonly mipNodes: number;
  readonly lpIterations: number;
  /** What the polish of a plan under flexibility sold took off the MIP's objective, £ (absent: not polished or no better). */
  readonly polishedGbp?: number;
  readonly message?: string;
}

export interface SlotRun {
  readonly slot: number;
  /** Average IT kW in the slot. */
  readonly kw: number;
}

export interface JobPlan {
  readonly jobId: string;
  /** scheduled: runs in this horizon; deferred: waits beyond it (deadline allows); unplaced: no room, will miss. */
  readonly kind: 'scheduled' | 'deferred' | 'unplaced';
  readonly preemptible: boolean;
  /** Start of the first run slot (ms), when scheduled. */
  readonly startMs: number | null;
  /** End of the last run (ms), when it completes in the horizon. */
  readonly endMs: number | null;
  readonly runs: ReadonlyArray<SlotRun>;
  /** kWh left for after the horizon (deferred preemptible work). */
  readonly deferredKwh: number;
  /** Hours past the deadline the plan finishes (0 when on time). */
  readonly latenessH: number;
  readonly expectedCostGbp: number;
  readonly expectedCarbonKg: number;
  /** Running at arrival instead (the earliest slot, contiguous, at full power). */
  readonly counterfactual: { readonly startMs: number; readonly costGbp: number; readonly carbonKg: number };
}

export interface SlotPlan {
  readonly startMs: number;
  readonly itKw: number;
  readonly siteKw: number;
  readonly chargeKw: number;
  readonly dischargeKw: number;
  /** State of charge at the end of the slot. */
  readonly socKwh: number;
  readonly importCapKw: number;
  readonly priceGbpPerMwh: number;
  readonly intensityGPerKwh: number;
  readonly costGbp: number;
  readonly carbonKg: number;
}

/** What this slot could give up if asked: kW that can be shed or shifted, and what it costs. */
export interface FlexibilitySlot {
  readonly startMs: number;
  readonly sheddableKw: number;
  /** Marginal cost of shedding, £/MWh of reduction (the weighted cost of the cheapest moves). */
  readonly marginalCostGbpPerMwh: number;
  /** Of which: deferrable job load and battery headroom. */
  readonly fromJobsKw: number;
  readonly fromBatteryKw: number;
  /**
   * Battery kW the plan holds in this slot for flexibility already sold (`PlanInput.flexHoldKw`
   * as the plan took it). Neither its power nor its energy is in `fromBatteryKw`: a kWh promised
   * to one buyer is not offered to the next.
   */
  readonly heldKw: number;
}

export interface PlanResult {
  readonly status: PlanStatus;
  readonly nowMs: number;
  readonly slotMs: number;
  readonly horizonSlots: number;
  readonly jobs: ReadonlyArray<JobPlan>;
  readonly slots: ReadonlyArray<SlotPlan>;
  readonly flexibility: ReadonlyArray<FlexibilitySlot>;
  readonly totals: {
    readonly energyCostGbp: number;
    readonly carbonKg: number;
    readonly carbonCostGbp: number;
    readonly latenessPenaltyGbp: number;
    readonly siteEnergyKwh: number;
    readonly peakSiteKw: number;
    readonly lateJobs: number;
    readonly unplacedJobs: number;
  };
  readonly solver: SolveInfo;
  /** Time of the last full (not incremental) optimisation, carried so 'auto' knows when one is due. */
  readonly lastFullMs: number;
}
