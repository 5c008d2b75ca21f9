import { HALF_HOUR_MS, halfHourFloor } from '../../core/time/index.ts';
import { BASELINE_LOOKBACK_SLOTS, BASELINE_NAMES, baselineForecasts } from './baselines.ts';
import {
  adaptiveLevels,
  adaptiveScales,
  conformalOffsets,
  gridCdf,
  gridQuantile,
  medianBias,
  indexOrder,
  quantileGrid,
  simplexWeights,
  weightedConformalOffsets,
  weightedQuantile,
  type ScoredForecast,
  type TrackedForecast,
} from './calibration.ts';
import { FORECAST_HORIZON, ForecastInputError, orderedBand, type Band, type SeriesForecast, type SeriesForecaster } from './forecaster.ts';
import type { HalfHourSeries } from './history.ts';

/**
 * The forecaster the grid agent publishes: the LSTM and robust baselines (same time yesterday,
 * same time last week, 7-day time-of-day profile, persistence) combined with weights fitted
 * online, an optional median bias correction (off by default: it did not pay on the tuning
 * months), and P10/P90 from split-conformal offsets (residuals weighted by recency); all are
 * fitted per lead bucket on the residuals of the last `windowDays` days that were already
 * observed when the fit is made.
 *
 * Fits are made at fixed instants (every `refitSlots` half-hours of absolute time) from the
 * history before that instant only, and cached; so the agent (one call a half-hour) and the
 * walk-forward benchmark (one call per origin) compute exactly the same forecasts.
 */

export const ENSEMBLE_MODEL_ID_PREFIX = 'caco-ensemble';
/** Bumped when the combination rules change (it is part of the published modelVersion). */
export const ENSEMBLE_VERSION = 'e1';

export interface EnsembleOptions {
  /** Days of past residuals (by target time) each fit uses. */
  readonly windowDays: number;
  /** A fit is made at every multiple of this many half-hours (UTC) and used until the next. */
  readonly refitSlots: number;
  /** Consecutive leads sharing one fit (weights, bias, band). */
  readonly leadsPerBucket: number;
  /** Fewest samples a bucket's fit needs; with fewer, the bucket falls back (see `fallback`). */
  readonly minSamples: number;
  /** Pull of the weights towards equal (see `simplexWeights`). */
  readonly shrink: number;
  /** Whether the median residual is added back (online bias correction). */
  readonly biasCorrection: boolean;
  /** Quantile levels of the band. */
  readonly lower: number;
  readonly upper: number;
  /**
   * Half-life, in days, of a residual's weight in the band (weighted conformal, see
   * `weightedConformalOffsets`): recent errors count more when the weather's regime shifts
   * inside the window. 0: every residual of the window counts the same.
   */
  readonly bandHalfLifeDays: number;
  /**
   * Days of the ensemble's own past forecasts whose outcomes recalibrate the band (0: off). Each
   * forecast issued in that window whose target has been observed is scored by where its actual
   * fell in the residual distribution it was issued with (its PIT); the band's levels are then
   * the `lower` / `upper` quantiles of those PITs, read off the current fit's distribution. A band
   * that covered too little lately widens, one that covered too much narrows (online quantile
   * recalibration: Kuleshov, Fenner & Ermon 2018; like adaptive conformal inference, Gibbs &
   * Candès 2021, it reacts to the coverage actually achieved, but from a window, so a fit stays a
   * function of the history before it).
   */
  readonly recalibrationDays: number;
  /**
   * With `recalibrationDays`: 0 reads the band's levels off the PITs' quantiles; > 0 runs
   * adaptive conformal inference (`adaptiveLevels`) over the window instead, this being its step
   * per scored forecast, from the nominal levels at the window's start.
   */
  readonly recalibrationStep: number;
  /**
   * What adaptive recalibration (`recalibrationStep` > 0) tracks: `level`, the band's quantile
   * levels (adaptive conformal inference, `adaptiveLevels`); `scale`, a multiplier on each tail's
   * offset (quantile tracking, `adaptiveScales`).
   */
  readonly recalibrationTrack: 'level' | 'scale';
  /**
   * `spread`: the band is sized per forecast by how much the members disagree at that lead
   * (normalised or locally weighted conformal, Lei et al. 2018): residuals are divided by
   * σ̂ = a + b·spread, with a and b fitted on the window (|residual| on spread, b ≥ 0), the
   * offsets are quantiles of those scores, and a new forecast's band is its σ̂ times them. When
   * the members disagree more than usual (the weather is changing) the band widens at once
   * instead of after the residual window has seen it; with b = 0 it is the plain band.
   * `none`: every forecast of a bucket gets the same offsets.
   */
  readonly bandScale: 'none' | 'spread';
}

