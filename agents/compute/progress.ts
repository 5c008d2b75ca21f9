/** Work left below this (minutes) counts as done: kW are rounded on the ledger, so sums drift by a hair. */
export const DONE_EPS_MIN = 0.05;

/** Whether a job of `runtimeMin` with `doneMin` behind it has finished. */
export const isDone = (doneMin: number, runtimeMin: number): boolean => doneMin >= runtimeMin - DONE_EPS_MIN;
