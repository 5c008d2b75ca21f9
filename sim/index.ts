/** The simulation's public face: run a week (or any span) of the site on recorded data, and its results. */
export { cacoTotals, flexSummary, type PolicyTotals } from './results.ts';
export { runSimulation } from './simulation.ts';
export { checkSimulatedPeriod, isoDayOrTime, loadCarbonFile, loadPriceFile, loadSignalFiles, type SignalFiles } from './inputs.ts';