/**
 * Chosen on February–March 2023 only (walk-forward, baselines only, `npm run bench -- forecast
 * --tune --stride 4`, bench/results/forecast-tuning.json); never tuned on a later month:
 * - a 28-day window beat 7 and 14 days on both signals (carbon 24 h ratio 0.99 vs 1.04 / 1.18);
 * - the median bias correction made 24 h errors worse (carbon 1.04 → 0.98 without it at 14 days,
 *   price 0.91 → 0.88): the bias of two weeks ago is not today's, so it is off by default;
 * - the 80 % conformal band covered 76–78 % there (the residual window lags the weather), so the
 *   band is set at the 7.5th–92.5th residual percentiles (85 % nominal) to land near 80 %;
 * - residuals in the band weighted by recency with a half-life of 3.5 days put P10–P90 coverage
 *   inside 75–85 % in both months for both signals (carbon 78.1 / 81.1 %, price 82.9 / 75.8 %),
 *   where equal weights gave price 88.2 % in February; 7 and 14 days lay between
 *   (`--tune-band --stride 4`, bench/results/forecast-tuning-band.json);
 * - recalibrating the band on its own past outcomes and sizing it by the members' spread were
 *   tried on the same months (`--tune-recalibration`, `--tune-adaptive`, `--tune-tracking`,
 *   `--tune-scale`; bench/results/forecast-tuning-*.json) and are off: PIT recalibration over 7
 *   or 14 days covered under 75 %; adaptive levels and tracked widths kept every month near 80 %
 *   but with interval scores 20–110 % worse than this band's; spread scaling changed nothing.
 */
export const DEFAULT_ENSEMBLE_OPTIONS: EnsembleOptions = { windowDays: 28, refitSlots: 6, leadsPerBucket: 4, minSamples: 96, shrink: 0, biasCorrection: false, lower: 0.075, upper: 0.925, bandHalfLifeDays: 3.5, recalibrationDays: 0, recalibrationStep: 0, recalibrationTrack: 'level', bandScale: 'none' };

/**
 * The opt-in band (`forecaster: ensemble-tracked`): P10/P90 offsets whose widths track the
 * band's own misses over the last 14 days (step 0.005: of the adaptive candidates, the best
 * interval score relative to the default band's on 2023-02..03). Monthly coverage steadier than
 * the default band's; bands ~1.5× as wide on average (README, "How good are the decisions").
 */
export const TRACKED_BAND_OPTIONS: Partial<EnsembleOptions> = { recalibrationDays: 14, recalibrationTrack: 'scale', recalibrationStep: 0.005, lower: 0.1, upper: 0.9 };

/** Half-hours of history the ensemble needs before the origin to have a full residual window (and, when recalibrating, the fits whose forecasts it scores). */
export function ensembleHistorySlots(o: Pick<EnsembleOptions, 'windowDays' | 'refitSlots'> & Partial<EnsembleOptions> = DEFAULT_ENSEMBLE_OPTIONS): number {
  return o.windowDays * 48 + FORECAST_HORIZON + o.refitSlots + BASELINE_LOOKBACK_SLOTS + recalibrationReach(o.recalibrationDays ?? 0, o.refitSlots);
}

/** Half-hours before a fit instant that its recalibration reaches back to: the scored targets' window, their origins up to 48 h before, and the fit in force at the earliest. */
function recalibrationReach(days: number, refitSlots: number): number {
  return days > 0 ? days * 48 + FORECAST_HORIZON + refitSlots : 0;
}

/** One bucket's fit: the weight of each member (`members` order; 0 for one left out), bias and band offsets. */
export interface BucketFit {
  readonly weights: ReadonlyArray<number>;
  readonly bias: number;
  readonly lo: number;
  readonly hi: number;
  readonly samples: number;
  /** With `bandScale: 'spread'`: lo and hi are multiples of σ̂ = a + b·(spread of `members`' forecasts); `typical` where fewer than two of them have one. */
  readonly scale?: BandScale;
}

