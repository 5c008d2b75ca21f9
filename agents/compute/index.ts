export { createComputeAgent, type ComputeAgent, type ComputeAgentDeps, type RuntimePrediction } from './compute-agent.ts';
export { RuntimeFeaturesError } from './decide/deps.ts';
export { DEFAULT_MAX_OVERRIDES_PER_JOB } from './decide/overrides.ts';
export { initialComputeState, type ComputeState, type JobRecord } from './state.ts';
export { makeEvolve } from './evolve.ts';
export type { ComputeCmd, ComputeIn, ComputeOut } from './messages.ts';
export { flexWindows, DEFAULT_FLEX_WINDOWS, type FlexWindow, type FlexWindowOptions } from './flex-windows.ts';
export { describeSlaCeiling, parseSlaCeiling, slaCeilingFromEnv, type SlaCeiling } from './sla-ceiling.ts';
