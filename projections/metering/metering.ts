import { Schema } from 'effect';
import { HALF_HOUR_MS, halfHourFloor, periodsInDay, settlementPeriodOf, settlementPeriodStartUtc, DAY_MS } from '../../core/time/index.ts';
import { Finite, IsoUtc, NonEmpty, SiteMetered } from '../../schemas/index.ts';
import { readAs } from '../decode.ts';
import { evolverOf, projection } from '../kit.ts';

/**
 * Site import per settlement period, folded from meter reads. A read covers any interval; the
 * part in each half-hour counts towards that half-hour, pro rata. Reads of a meter for the same
 * interval replace each other (a correction, or the same event delivered twice), so replays and
 * at-least-once delivery do not double-count.
 */

/**
 * What the fold reads of a `site.meter.read`. The registered v1 event (schemas/compute.ts) is
 * one half-hour of the whole site: `{ periodStart, importKwh, … }`. Reads of any interval from
 * several meters are accepted too, ahead of a registered version for them:
 * `{ meterId, intervalStart, intervalEnd, importKwh }`. Import may be negative (the site exporting).
 */
export const MeterRead = Schema.Union([
  Schema.Struct({ meterId: NonEmpty, intervalStart: IsoUtc, intervalEnd: IsoUtc, importKwh: Finite }),
  Schema.Struct({ periodStart: IsoUtc, importKwh: Finite, meterId: Schema.optional(NonEmpty) }),
]);
export type MeterReadData = Schema.Schema.Type<typeof MeterRead>;

/** The meter id given to v1 reads, which name none. */
export const SITE_METER = 'site';

interface ReadShare {
  readonly meterId: string;
  readonly kwh: number;
  readonly coveredMs: number;
}

interface PeriodAcc {
  readonly startMs: number;
  /** By read key `meter|start|end`. */
  readonly reads: ReadonlyMap<string, ReadShare>;
}

export interface MeteringState {
  /**
   * Each meter seen, with the start of its earliest read (ms): a half-hour is complete when
   * every meter reporting by its end covers it. Counting every meter ever seen, the first read
   * of a new meter made every half-hour before it partial, and the orders settled on them
   * "waiting for the meter" at £0, never to be fulfilled (a helper's review).
   */
  readonly meters: ReadonlyMap<string, number>;
  /**
   * Half-hours that have reads, by UTC day number and then by UTC start. Two levels so that
   * folding one read copies one day's map and the list of days, not every half-hour ever read.
   */
  readonly days: ReadonlyMap<number, ReadonlyMap<number, PeriodAcc>>;
  /** The latest reads refused, with why (they change nothing else). */
  readonly rejected: ReadonlyArray<{ readonly data: unknown; readonly reason: string }>;
}

export const initialMeteringState: MeteringState = { meters: new Map(), days: new Map(), rejected: [] };

/** How many refused reads are kept for inspection. */
export const MAX_REJECTED_KEPT = 100;

const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);

function reject(state: MeteringState, data: unknown, reason: string): MeteringState {
  return { ...state, rejected: [...state.rejected.slice(-(MAX_REJECTED_KEPT - 1)), { data, reason }] };
}

function periodAcc(state: MeteringState, p: number): PeriodAcc | undefined {
  return state.days.get(dayOf(p))?.get(p);
}

/**
 * Reads are decoded, not only typed: outside meters' interval reads are not a registered
 * version of the event yet, and a refused read is kept with why, not folded.
 */
