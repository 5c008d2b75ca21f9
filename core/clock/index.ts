export type { Clock } from './clock.ts';
export { isoOf } from './clock.ts';
export { WallClock } from './wall-clock.ts';
export { SimulatedClock } from './simulated-clock.ts';