export interface BandScale {
  readonly members: ReadonlyArray<number>;
  readonly a: number;
  readonly b: number;
  readonly typical: number;
}

export interface EnsembleFit {
  /** The instant the fit was made: it uses only half-hours that ended by then. */
  readonly atMs: number;
  readonly members: ReadonlyArray<string>;
  /** One per bucket of `leadsPerBucket` leads; null where there were too few samples. */
  readonly buckets: ReadonlyArray<BucketFit | null>;
}

export interface EnsembleParams {
  /** `carbon` or `price`: part of the published modelId. */
  readonly signal: string;
  /** The learned member (the LSTM); absent when its artefact did not load. */
  readonly model?: SeriesForecaster;
  /**
   * Whether the learned member may be used for a forecast issued at `originMs`. The walk-forward
   * benchmark leaves the LSTM out of months its training saw; the agent always allows it.
   */
  readonly modelAllowedAt?: (originMs: number) => boolean;
  /** A fit made earlier (`caco models retrain`), used for a bucket with too few recent samples, only when made at or before the fit instant. */
  readonly warmStart?: EnsembleFit;
  readonly options?: Partial<EnsembleOptions>;
}

/** A fit before recalibration, with each bucket's weighted residual distribution (see `quantileGrid`). */
interface BaseFit {
  readonly fit: EnsembleFit;
  readonly grids: ReadonlyArray<Float64Array | null>;
}

interface Members {
  /** `members.length` rows of FORECAST_HORIZON; NaN where a member has nothing. */
  readonly p50: Float64Array[];
  /** The learned member's own band, for the fallback. */
  readonly modelBand: ReadonlyArray<Band> | null;
}

export class EnsembleSeriesForecaster implements SeriesForecaster {
  readonly describe: string;
  readonly options: EnsembleOptions;
  readonly members: ReadonlyArray<string>;
  private readonly modelId: string;
  private readonly modelVersion: string;
  private readonly memberCache = new Map<number, { key: string; value: Members }>();
  private readonly fitCache = new Map<number, { key: string; value: BaseFit }>();
  private readonly calibratedCache = new Map<number, { key: string; value: EnsembleFit }>();

  constructor(private readonly p: EnsembleParams) {
    this.options = { ...DEFAULT_ENSEMBLE_OPTIONS, ...p.options };
    const o = this.options;
    if (!(Number.isInteger(o.windowDays) && o.windowDays >= 1)) throw new RangeError(`windowDays must be a whole number of days ≥ 1, got ${o.windowDays}`);
    if (!(Number.isInteger(o.refitSlots) && o.refitSlots >= 1)) throw new RangeError(`refitSlots must be a whole number ≥ 1, got ${o.refitSlots}`);
    if (!(Number.isInteger(o.leadsPerBucket) && o.leadsPerBucket >= 1 && FORECAST_HORIZON % o.leadsPerBucket === 0)) throw new RangeError(`leadsPerBucket must divide ${FORECAST_HORIZON}, got ${o.leadsPerBucket}`);
    this.members = [...(p.model ? ['model'] : []), ...BASELINE_NAMES];
    this.modelId = `${ENSEMBLE_MODEL_ID_PREFIX}-${p.signal}`;
    if (!(Number.isFinite(o.bandHalfLifeDays) && o.bandHalfLifeDays >= 0)) throw new RangeError(`bandHalfLifeDays must be ≥ 0 (0 = off), got ${o.bandHalfLifeDays}`);
    if (!(Number.isInteger(o.recalibrationDays) && o.recalibrationDays >= 0)) throw new RangeError(`recalibrationDays must be a whole number of days ≥ 0 (0 = off), got ${o.recalibrationDays}`);
    if (!(Number.isFinite(o.recalibrationStep) && o.recalibrationStep >= 0 && o.recalibrationStep < 1)) throw new RangeError(`recalibrationStep must be in [0, 1), got ${o.recalibrationStep}`);
    if (o.recalibrationTrack !== 'level' && o.recalibrationTrack !== 'scale') throw new RangeError(`recalibrationTrack must be level or scale, got ${String(o.recalibrationTrack)}`);
    if (o.bandScale !== 'none' && o.bandScale !== 'spread') throw new RangeError(`bandScale must be none or spread, got ${String(o.bandScale)}`);
    this.modelVersion = `${ENSEMBLE_VERSION}-w${o.windowDays}${o.bandHalfLifeDays > 0 ? `-h${o.bandHalfLifeDays}` : ''}${o.recalibrationDays > 0 ? `-r${o.recalibrationDays}${o.recalibrationStep > 0 ? `${o.recalibrationTrack === 'scale' ? 'q' : 'a'}${o.recalibrationStep}` : ''}` : ''}${o.bandScale === 'spread' ? '-s' : ''}${p.model ? `+${p.model.describe}` : '+baselines'}`;
    this.describe = `${this.modelId}@${this.modelVersion}`;
  }

