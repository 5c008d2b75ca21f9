/**
 * Walk-forward evaluation of a series forecaster, month by month. Pure apart from awaiting the
 * forecaster; `bench/forecast.ts` does the I/O.
 *
 * Out of sample by construction: the forecast for origin t is computed from a copy of the
 * series that ends at t (the values at and after t are not in the array it is handed), so
 * whatever the forecaster fits (ensemble weights, bias, conformal band) uses only what was
 * observed before the origin, and so before any later month. The learned member is admitted
 * per origin by `modelAllowedAt` (the bench admits the LSTM only after its training and
 * validation data end).
 */
import { HALF_HOUR_MS } from '../core/time/index.ts';
import { ForecastInputError, type SeriesForecast, type SeriesForecaster } from '../agents/grid/index.ts';
import { CoverageAccumulator, ErrorAccumulator, sameTimeYesterday, type ErrorSummary } from '../models/index.ts';

export const WF_LEADS_H = [1, 6, 24, 48] as const;
const leadIndex = (hours: number): number => 2 * hours - 1;
const HORIZON = 96;

export interface MonthWindow {
  /** `2023-07` */
  readonly label: string;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Calendar months (UTC) from `fromMs` to `toMs`, both on month starts. */
export function monthsBetween(fromMs: number, toMs: number): MonthWindow[] {
  const out: MonthWindow[] = [];
  const d = new Date(fromMs);
  let y = d.getUTCFullYear();
  let m = d.getUTCMonth();
  for (;;) {
    const a = Date.UTC(y, m, 1);
    const b = Date.UTC(m === 11 ? y + 1 : y, (m + 1) % 12, 1);
    if (a >= toMs) break;
    out.push({ label: `${y}-${String(m + 1).padStart(2, '0')}`, fromMs: a, toMs: b });
    y = m === 11 ? y + 1 : y;
    m = (m + 1) % 12;
  }
  return out;
}

export interface MethodScores {
  byLead: Record<string, ErrorSummary>;
  pooled0to48h: ErrorSummary;
}

export interface MonthResult {
  month: string;
  origins: number;
  originsSkipped: number;
  ensemble: MethodScores & { coverageP10P90: BandScores };
  sameTimeYesterday: MethodScores;
  /** The bare learned member (LSTM) on the same pairs, where it was admitted for the whole month. */
  model: (MethodScores & { coverageP10P90: BandScores }) | null;
  ratio24hVsYesterday: number;
  modelRatio24hVsYesterday: number | null;
}

export interface WalkForwardInput {
  readonly forecaster: SeriesForecaster;
  /** The bare learned member, scored alongside for comparison (optional). */
  readonly model?: SeriesForecaster;
  readonly modelAllowedAt?: (originMs: number) => boolean;
  /** Dense half-hour series, NaN = missing, from `seriesFromMs`. */
  readonly actual: Float64Array;
  readonly seriesFromMs: number;
  readonly months: ReadonlyArray<MonthWindow>;
  /** History handed to the forecaster before each origin. */
  readonly historySlots: number;
  /** Half-hours between origins. Default 1. */
  readonly stride?: number;
  /** Called with every forecast (tests use it to compare runs). */
  readonly onForecast?: (originMs: number, f: SeriesForecast) => void;
}

/**
 * How good the P10–P90 bands were: coverage (at 24 h and pooled over 0–48 h), and, pooled, the
 * mean width and the interval score (Gneiting & Raftery 2007: width plus 10× any miss distance
 * for an 80 % interval; lower is better, and it rewards a band that is narrow where it can be
 * and wide where it must, not only one that covers 80 % on average), and coverage per 7 days of
 * origins (how steady it is inside the month).
 */
export interface BandScores {
  at24h: number;
  pooled: number;
  meanWidth: number;
  intervalScore: number;
  weekly: number[];
}

class Scorer {
  lead = WF_LEADS_H.map(() => new ErrorAccumulator());
  pooled = new ErrorAccumulator();
  cov24 = new CoverageAccumulator();
  cov = new CoverageAccumulator();
  weeks: CoverageAccumulator[] = [];
  width = 0;
  score = 0;
  add(h: number, p: number, y: number, lo?: number, hi?: number, week = 0): void {
    const li = WF_LEADS_H.findIndex((k) => leadIndex(k) === h);
    this.pooled.add(p, y);
    if (li >= 0) this.lead[li]!.add(p, y);
    if (lo !== undefined && hi !== undefined) {
      this.cov.add(lo, hi, y);
      (this.weeks[week] ??= new CoverageAccumulator()).add(lo, hi, y);
      this.width += hi - lo;
      this.score += hi - lo + 10 * Math.max(0, lo - y) + 10 * Math.max(0, y - hi);
      if (h === leadIndex(24)) this.cov24.add(lo, hi, y);
    }
  }
  scores(): MethodScores {
    return { byLead: Object.fromEntries(WF_LEADS_H.map((k, i) => [`${k}h`, this.lead[i]!.summary()])), pooled0to48h: this.pooled.summary() };
  }
  coverage(): BandScores {
    const n = this.cov.n;
    return { at24h: this.cov24.value, pooled: this.cov.value, meanWidth: this.width / n, intervalScore: this.score / n, weekly: this.weeks.filter((w) => w.n > 0).map((w) => w.value) };
  }
}

/** The series up to (not including) origin index `o`, at most `slots` long: all a forecaster at o may see. */
export function pastOnly(actual: Float64Array, seriesFromMs: number, o: number, slots: number): { fromMs: number; values: Array<number | null> } {
  const from = Math.max(0, o - slots);
  return { fromMs: seriesFromMs + from * HALF_HOUR_MS, values: Array.from(actual.subarray(from, o), (v) => (Number.isFinite(v) ? v : null)) };
}

/**
 * Score the forecaster on every origin of every month (origin in the month, its 48 h targets
 * inside the series). All methods are scored on the same (origin, lead) pairs: those where the
 * actual, the ensemble, yesterday and (when scored) the model all have a value.
 */
export async function walkForward(input: WalkForwardInput): Promise<MonthResult[]> {
  const { actual, seriesFromMs } = input;
  const stride = input.stride ?? 1;
  const out: MonthResult[] = [];
  for (const m of input.months) {
    const ens = new Scorer();
    const yest = new Scorer();
    const mod = new Scorer();
    const modelAdmitted = !!input.model && (input.modelAllowedAt ? input.modelAllowedAt(m.fromMs) : true);
    let origins = 0;
    let skipped = 0;
    for (let t = m.fromMs; t < m.toMs; t += stride * HALF_HOUR_MS) {
      const o = (t - seriesFromMs) / HALF_HOUR_MS;
      if (o < 0 || o + HORIZON > actual.length) continue;
      const hist = pastOnly(actual, seriesFromMs, o, input.historySlots);
      let f: SeriesForecast;
      let fm: SeriesForecast | null = null;
      try {
        f = await input.forecaster.forecast(hist, t);
        if (modelAdmitted) fm = await input.model!.forecast(hist, t);
      } catch (e) {
        if (!(e instanceof ForecastInputError)) throw e;
        skipped++;
        continue;
      }
      input.onForecast?.(t, f);
      origins++;
      for (let h = 0; h < HORIZON; h++) {
        const y = actual[o + h]!;
        const p = f.points[h]!;
        const b = sameTimeYesterday(actual, o, h);
        const q = fm?.points[h];
        if (!Number.isFinite(y) || !Number.isFinite(b) || (fm && !Number.isFinite(q?.p50 ?? Number.NaN))) continue;
        const week = Math.floor((t - m.fromMs) / (7 * 48 * HALF_HOUR_MS));
        ens.add(h, p.p50, y, p.p10, p.p90, week);
        yest.add(h, b, y);
        if (q) mod.add(h, q.p50, y, q.p10, q.p90, week);
      }
    }
    const e = ens.scores();
    const yy = yest.scores();
    const mm = fm0(modelAdmitted, mod);
    out.push({
      month: m.label,
      origins,
      originsSkipped: skipped,
      ensemble: { ...e, coverageP10P90: ens.coverage() },
      sameTimeYesterday: yy,
      model: mm,
      ratio24hVsYesterday: e.byLead['24h']!.mae / yy.byLead['24h']!.mae,
      modelRatio24hVsYesterday: mm ? mm.byLead['24h']!.mae / yy.byLead['24h']!.mae : null,
    });
  }
  return out;
}

function fm0(admitted: boolean, s: Scorer): MonthResult['model'] {
  return admitted ? { ...s.scores(), coverageP10P90: s.coverage() } : null;
}

/**
 * One note per month with no (origin, lead) pair scored at 24 h, e.g. a file that starts in the
 * month's last week, where every origin had too little behind it and was skipped: its row is
 * NaN and it is left out of the pools. Pure.
 */
export function unscoredMonthNotes(rows: ReadonlyArray<MonthResult>): string[] {
  return rows
    .filter((r) => !(r.ensemble.byLead['24h']!.n > 0))
    .map((r) => `${r.month}: nothing scored (${r.origins} origins forecast, ${r.originsSkipped} skipped for too little history before them); left out of the pooled figures and the spread`);
}

export interface Spread {
  min: number;
  max: number;
  minMonth: string;
  maxMonth: string;
}

export function spread(rows: ReadonlyArray<MonthResult>, pick: (r: MonthResult) => number): Spread {
  let best: Spread = { min: Infinity, max: -Infinity, minMonth: '', maxMonth: '' };
  for (const r of rows) {
    const v = pick(r);
    if (!Number.isFinite(v)) continue;
    if (v < best.min) best = { ...best, min: v, minMonth: r.month };
    if (v > best.max) best = { ...best, max: v, maxMonth: r.month };
  }
  return best;
}

/** Pooled over months, weighting each month by its scored pairs (sums of absolute errors, not a mean of means). */
export function pooledOver(rows: ReadonlyArray<MonthResult>): { ensembleMae24h: number; yesterdayMae24h: number; ratio24h: number; coverage: number; coverage24h: number; n24h: number } {
  let ea = 0;
  let ya = 0;
  let n = 0;
  let cov = 0;
  let covN = 0;
  let cov24 = 0;
  for (const r of rows) {
    const e = r.ensemble.byLead['24h']!;
    const y = r.sameTimeYesterday.byLead['24h']!;
    // A month with nothing scored has NaN for its figures: weighted by its 0 pairs, it still
    // made the whole pool NaN (NaN × 0), so it is passed over (unscoredMonthNotes names it).
    if (e.n > 0) {
      ea += e.mae * e.n;
      ya += y.mae * y.n;
      n += e.n;
      cov24 += r.ensemble.coverageP10P90.at24h * e.n;
    }
    const pn = r.ensemble.pooled0to48h.n;
    if (pn > 0) {
      cov += r.ensemble.coverageP10P90.pooled * pn;
      covN += pn;
    }
  }
  return { ensembleMae24h: ea / n, yesterdayMae24h: ya / n, ratio24h: ea / ya, coverage: cov / covN, coverage24h: cov24 / n, n24h: n };
}
