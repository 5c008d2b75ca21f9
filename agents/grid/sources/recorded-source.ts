import { InvalidArgumentError } from '../../../core/errors/index.ts';
import { HALF_HOUR_MS, halfHourFloor } from '../../../core/time/index.ts';
import { SourceUnavailableError } from './errors.ts';
import { PointMerger } from './merge-points.ts';
import type { ForecastPoint, ForecastProvenance, SignalPoint, SignalSource } from './signal-source.ts';
import { HORIZON_48H_MS, knownRange } from './time-grid.ts';

/** The row shape of `loadCarbonCsv` in `data/` (structurally; the source does not read files). */
export interface RecordedCarbonRow {
  readonly fromMs: number;
  readonly forecastGPerKwh: number | null;
  readonly actualGPerKwh: number | null;
}

/** The row shape of `loadPriceCsv` in `data/`; the settlement fields are not needed here. */
export interface RecordedPriceRow {
  readonly fromMs: number;
  readonly imbalanceGbpPerMwh: number | null;
  readonly marketIndexGbpPerMwh: number | null;
}

export interface RecordedSourceOptions {
  readonly carbon?: ReadonlyArray<RecordedCarbonRow>;
  readonly prices?: ReadonlyArray<RecordedPriceRow>;
  /**
   * Current time = recorded time + `offsetMs`, a multiple of 30 min. 0 replays the data at its own
   * dates (a simulated clock set inside the recorded period); `sameTimeOfWeekOffset` gives the
   * offset that replays it "as if current".
   */
  readonly offsetMs?: number;
  /** A half-hour's values become known `lagMs` after it ends (publication delay). Default 0. */
  readonly lagMs?: number;
  /**
   * Serve the recorded forecast column as `publishedForecast`. Off by default: that column is
   * a late, short-lead revision (MAE about 10 gCO2/kWh against about 25 for the operator's live
   * 0–48 h forecast), so it knows more about the future than anyone could at `nowMs`.
   */
  readonly lateRevisionForecast?: boolean;
}

/**
 * A recorded data set behind the `SignalSource` port, replayed on whatever clock the caller
 * reads. Never returns a value for a half-hour that has not ended (plus `lagMs`) at `nowMs`.
 */
export class RecordedSignalSource implements SignalSource {
  readonly name = 'recorded';
  readonly forecastProvenance?: ForecastProvenance;
  readonly publishedForecast?: (nowMs: number) => Promise<ForecastPoint[]>;
  /** Recorded half-hours, sorted, in recorded time. */
  private readonly points: SignalPoint[];
  private readonly offsetMs: number;
  private readonly lagMs: number;

  constructor(opts: RecordedSourceOptions) {
    this.offsetMs = opts.offsetMs ?? 0;
    this.lagMs = opts.lagMs ?? 0;
    if (!Number.isInteger(this.offsetMs / HALF_HOUR_MS)) throw new InvalidArgumentError('offsetMs', `must be a multiple of 30 minutes, got ${this.offsetMs}`);
    if (!(this.lagMs >= 0)) throw new InvalidArgumentError('lagMs', `must be >= 0, got ${this.lagMs}`);
    const m = new PointMerger();
    const carbon = opts.carbon ?? [];
    const prices = opts.prices ?? [];
    checkRows('carbon', carbon);
    checkRows('prices', prices);
    for (const r of carbon) {
      m.set(r.fromMs, 'carbonActualGPerKwh', r.actualGPerKwh);
      m.set(r.fromMs, 'carbonForecastGPerKwh', r.forecastGPerKwh);
    }
    for (const r of prices) {
      m.set(r.fromMs, 'imbalancePriceGbpPerMwh', r.imbalanceGbpPerMwh);
      m.set(r.fromMs, 'marketIndexPriceGbpPerMwh', r.marketIndexGbpPerMwh);
    }
    this.points = m.points();
    if (this.points.length === 0) throw new InvalidArgumentError('carbon/prices', 'a recorded source needs at least one row with a value');
    if (opts.lateRevisionForecast) {
      this.forecastProvenance = 'late-revision';
      this.publishedForecast = (nowMs) => Promise.resolve(this.forecast(nowMs));
    }
  }

  /** First and last-plus-one half-hour of the data, in current (offset) time. */
  get coverage(): { fromMs: number; toMs: number } {
    const first = this.points[0] as SignalPoint;
    const last = this.points[this.points.length - 1] as SignalPoint;
    return { fromMs: first.fromMs + this.offsetMs, toMs: last.fromMs + HALF_HOUR_MS + this.offsetMs };
  }

  observed(fromMs: number, toMs: number, nowMs: number): Promise<SignalPoint[]> {
    const { startMs, endMs } = knownRange(fromMs - this.offsetMs, toMs - this.offsetMs, nowMs - this.offsetMs, this.lagMs);
    if (endMs <= startMs) return Promise.resolve([]);
    const out = this.slice(startMs, endMs).map((p) => ({ ...p, fromMs: p.fromMs + this.offsetMs }));
    if (out.length === 0 && !this.overlapsData(startMs, endMs)) {
      // Outside the data is not a gap in it: say so rather than return a quiet empty list.
      return Promise.reject(this.outside(startMs, endMs));
    }
    return Promise.resolve(out);
  }

  private forecast(nowMs: number): ForecastPoint[] {
    const startMs = halfHourFloor(nowMs - this.offsetMs);
    const out: ForecastPoint[] = [];
    for (const p of this.slice(startMs, startMs + HORIZON_48H_MS)) {
      if (p.carbonForecastGPerKwh !== null) out.push({ fromMs: p.fromMs + this.offsetMs, carbonForecastGPerKwh: p.carbonForecastGPerKwh });
    }
    return out;
  }

  /** Points with `fromMs` in `[a, b)`, recorded time. */
  private slice(a: number, b: number): SignalPoint[] {
    const out: SignalPoint[] = [];
    for (let i = lowerBound(this.points, a); i < this.points.length; i++) {
      const p = this.points[i] as SignalPoint;
      if (p.fromMs >= b) break;
      out.push(p);
    }
    return out;
  }

  private overlapsData(a: number, b: number): boolean {
    const first = (this.points[0] as SignalPoint).fromMs;
    const end = (this.points[this.points.length - 1] as SignalPoint).fromMs + HALF_HOUR_MS;
    return a < end && b > first;
  }

  private outside(a: number, b: number): SourceUnavailableError {
    const iso = (ms: number) => new Date(ms).toISOString();
    const c = this.coverage;
    return new SourceUnavailableError(
      'recorded',
      `recorded ${iso(c.fromMs)}..${iso(c.toMs)}`,
      `asked for ${iso(a + this.offsetMs)}..${iso(b + this.offsetMs)}, which is outside the recorded data`,
      null,
      1,
      false,
    );
  }
}

function checkRows(field: string, rows: ReadonlyArray<{ readonly fromMs: number }>): void {
  const seen = new Set<number>();
  rows.forEach((r, i) => {
    if (!Number.isFinite(r.fromMs) || r.fromMs % HALF_HOUR_MS !== 0) {
      throw new InvalidArgumentError(`${field}[${i}].fromMs`, `must be a half-hour boundary, got ${r.fromMs}`);
    }
    if (seen.has(r.fromMs)) throw new InvalidArgumentError(`${field}[${i}].fromMs`, `duplicate half-hour ${new Date(r.fromMs).toISOString()}`);
    seen.add(r.fromMs);
  });
}

function lowerBound(points: ReadonlyArray<SignalPoint>, ms: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((points[mid] as SignalPoint).fromMs < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