  /** Half-hours of history the forecaster wants before the origin. */
  get historySlots(): number {
    return ensembleHistorySlots(this.options);
  }

  async forecast(series: HalfHourSeries, nowMs: number): Promise<SeriesForecast> {
    const t = halfHourFloor(nowMs);
    if (series.fromMs % HALF_HOUR_MS !== 0) throw new ForecastInputError(this.modelId, 'history must start on a half-hour boundary');
    const values = dense(series, t);
    const fit = await this.fitAt(values, series.fromMs, blockStart(t, this.options.refitSlots));
    const now = await this.membersAt(values, series.fromMs, t);
    return { modelId: this.modelId, modelVersion: this.modelVersion, points: combine(now, fit, this.options, this.members, this.modelId) };
  }

  /** The fit in force at `nowMs` (for the benchmark's report and `caco models retrain`). */
  async fitFor(series: HalfHourSeries, nowMs: number): Promise<EnsembleFit> {
    const t = halfHourFloor(nowMs);
    return this.fitAt(dense(series, t), series.fromMs, t);
  }

  private async membersAt(values: Float64Array, fromMs: number, originMs: number): Promise<Members> {
    const o = (originMs - fromMs) / HALF_HOUR_MS;
    const lookFrom = Math.max(0, o - BASELINE_LOOKBACK_SLOTS);
    const known = values.subarray(0, Math.max(0, o));
    const key = windowKey(values.subarray(lookFrom, Math.max(lookFrom, o)), o - lookFrom);
    const hit = this.memberCache.get(originMs);
    if (hit && hit.key === key) return hit.value;
    const p50: Float64Array[] = [];
    let modelBand: Band[] | null = null;
    if (this.p.model) {
      const row = new Float64Array(FORECAST_HORIZON).fill(Number.NaN);
      if (this.p.modelAllowedAt?.(originMs) ?? true) {
        try {
          const f = await this.p.model.forecast({ fromMs, values: Array.from(known, (v) => (Number.isFinite(v) ? v : null)) }, originMs);
          modelBand = f.points.slice(0, FORECAST_HORIZON).map((b) => ({ ...b }));
          modelBand.forEach((b, h) => (row[h] = b.p50));
        } catch (e) {
          if (!(e instanceof ForecastInputError)) throw e;
        }
      }
      p50.push(row);
    }
    p50.push(...baselineForecasts(known, FORECAST_HORIZON));
    const value = { p50, modelBand };
    this.memberCache.set(originMs, { key, value });
    return value;
  }

