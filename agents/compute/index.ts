export { createComputeAgent, type ComputeAgentDeps, type RuntimePrediction } from './compute-agent.ts';
export { initialComputeState, makeEvolve, type ComputeState, type JobRecord } from './state.ts';
export { flexWindows, DEFAULT_FLEX_WINDOWS, type FlexWindow, type FlexWindowOptions } from './flex-windows.ts';