export const meteringProjection = projection({
  name: 'metering',
  handles: [SiteMetered],
  initial: initialMeteringState,
  evolve(state: MeteringState, event): MeteringState {
    const read = readAs(MeterRead, event.data);
    if (!read.ok) return reject(state, event.data, read.reason);
    const d = read.value;
    const whole = 'periodStart' in d;
    const meterId = whole ? (d.meterId ?? SITE_METER) : d.meterId;
    const startMs = Date.parse(whole ? d.periodStart : d.intervalStart);
    const endMs = whole ? startMs + HALF_HOUR_MS : Date.parse(d.intervalEnd);
    if (Number.isNaN(startMs) || Number.isNaN(endMs) || endMs <= startMs) return reject(state, d, 'needs periodStart, or intervalStart and intervalEnd, as ISO times (end after start)');
    const importKwh = d.importKwh;

    const key = `${meterId}|${startMs}|${endMs}`;
    const days = new Map(state.days);
    const touched = new Map<number, Map<number, PeriodAcc>>();
    const length = endMs - startMs;
    for (let p = halfHourFloor(startMs); p < endMs; p += HALF_HOUR_MS) {
      const overlap = Math.min(endMs, p + HALF_HOUR_MS) - Math.max(startMs, p);
      if (overlap <= 0) continue;
      const day = dayOf(p);
      let periods = touched.get(day);
      if (!periods) {
        periods = new Map(state.days.get(day));
        touched.set(day, periods);
        days.set(day, periods);
      }
      const reads = new Map(periods.get(p)?.reads);
      reads.set(key, { meterId, kwh: (importKwh * overlap) / length, coveredMs: overlap });
      periods.set(p, { startMs: p, reads });
    }
    const first = state.meters.get(meterId);
    const meters = first !== undefined && first <= startMs ? state.meters : new Map(state.meters).set(meterId, startMs);
    return { ...state, meters, days };
  },
});

/** Fold one event; events of other types leave the state as it is. */
export const evolveMetering = evolverOf(meteringProjection);

export type MeterStatus = 'complete' | 'partial' | 'missing' | 'overlapping-reads';

/** Site import in one settlement period. `meteredKw` is the period average, only when complete. */
export interface PeriodImport {
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  readonly startUtc: string;
  readonly endUtc: string;
  readonly importKwh: number;
  /** Share of the half-hour covered by reads, per meter, worst meter first (0..1). */
  readonly coverage: number;
  readonly meteredKw: number | null;
  readonly status: MeterStatus;
}

const EPS_MS = 1;

export function periodImportAt(state: MeteringState, periodStartMs: number): PeriodImport {
  const { settlementDate, settlementPeriod } = settlementPeriodOf(periodStartMs);
  const acc = periodAcc(state, periodStartMs);
  const base = { settlementDate, settlementPeriod, startUtc: iso(periodStartMs), endUtc: iso(periodStartMs + HALF_HOUR_MS) };
  if (!acc || acc.reads.size === 0 || state.meters.size === 0) return { ...base, importKwh: 0, coverage: 0, meteredKw: null, status: 'missing' };
  const covered = new Map<string, number>();
  let kwh = 0;
  for (const r of acc.reads.values()) {
    kwh += r.kwh;
    covered.set(r.meterId, (covered.get(r.meterId) ?? 0) + r.coveredMs);
  }
  let worst = Infinity;
  let overlapping = false;
  for (const [m, firstMs] of state.meters) {
    // A meter whose reads begin after this half-hour was not there to read it.
    if (firstMs >= periodStartMs + HALF_HOUR_MS) continue;
    const c = covered.get(m) ?? 0;
    if (c > HALF_HOUR_MS + EPS_MS) overlapping = true;
    worst = Math.min(worst, c);
  }
  const coverage = Math.min(1, worst / HALF_HOUR_MS);
  const status: MeterStatus = overlapping ? 'overlapping-reads' : worst >= HALF_HOUR_MS - EPS_MS ? 'complete' : 'partial';
  return { ...base, importKwh: kwh, coverage, meteredKw: status === 'complete' ? kwh / 0.5 : null, status };
}

/**
 * Whether the meters have read at least `n` half-hours after the one starting at `periodStartMs`
 * (any read in each counts): how far the meters have got past it, counted in half-hours read
 * rather than by the latest time read, so that one read dated far ahead does not move it.
 */
export function halfHoursReadAfter(state: MeteringState, periodStartMs: number, n: number): boolean {
  const from = dayOf(periodStartMs);
  let count = 0;
  for (const [day, periods] of state.days) {
    if (day < from) continue;
    for (const [p, acc] of periods) if (p > periodStartMs && acc.reads.size > 0 && ++count >= n) return true;
  }
  return false;
}

export function periodImport(state: MeteringState, settlementDate: string, settlementPeriod: number): PeriodImport {
  return periodImportAt(state, settlementPeriodStartUtc(settlementDate, settlementPeriod));
}

/** Every settlement period of a UK day (46, 48 or 50), with or without reads. */
export function dayImport(state: MeteringState, settlementDate: string): PeriodImport[] {
  const n = periodsInDay(settlementDate);
  return Array.from({ length: n }, (_, i) => periodImport(state, settlementDate, i + 1));
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