  /**
   * The fit in force from `atMs`: the base fit, its bands recalibrated on the outcomes of the
   * forecasts the base fits issued over the last `recalibrationDays` (when on).
   */
  private async fitAt(values: Float64Array, fromMs: number, atMs: number): Promise<EnsembleFit> {
    const opt = this.options;
    const base = await this.baseFitAt(values, fromMs, atMs);
    if (opt.recalibrationDays === 0) return base.fit;
    const at = (atMs - fromMs) / HALF_HOUR_MS;
    const reach = recalibrationReach(opt.recalibrationDays, opt.refitSlots) + opt.windowDays * 48 + FORECAST_HORIZON + BASELINE_LOOKBACK_SLOTS;
    const lookFrom = Math.max(0, at - reach);
    const key = windowKey(values.subarray(lookFrom, Math.max(lookFrom, at)), at - lookFrom);
    const hit = this.calibratedCache.get(atMs);
    if (hit && hit.key === key) return hit.value;
    // Score every forecast issued at an origin whose target (in the last recalibrationDays) has
    // been observed: its PIT under the distribution the fit in force at its origin issued.
    const span = opt.recalibrationDays * 48;
    // Tracked widths judge residuals against the offsets as issued; the other modes need PITs.
    const tracking = opt.recalibrationStep > 0 && opt.recalibrationTrack === 'scale';
    const pits: ScoredForecast[][] = base.fit.buckets.map(() => []);
    const tracked: TrackedForecast[][] = base.fit.buckets.map(() => []);
    const step = opt.refitSlots * HALF_HOUR_MS;
    const byBlock = new Map<number, BaseFit>();
    for (let o = Math.max(48, at - span - FORECAST_HORIZON + 1); o < at; o++) {
      const originMs = fromMs + o * HALF_HOUR_MS;
      const block = blockStart(originMs, opt.refitSlots);
      let issued = byBlock.get(block);
      if (!issued) byBlock.set(block, (issued = await this.baseFitAt(values, fromMs, block)));
      const members = (await this.membersAt(values, fromMs, originMs)).p50;
      for (let h = Math.max(0, at - span - o); h < FORECAST_HORIZON && o + h < at; h++) {
        const bi = Math.floor(h / opt.leadsPerBucket);
        const ib = issued.fit.buckets[bi] ?? null;
        const ig = issued.grids[bi] ?? null;
        const y = values[o + h]!;
        if (!ib || !ig || !Number.isFinite(y)) continue;
        const p50 = bucketP50(ib, members, h);
        if (!Number.isFinite(p50)) continue;
        // Known at the first fit instant after the target half-hour ended.
        const knownAt = Math.ceil((fromMs + (o + h + 1) * HALF_HOUR_MS) / step) * step;
        const residual = (y - p50) / scaleAt(ib, members, h);
        if (tracking) tracked[bi]!.push({ residual, lo: ib.lo, hi: ib.hi, issuedAt: block, knownAt });
        else pits[bi]!.push({ pit: gridCdf(ig, residual), issuedAt: block, knownAt });
      }
    }
    const instants: number[] = [];
    for (let t = blockStart(fromMs + (at - span) * HALF_HOUR_MS, opt.refitSlots); t <= atMs; t += step) instants.push(t);
    const buckets = base.fit.buckets.map((b, bi) => {
      const grid = base.grids[bi] ?? null;
      const p = pits[bi]!;
      if (!b || !grid || (tracking ? tracked[bi]! : p).length < opt.minSamples) return b ?? null;
      if (tracking) {
        const m = adaptiveScales(tracked[bi]!, instants, opt.lower, opt.upper, opt.recalibrationStep);
        return { ...b, lo: Math.min(b.lo * m.lo, 0), hi: Math.max(b.hi * m.hi, 0) };
      }
      const pitValues = p.map((x) => x.pit);
      const levels = opt.recalibrationStep > 0 ? adaptiveLevels(p, instants, opt.lower, opt.upper, opt.recalibrationStep) : { lower: weightedQuantile(pitValues, null, opt.lower), upper: weightedQuantile(pitValues, null, opt.upper) };
      const lo = gridQuantile(grid, levels.lower);
      const hi = gridQuantile(grid, levels.upper);
      // The band keeps the P50 inside it (the point forecast is not moved by the band's levels).
      return { ...b, lo: Math.min(lo, 0), hi: Math.max(hi, 0) };
    });
    const fit: EnsembleFit = { ...base.fit, buckets };
    this.calibratedCache.set(atMs, { key, value: fit });
    this.evict(atMs);
    return fit;
  }

  private evict(atMs: number): void {
    const o = this.options;
    const keep = (o.windowDays * 48 + 2 * FORECAST_HORIZON + recalibrationReach(o.recalibrationDays, o.refitSlots)) * HALF_HOUR_MS;
    for (const c of [this.fitCache, this.memberCache, this.calibratedCache]) for (const ms of c.keys()) if (ms < atMs - keep) c.delete(ms);
  }

