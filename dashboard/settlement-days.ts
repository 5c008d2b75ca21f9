import { DAY_MS, HALF_HOUR_MS, londonMidnightUtc, nextDate } from '../core/time/index.ts';
import { dayStatement, type SettlementState, type Totals } from '../projections/settlement/index.ts';

/**
 * Day statements' totals, kept between views. A day statement walks every half-hour of the day
 * (Intl-based period arithmetic) and every order for each, ~8 ms a day on the default week, and
 * the view needs one per day ever settled, rebuilt on every change. A day's statement depends
 * only on the meter reads of its half-hours, the set of meters, and the orders whose windows
 * touch it, so its totals are kept until one of those changes: the settlement state is an
 * immutable fold, and each call compares the state it is given with the last one by identity
 * (the meter set, the metering's per-day maps and then their half-hours, each order), then
 * forgets the days that a difference touches. A late meter read or a correction of a closed day's order therefore
 * recomputes that day, and only that day. The open day is recomputed whenever a read lands in it.
 */
export class SettlementDays {
  private readonly memo = new Map<string, Totals>();
  private readonly bounds = new Map<string, { readonly startMs: number; readonly endMs: number }>();
  private last: SettlementState | null = null;
  /** Statements computed (not served from the memo) since construction: what a test counts. */
  computed = 0;

  /** Most days remembered; past it the oldest dates are forgotten first (they are recomputed if asked). */
  constructor(private readonly maxDays = 4096) {}

  /** The totals of each date's day statement, in the order asked. */
  totals(state: SettlementState, dates: ReadonlyArray<string>): Totals[] {
    this.forgetChanged(state);
    const out = dates.map((d) => {
      let t = this.memo.get(d);
      if (!t) {
        t = dayStatement(state, d).totals;
        this.computed++;
        this.memo.set(d, t);
      }
      return t;
    });
    while (this.memo.size > this.maxDays) this.memo.delete(this.oldestDate(this.memo));
    while (this.bounds.size > this.maxDays) this.bounds.delete(this.oldestDate(this.bounds));
    return out;
  }

  private oldestDate(m: ReadonlyMap<string, unknown>): string {
    let oldest: string | undefined;
    for (const k of m.keys()) if (oldest === undefined || k < oldest) oldest = k;
    return oldest!;
  }

  /** UTC [start, end) of a London settlement date. */
  private boundsOf(date: string): { readonly startMs: number; readonly endMs: number } {
    let b = this.bounds.get(date);
    if (!b) {
      b = { startMs: londonMidnightUtc(date), endMs: londonMidnightUtc(nextDate(date)) };
      this.bounds.set(date, b);
    }
    return b;
  }

  private forgetChanged(state: SettlementState): void {
    const last = this.last;
    this.last = state;
    if (last === state || this.memo.size === 0) return;
    if (!last || last.metering.meters !== state.metering.meters) {
      // Another meter changes which half-hours are complete on every day.
      this.memo.clear();
      return;
    }
    const changed: Array<readonly [number, number]> = [];
    const before = last.metering.days;
    const after = state.metering.days;
    if (before !== after) {
      for (const [day, periods] of after) {
        const was = before.get(day);
        if (was === periods) continue;
        if (!was) {
          changed.push([day * DAY_MS, (day + 1) * DAY_MS]);
          continue;
        }
        // The half-hours whose reads changed, so a late read touches its own settlement day only.
        for (const [p, acc] of periods) if (was.get(p) !== acc) changed.push([p, p + HALF_HOUR_MS]);
        for (const p of was.keys()) if (!periods.has(p)) changed.push([p, p + HALF_HOUR_MS]);
      }
      for (const day of before.keys()) if (!after.has(day)) changed.push([day * DAY_MS, (day + 1) * DAY_MS]);
    }
    if (last.orders !== state.orders) {
      const window = (o: { readonly windowStartMs: number; readonly windowEndMs: number }) => changed.push([o.windowStartMs, o.windowEndMs]);
      for (const [id, o] of state.orders) {
        const was = last.orders.get(id);
        if (was === o) continue;
        window(o);
        if (was) window(was);
      }
      for (const [id, o] of last.orders) if (!state.orders.has(id)) window(o);
    }
    if (changed.length === 0) return;
    for (const date of [...this.memo.keys()]) {
      const b = this.boundsOf(date);
      // A window that is not two times (NaN) settles nothing, so touches no day.
      if (changed.some(([s, e]) => s < b.endMs && e > b.startMs)) this.memo.delete(date);
    }
  }
}
