/**
 * The planner's public face. `plan(input, options)` → Promise<PlanResult>; `validatePlan`
 * checks any plan independently before anything acts on it. Pure apart from the solver worker.
 */
export type {
  Signals,
  PlanJob,
  OnsiteTier,
  PlanInput,
  PlanOptions,
  PlanStatus,
  PlanResult,
  JobPlan,
  SlotPlan,
  SlotRun,
  FlexibilitySlot,
  SolveInfo,
  WorkLimit,
} from './types.ts';
export { plan, horizonLength, DEFAULT_PLAN_OPTIONS, DETERMINISTIC_WORK_LIMIT, statusOf } from './plan.ts';
export { validatePlan, type PlanProblem, type ValidatePlanOptions } from './validate-plan.ts';
export { SolverWorker, SolverTimeoutError, solvePlanInWorker, sharedSolverWorker } from './worker-client.ts';
export { solveLpText, solveSparse, type SolveRequest, type SolveResponse, type LpTextResponse } from './solver-core.ts';
export { DEFAULT_FLEX_WINDOW_SLOTS, SLOT_MS, floorSlot, makeHorizon, toItem, type Horizon, type Item } from './horizon.ts';
export { greedySchedule } from './greedy.ts';
export { evaluate, counterfactual } from './evaluate.ts';
export { formulate } from './formulation.ts';
export { toLpText, type SparseModel } from './model-builder.ts';
export type { Schedule, JobSchedule } from './schedule.ts';
export { expectedFromBand, expectedFromBands, type BandPoint } from './bands.ts';
export { seasonalProfile, extendBands, quantileWeightedCost, NEUTRAL_WEIGHTS, type History, type LongRangeOptions, type QuantileWeights } from './long-range.ts';
export { fits } from './greedy.ts';
export { scheduleNotStarted, scheduleRuns, scheduleStart } from './schedule.ts';
export { SLOT_H } from './horizon.ts';