  private async baseFitAt(values: Float64Array, fromMs: number, atMs: number): Promise<BaseFit> {
    const opt = this.options;
    const at = (atMs - fromMs) / HALF_HOUR_MS;
    const window = opt.windowDays * 48;
    const firstOrigin = at - window - FORECAST_HORIZON + 1;
    const lookFrom = Math.max(0, firstOrigin - BASELINE_LOOKBACK_SLOTS);
    const key = windowKey(values.subarray(lookFrom, Math.max(lookFrom, at)), at - lookFrom);
    const hit = this.fitCache.get(atMs);
    if (hit && hit.key === key) return hit.value;
    // Members at every origin whose forecast has a target inside the window.
    const origins: Array<Members | null> = [];
    for (let o = firstOrigin; o < at; o++) origins.push(o >= 48 ? await this.membersAt(values, fromMs, fromMs + o * HALF_HOUR_MS) : null);
    const k = this.members.length;
    const buckets: Array<BucketFit | null> = [];
    const grids: Array<Float64Array | null> = [];
    const cap = opt.leadsPerBucket * window;
    const cols = Array.from({ length: k }, () => new Float64Array(cap));
    const ys = new Float64Array(cap);
    const ages = new Float64Array(cap);
    for (let b0 = 0; b0 < FORECAST_HORIZON; b0 += opt.leadsPerBucket) {
      // Samples: (origin, lead) pairs whose target half-hour ended by atMs and lies in the window.
      let n = 0;
      for (let h = b0; h < b0 + opt.leadsPerBucket; h++) {
        for (let s = Math.max(0, at - window); s < at; s++) {
          const o = s - h;
          const m = o >= firstOrigin ? origins[o - firstOrigin] : null;
          const y = values[s]!;
          if (!m || !Number.isFinite(y)) continue;
          for (let j = 0; j < k; j++) cols[j]![n] = m.p50[j]![h]!;
          ages[n] = at - s;
          ys[n++] = y;
        }
      }
      const parts = fitBucketParts(cols.map((c) => c.subarray(0, n)), ys.subarray(0, n), opt, ages.subarray(0, n));
      buckets.push(parts?.fit ?? null);
      grids.push(parts?.grid ?? null);
    }
    const value: BaseFit = { fit: { atMs, members: this.members, buckets: this.useWarmStart(buckets, atMs) }, grids };
    this.fitCache.set(atMs, { key, value });
    // Keep the caches to what later calls can still ask for.
    this.evict(atMs);
    return value;
  }

  private useWarmStart(buckets: Array<BucketFit | null>, atMs: number): Array<BucketFit | null> {
    const w = this.p.warmStart;
    if (!w || w.atMs > atMs || w.members.join() !== this.members.join()) return buckets;
    return buckets.map((b, i) => b ?? w.buckets[i] ?? null);
  }
}

/**
 * Fit one bucket from `cols[j][i]` (member j's forecast for sample i) and the actuals `ys`:
 * members with a value in at least 80 % of the samples compete (the rest get weight 0), on the
 * samples where all of those have one. Null with fewer than `minSamples` such samples.
 */
export function fitBucket(
  cols: ReadonlyArray<ArrayLike<number>>,
  ys: ArrayLike<number>,
  opt: BucketFitOptions,
  /** Each sample's age in half-hours at the fit (for `bandHalfLifeDays`). */
  ages?: ArrayLike<number>,
): BucketFit | null {
  return fitBucketParts(cols, ys, opt, ages)?.fit ?? null;
}

type BucketFitOptions = Pick<EnsembleOptions, 'minSamples' | 'shrink' | 'lower' | 'upper'> & { readonly biasCorrection?: boolean; readonly bandHalfLifeDays?: number; readonly bandScale?: EnsembleOptions['bandScale'] };

