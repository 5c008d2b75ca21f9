import type { Clock } from './clock.ts';

/** The real time of the machine; timers are ordinary `setTimeout`s. */
export class WallClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimer(atMs: number, fn: () => void): () => void {
    // setTimeout caps at ~24.8 days; re-arm for longer waits.
    const MAX = 2 ** 31 - 1;
    let handle: NodeJS.Timeout;
    const arm = () => {
      const wait = atMs - Date.now();
      handle = setTimeout(wait > MAX ? arm : fn, Math.max(0, Math.min(wait, MAX)));
    };
    arm();
    return () => clearTimeout(handle);
  }
}
