/**
 * Baseline policies, with the same input and output as the planner, and the harness that
 * runs any policy on a simulated clock.
 */
import { plan, type PlanOptions } from '../../agents/compute/planner/index.ts';
import { rulePlanner } from './dispatch.ts';
import type { Policy } from './harness.ts';
import { bestWindow, lowestK, runOnArrival, thresholdRule } from './rules.ts';

export { simulate, type MissedJob, type Policy, type SimConfig, type SimResult } from './harness.ts';
export { ruleSchedule, rulePlanner, type Rule } from './dispatch.ts';
export { runOnArrival, thresholdRule, bestWindow, lowestK } from './rules.ts';

export const runOnArrivalPolicy = (): Policy => ({ name: 'run-on-arrival', sees: 'forecast', plan: rulePlanner(runOnArrival) });
export const thresholdPolicy = (xGPerKwh: number): Policy => ({ name: `threshold<${xGPerKwh}`, sees: 'forecast', plan: rulePlanner(thresholdRule(xGPerKwh)) });
export const bestWindowPolicy = (): Policy => ({ name: 'best-window (CA SDK)', sees: 'forecast', plan: rulePlanner(bestWindow) });
export const lowestKPolicy = (): Policy => ({ name: 'lowest-k (LWA)', sees: 'forecast', plan: rulePlanner(lowestK) });
/** The planner with forecasts. */
export const plannerPolicy = (options: PlanOptions = {}): Policy => ({ name: 'planner (MILP)', sees: 'forecast', plan: (input) => plan(input, options) });
/** The same MILP given the actual signals: perfect foresight of the grid (not of arrivals). */
export const oraclePolicy = (options: PlanOptions = {}): Policy => ({ name: 'oracle (MILP, actuals)', sees: 'actual', plan: (input) => plan(input, options) });