/** `fitBucket` and the residual distribution its band was read from (weighted as the band's). */
function fitBucketParts(cols: ReadonlyArray<ArrayLike<number>>, ys: ArrayLike<number>, opt: BucketFitOptions, ages?: ArrayLike<number>): { fit: BucketFit; grid: Float64Array } | null {
  const n = ys.length;
  const k = cols.length;
  if (n < opt.minSamples) return null;
  const use: number[] = [];
  for (let j = 0; j < k; j++) {
    let c = 0;
    const col = cols[j]!;
    for (let i = 0; i < n; i++) if (Number.isFinite(col[i]!)) c++;
    if (c >= 0.8 * n) use.push(j);
  }
  if (use.length === 0) return null;
  // Plain loops, not Float64Array.from(array, fn): that takes the iterator path, and this runs
  // for every bucket of every refit (over a quarter of a simulation's time with the ensemble).
  const usedCols = use.map((j) => cols[j]!);
  const keepAll = new Int32Array(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    let all = true;
    for (let u = 0; u < usedCols.length && all; u++) all = Number.isFinite(usedCols[u]![i]!);
    if (all) keepAll[kept++] = i;
  }
  if (kept < opt.minSamples) return null;
  const keep = keepAll.subarray(0, kept);
  // Every sample kept (the usual case): the columns as given, not copies of them.
  const whole = kept === n;
  const preds: ReadonlyArray<ArrayLike<number>> = whole
    ? usedCols
    : usedCols.map((col) => {
        const p = new Float64Array(kept);
        for (let t = 0; t < kept; t++) p[t] = col[keep[t]!]!;
        return p;
      });
  let y: ArrayLike<number> = ys;
  if (!whole) {
    const picked = new Float64Array(kept);
    for (let t = 0; t < kept; t++) picked[t] = ys[keep[t]!]!;
    y = picked;
  }
  const w = simplexWeights(preds, y, { shrink: opt.shrink });
  const resid = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    let p = 0;
    for (let u = 0; u < use.length; u++) p += w[u]! * preds[u]![i]!;
    resid[i] = y[i]! - p;
  }
  const bias = opt.biasCorrection === false ? 0 : medianBias(resid);
  for (let i = 0; i < resid.length; i++) resid[i]! -= bias;
  const spreads = opt.bandScale === 'spread' && use.length >= 2 ? Float64Array.from(resid, (_, i) => stdDev(preds.map((p) => p[i]!))) : null;
  const scale = spreads ? fitScale(use, spreads, resid) : undefined;
  if (scale) for (let i = 0; i < resid.length; i++) resid[i]! /= scale.a + scale.b * spreads![i]!;
  const halfLife = (opt.bandHalfLifeDays ?? 0) * 48;
  let recency: Float64Array | null = null;
  if (halfLife > 0 && ages) {
    recency = new Float64Array(kept);
    for (let t = 0; t < kept; t++) recency[t] = recencyWeight(ages[keep[t]!]!, halfLife);
  }
  // One sort of the residuals for the band and the grid.
  const order = indexOrder(resid);
  const band = recency ? weightedConformalOffsets(resid, recency, opt.lower, opt.upper, order) : conformalOffsets(resid, opt.lower, opt.upper);
  const weights = new Array<number>(k).fill(0);
  use.forEach((j, u) => (weights[j] = w[u]!));
  return { fit: { weights, bias, lo: band.lo, hi: band.hi, samples: kept, ...(scale ? { scale } : {}) }, grid: quantileGrid(resid, recency, undefined, order) };
}

/** 0.5^(age / halfLife) for the band's residuals: whole-slot ages repeat in every bucket of every refit, so each is computed once. */
const recencyTables = new Map<number, number[]>();
function recencyWeight(age: number, halfLife: number): number {
  if (!Number.isInteger(age) || age < 0 || age > 100_000) return 0.5 ** (age / halfLife);
  let table = recencyTables.get(halfLife);
  if (!table) recencyTables.set(halfLife, (table = []));
  let w = table[age];
  if (w === undefined) table[age] = w = 0.5 ** (age / halfLife);
  return w;
}

/** Population standard deviation: the members' spread for one forecast. */
function stdDev(xs: ReadonlyArray<number>): number {
  const m = xs.reduce((a, x) => a + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length);
}

/**
 * σ̂ = a + b·spread by least squares of |residual| on the members' spread, b ≥ 0 (a spread that
 * does not predict the error gives b = 0, the plain band), a at least 2 % of the mean
 * |residual| so no forecast gets a band of zero width.
 */
