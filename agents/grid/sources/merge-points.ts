import { emptyPoint, type SignalPoint } from './signal-source.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Collects per-signal values into one point per half-hour, sorted. Pure. */
export class PointMerger {
  private readonly byStart = new Map<number, Mutable<SignalPoint>>();

  set(fromMs: number, field: Exclude<keyof SignalPoint, 'fromMs'>, value: number | null): void {
    if (value === null) return;
    let p = this.byStart.get(fromMs);
    if (!p) this.byStart.set(fromMs, (p = emptyPoint(fromMs)));
    p[field] = value;
  }

  points(): SignalPoint[] {
    return [...this.byStart.values()].sort((a, b) => a.fromMs - b.fromMs);
  }
}
