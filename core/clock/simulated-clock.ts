import type { Clock } from './clock.ts';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. Timers fire in time order, and timers due at the
 * same instant fire in the order they were registered, so a simulation is reproducible.
 */
export class SimulatedClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs: number) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimer(atMs: number, fn: () => void): () => void {
    const timer: Timer = { at: Math.max(atMs, this.t), seq: this.seq++, fn, cancelled: false };
    // Insert keeping (at, seq) order; timers are few, and appends at the end are the common case.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** The time of the next pending timer, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    this.prune();
    return this.timers[0]?.at;
  }

  pending(): number {
    this.prune();
    return this.timers.length;
  }

  /**
   * Move to the next timer's time and fire every timer due then (including ones the fired
   * callbacks register for the same instant). Returns false when no timer is pending.
   */
  advanceToNextTimer(): boolean {
    const at = this.nextTimerAt();
    if (at === undefined) return false;
    this.t = at;
    this.fireDue();
    return true;
  }

  /**
   * Move to `atMs`, firing every timer due on the way, in order. With `fireAtTarget: false`
   * timers due exactly at `atMs` stay pending, so something can happen at that instant first.
   */
  advanceTo(atMs: number, opts: { fireAtTarget?: boolean } = {}): void {
    if (atMs < this.t) throw new RangeError(`cannot move the clock back from ${this.t} to ${atMs}`);
    const fireAt = opts.fireAtTarget ?? true;
    for (;;) {
      const at = this.nextTimerAt();
      if (at === undefined || at > atMs || (!fireAt && at === atMs)) break;
      this.t = at;
      this.fireDue();
    }
    this.t = atMs;
  }

  private fireDue(): void {
    for (;;) {
      this.prune();
      const head = this.timers[0];
      if (!head || head.at > this.t) return;
      this.timers.shift();
      head.fn();
    }
  }

  private prune(): void {
    while (this.timers.length && this.timers[0]!.cancelled) this.timers.shift();
    if (this.timers.some((t) => t.cancelled)) this.timers = this.timers.filter((t) => !t.cancelled);
  }
}