function fitScale(use: ReadonlyArray<number>, spreads: ArrayLike<number>, resid: ArrayLike<number>): BandScale {
  const n = resid.length;
  let md = 0;
  let mr = 0;
  for (let i = 0; i < n; i++) {
    md += spreads[i]!;
    mr += Math.abs(resid[i]!);
  }
  md /= n;
  mr /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = spreads[i]! - md;
    sxy += dx * (Math.abs(resid[i]!) - mr);
    sxx += dx * dx;
  }
  const b = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
  const a = Math.max(mr - b * md, 0.02 * mr, 1e-9);
  return { members: use, a, b, typical: a + b * md };
}

/** A forecast's σ̂ under a bucket's scale (1 for a bucket without one). */
function scaleAt(b: BucketFit, p50: ReadonlyArray<Float64Array>, h: number): number {
  const s = b.scale;
  if (!s) return 1;
  const xs = s.members.map((j) => p50[j]![h]!).filter(Number.isFinite);
  return xs.length >= 2 ? s.a + s.b * stdDev(xs) : s.typical;
}

/** A bucket's P50 for lead `h` from the members' forecasts: the weighted mean over those that have one (renormalised), plus the bias; NaN when the fitted members hold under 20 % of the weight. */
function bucketP50(b: BucketFit, p50: ReadonlyArray<Float64Array>, h: number): number {
  let s = 0;
  let wsum = 0;
  b.weights.forEach((w, j) => {
    const x = p50[j]![h]!;
    if (w > 0 && Number.isFinite(x)) {
      s += w * x;
      wsum += w;
    }
  });
  return wsum > 0.2 ? s / wsum + b.bias : Number.NaN;
}

/** Apply a fit to the members' forecasts at the origin; a lead whose bucket has no fit takes the learned member's band, else the naive band. */
export function combine(now: Members, fit: EnsembleFit, opt: Pick<EnsembleOptions, 'leadsPerBucket'>, members: ReadonlyArray<string>, modelId: string): Band[] {
  const points: Band[] = [];
  for (let h = 0; h < FORECAST_HORIZON; h++) {
    const b = fit.buckets[Math.floor(h / opt.leadsPerBucket)] ?? null;
    // Renormalised over the members that have a value now; with none of the fitted ones, fall back.
    const p50 = b ? bucketP50(b, now.p50, h) : Number.NaN;
    if (b && Number.isFinite(p50)) {
      const sigma = scaleAt(b, now.p50, h);
      points.push(orderedBand(p50 + b.lo * sigma, p50, p50 + b.hi * sigma));
      continue;
    }
    const mb = now.modelBand?.[h];
    if (mb && Number.isFinite(mb.p50)) {
      points.push(orderedBand(mb.p10, mb.p50, mb.p90));
      continue;
    }
    const y = now.p50[members.indexOf('sameTimeYesterday')]![h]!;
    if (!Number.isFinite(y)) throw new ForecastInputError(modelId, `no fit and no member has a forecast for lead ${h}`);
    // Without a fit there is no measured error to size a band from: a ±15 % guess, said here.
    points.push(orderedBand(y * 0.85, y, y * 1.15));
  }
  return points;
}

/** The series as a dense array up to (not including) the origin; later values are dropped, never read. */
function dense(series: HalfHourSeries, originMs: number): Float64Array {
  const n = Math.max(0, Math.min(series.values.length, (originMs - series.fromMs) / HALF_HOUR_MS));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = series.values[i];
    out[i] = v === null || v === undefined || !Number.isFinite(v) ? Number.NaN : v;
  }
  return out;
}

function blockStart(t: number, refitSlots: number): number {
  const step = refitSlots * HALF_HOUR_MS;
  return Math.floor(t / step) * step;
}

/**
 * Identity of the data a cached result was computed from (length and two independent 32-bit
 * FNV-1a hashes of the bytes), so a revised history is recomputed. Cheap: it runs for every
 * past origin of every fit.
 */
function windowKey(w: Float64Array, expectedLength: number): string {
  const words = new Uint32Array(w.buffer, w.byteOffset, w.length * 2);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ w.length;
  for (let i = 0; i < words.length; i++) {
    h1 = Math.imul(h1 ^ words[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ words[words.length - 1 - i]!, 0x5bd1e995) ^ (h2 >>> 13);
  }
  return `${expectedLength}:${w.length}:${(h1 >>> 0).toString(36)}:${(h2 >>> 0).toString(36)}`;
}
