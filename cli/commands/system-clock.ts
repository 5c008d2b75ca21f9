import { WallClock } from '../../core/clock/index.ts';

/** The CLI's clock for stamping what a person submits now. */
export const SystemClock = new WallClock();
