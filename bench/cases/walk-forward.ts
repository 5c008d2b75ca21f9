/**
 * `npm run bench -- schedule --walk-forward [--months 2023-02,…] [--days-per-month 7]
 *   [--jobs-per-day 200] [--seed 1] [--policies a,b] [--forecast ensemble|sty|lstm]
 *   [--carbon csv] [--prices csv] [--name schedule] [--no-write]`
 *   or `… --walk-forward --repool [--forecast …] [--name schedule]` (no runs: the pools of the stored months again)
 *
 * Honest out-of-sample evaluation of the schedule, month by month: for each test month the
 * forecast and the long-range estimate are built only from data before each decision, nothing
 * is fitted on the month, and every figure is reported per month and pooled.
 *
 * Data: the project's copies of the shared files, or `--carbon` / `--prices` files with the same
 * columns (a later period no model or setting here has seen). The months run are those given, or
 * every calendar month the files allow (`walkForwardMonths`: 28 days of history before its 1st,
 * and its days plus the drain and the oracle's 7-day horizon after it); with the project's files
 * that is 2023-02 … 2023-09. The results file names the files and the span they cover.
 *
 * Forecast for the first 48 h (the same for every policy): `ensemble` (default since
 * 2026-12-05): what the grid agent ships (agents/grid/ensemble-forecaster.ts: the LSTM with
 * robust baselines, weights and conformal bands refitted on the 28 days before each decision),
 * on every month; no warm start from a fit file (that was fitted on data these months may
 * hold), the LSTM admitted only from the end of its validation data (before then the ensemble
 * is the baselines alone). `sty`: same-time-yesterday with P10/P90 bands from the quantiles of
 * its own errors, by lead, over the 28 days before the day's first decision (only the past).
 * `lstm`: the bare carbon and price LSTMs (bands as they give them); their training and
 * validation data end at 2023-07-01 (models/*\/MODEL_CARD.md), and July is the planner's tuning
 * month (below), so only 2023-08 and 2023-09 are out of sample for them, and the bench refuses
 * earlier months. Beyond 48 h, with any of them, the seasonal profile of
 * the last 28 days (long-range.ts, wider bands), so the planner's horizon covers each job's
 * window up to its deadline.
 *
 * What was tuned where: the planner's settings (reserve 15 %, terminal SoC 50 %, expected
 * value from 0.3/0.4/0.3 quantile weights, full re-plan every half-hour) were chosen on
 * 2023-07-01 + 14 days (planner README): July is marked in-sample and left out of the pooled
 * out-of-sample figure. The ensemble's settings were chosen on 2023-02..03 (bench/forecast.ts),
 * so the pool `pooledUntuned` leaves those out too: the months out of sample for every setting,
 * whichever forecaster ran (bench/_tuned-on.ts). January is history only (the first month of
 * prices on file).
 */
import { toHalfHourSeries } from '../../data/index.ts';
import { isoDayOrTime, loadSignalFiles } from '../../sim/index.ts';
import { DEFAULT_SITE, validateJob } from '../../agents/compute/jobs/index.ts';
import { generateWorkload, loadTraceStats } from '../../sim/workload/index.ts';
import { type BandPoint, type PlanOptions, type Signals, extendBands, quantileWeightedCost, sharedSolverWorker } from '../../agents/compute/planner/index.ts';
import { type SimResult, bestWindowPolicy, oraclePolicy, plannerPolicy, runOnArrivalPolicy, simulate } from '../../sim/policies/index.ts';
import { BenchUsageError, benchFlags, checkResultsName, oneOfFlag, printTable, readResults, rewriteResults, signalFileNames, usageAsBench, wholeFlag, writeResultsKeeping } from '../report.ts';
import { FORECAST_TUNING_MONTHS, PLANNER_TUNING, PLANNER_TUNING_MONTH, untunedMonths } from '../_tuned-on.ts';
import { HISTORY_SLOTS, loadGridForecaster, type LoadedForecaster, type SeriesForecaster } from '../../agents/grid/index.ts';
import { pastOnly } from '../_walk-forward.ts';
import { printMisses } from '../_misses.ts';
import { DAY_MS, HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';

const DAY = 48;
const LEADS = 96;
const COVER_SLOTS = 336;

/** The first month out of sample for the bare LSTMs: their data end at 2023-07-01, and July is the planner's tuning month. */
const LSTM_FIRST_MONTH = '2023-08';
/** Days of data a month needs before its 1st: the ensemble's and the error bands' 28-day windows, and the long-range profile's. */
const HISTORY_DAYS = 28;
/** Days of data a month needs after its last day: the drain (4 days) and the 7-day horizon of the last plans (the oracle reads actual signals there). */
const AFTER_DAYS = 4 + COVER_SLOTS / DAY;
const FORECASTS = ['sty', 'lstm', 'ensemble'] as const;
type ForecastKind = (typeof FORECASTS)[number];

export interface WalkForwardArgs {
  /** The months asked for; undefined: every month the data allow (walkForwardMonths). */
  readonly months: string[] | undefined;
  readonly daysPerMonth: number;
  readonly jobsPerDay: number;
  readonly seed: string;
  readonly policies: string[] | undefined;
  readonly forecast: ForecastKind;
  readonly write: boolean;
  /** Results file under bench/results/ (default: schedule.json, beside the full-period run). */
  readonly name: string;
  /** `--repool`: run nothing, pool the stored months again (repoolWalkForward). */
  readonly repool: boolean;
  /** Signal files other than the project's copies (`--carbon`, `--prices`). */
  readonly carbonCsv?: string | undefined;
  readonly pricesCsv?: string | undefined;
}

/**
 * The walk-forward's flags, checked before anything runs: a mistyped flag or a month the
 * chosen forecast has seen is a one-line BenchUsageError (exit 2), not minutes on defaults.
 */
/**
 * The grid agent's forecaster as a bench runs it out of sample: the bare LSTMs, or the
 * ensemble with no warm start from the fit file (fitted on data the months may hold) and each
 * LSTM admitted only from the end of its validation data.
 */
export function benchForecaster(kind: 'lstm' | 'ensemble'): Promise<LoadedForecaster> {
  return kind === 'lstm' ? loadGridForecaster({ ensemble: false }) : loadGridForecaster({ warmStart: false, outOfSampleOnly: true });
}

/** Half-hours of history a series forecaster reads before an origin, as the grid agent hands it. */
export function historySlotsOf(f: SeriesForecaster): number {
  return Math.max(HISTORY_SLOTS, f.historySlots ?? 0);
}

export function walkForwardArgs(argv: string[]): WalkForwardArgs {
  const v = benchFlags(argv, {
    'walk-forward': { type: 'boolean' },
    months: { type: 'string' },
    'days-per-month': { type: 'string', default: '7' },
    'jobs-per-day': { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    policies: { type: 'string' },
    forecast: { type: 'string', default: 'ensemble' },
    'no-write': { type: 'boolean', default: false },
    name: { type: 'string', default: 'schedule' },
    repool: { type: 'boolean', default: false },
    carbon: { type: 'string' },
    prices: { type: 'string' },
  });
  if (v.repool) {
    // It runs nothing: a run's flags beside it would be silently ignored.
    const ignored = ['months', 'days-per-month', 'jobs-per-day', 'seed', 'policies', 'no-write', 'carbon', 'prices'].filter((k) => argv.some((x) => x === `--${k}` || x.startsWith(`--${k}=`)));
    if (ignored.length) throw new BenchUsageError(`--repool reads earlier results and runs nothing: it takes no ${ignored.map((k) => `--${k}`).join(', ')}`);
  }
  const forecast: ForecastKind = oneOfFlag('forecast', v.forecast, FORECASTS);
  if (v.repool) return { months: [], daysPerMonth: 0, jobsPerDay: 0, seed: v.seed, policies: undefined, forecast, write: true, name: checkResultsName(v.name), repool: true };
  const daysPerMonth = wholeFlag('days-per-month', v['days-per-month'], 1, 28);
  const jobsPerDay = wholeFlag('jobs-per-day', v['jobs-per-day']);
  const months = v.months?.split(',').map((m) => m.trim());
  for (const m of months ?? []) {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(m)) throw new BenchUsageError(`--months: "${m}" is not a month like 2023-05`);
    // The bare LSTMs saw every month before August; the ensemble admits its LSTM member only
    // from the end of that member's validation data (outOfSampleOnly), so before then it is
    // the baselines alone and out of sample in every month.
    if (forecast === 'lstm' && m < LSTM_FIRST_MONTH) throw new BenchUsageError(`--months: ${m} is not out of sample for the LSTMs (their data end at 2023-07-01 and July is the planner's tuning month); with --forecast lstm only months from ${LSTM_FIRST_MONTH} are out of sample (--forecast ensemble runs on every month)`);
  }
  const policies = v.policies?.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  return { months, daysPerMonth, jobsPerDay, seed: v.seed, policies, forecast, write: !v['no-write'], name: checkResultsName(v.name), repool: v.repool, carbonCsv: v.carbon, pricesCsv: v.prices };
}

const monthStart = (m: string): number => Date.parse(`${m}-01T00:00:00Z`);

/**
 * The months a walk-forward runs on data covering [fromMs, toMs): those asked for, each checked,
 * or every calendar month with HISTORY_DAYS of data before its 1st and its days plus AFTER_DAYS
 * from it (with the bare LSTMs, from LSTM_FIRST_MONTH). A month outside is a BenchUsageError naming it and the span. Pure.
 */
export function walkForwardMonths(span: { fromMs: number; toMs: number }, daysPerMonth: number, requested: ReadonlyArray<string> | undefined, forecast: ForecastKind = 'ensemble'): string[] {
  const need = `${HISTORY_DAYS} days of data before its 1st and ${daysPerMonth + AFTER_DAYS} days from it (${daysPerMonth} days run, ${AFTER_DAYS - COVER_SLOTS / DAY} of drain, the ${COVER_SLOTS / DAY}-day horizon of the last plans)`;
  const fits = (m: string): boolean => monthStart(m) - HISTORY_DAYS * DAY_MS >= span.fromMs && monthStart(m) + (daysPerMonth + AFTER_DAYS) * DAY_MS <= span.toMs;
  const covers = `the data cover ${isoDayOrTime(span.fromMs)} to ${isoDayOrTime(span.toMs)}`;
  if (requested) {
    for (const m of requested) if (!fits(m)) throw new BenchUsageError(`--months: ${m} does not fit in the data: a month needs ${need}; ${covers}`);
    return [...requested];
  }
  const out: string[] = [];
  // Asked for none: every month that fits, and for the bare LSTMs only those they never saw (a
  // month asked for is checked for that with the flags).
  const seen = (m: string) => forecast === 'lstm' && m < LSTM_FIRST_MONTH;
  const first = new Date(span.fromMs);
  // Date.UTC carries month 12 into January of the next year.
  for (let k = 0, t = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 1); t < span.toMs; k++, t = Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + k, 1)) {
    const m = new Date(t).toISOString().slice(0, 7);
    if (fits(m) && !seen(m)) out.push(m);
  }
  if (out.length === 0) throw new BenchUsageError(`no month fits in the data${forecast === 'lstm' ? ` from ${LSTM_FIRST_MONTH} (the first the bare LSTMs never saw)` : ''}: a month needs ${need}; ${covers}`);
  return out;
}

function fill(a: Float64Array): Float64Array {
  let last = NaN;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) last = a[i]!;
  else if (Number.isFinite(last)) a[i] = last;
  let first = NaN;
  for (let i = a.length - 1; i >= 0; i--) if (Number.isFinite(a[i]!)) first = a[i]!;
  else a[i] = first;
  return a;
}

const sty = (x: Float64Array, i: number, k: number): number => x[Math.max(0, i + k - (k < DAY ? DAY : 2 * DAY))]!;

function q(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(p * (s.length - 1))))] ?? 0;
}

/**
 * Same-time-yesterday's error quantiles by lead, from origins whose targets all lie before
 * `dayIdx` (the first half-hour of the decision day): only the past.
 */
export function styErrorBands(x: Float64Array, dayIdx: number, days = 28): Array<{ lo: number; hi: number }> {
  const out: Array<{ lo: number; hi: number }> = [];
  for (let k = 0; k < LEADS; k++) {
    const errs: number[] = [];
    for (let i = Math.max(2 * DAY, dayIdx - days * DAY); i + k < dayIdx; i++) errs.push(x[i + k]! - sty(x, i, k));
    out.push(errs.length ? { lo: q(errs, 0.1), hi: q(errs, 0.9) } : { lo: 0, hi: 0 });
  }
  return out;
}

interface MonthResult {
  readonly month: string;
  readonly inSample: boolean;
  readonly days: number;
  readonly jobs: number;
  readonly policies: Array<Pick<SimResult, 'policy' | 'energyCostGbp' | 'carbonT' | 'carbonCostGbp' | 'deadlineMisses' | 'missesFeasibleOnArrival' | 'validationProblems'>>;
}

const share = (base: number, pol: number, orc: number): number | null => (Math.abs(base - orc) < 1e-9 ? null : (base - pol) / (base - orc));

const TUNING_NOTE = `planner settings chosen on ${PLANNER_TUNING.from} + ${PLANNER_TUNING.days} days (planner README): ${PLANNER_TUNING_MONTH} is in-sample and excluded from the out-of-sample pool; the ensemble's settings were chosen on ${FORECAST_TUNING_MONTHS.join(' and ')} (bench/forecast.ts), so pooledUntuned leaves those out too; nothing was tuned on any other month`;

type PolicyTotals = MonthResult['policies'][number];
const MISSING: PolicyTotals = { policy: '', energyCostGbp: NaN, carbonT: NaN, carbonCostGbp: NaN, deadlineMisses: NaN, missesFeasibleOnArrival: NaN, validationProblems: NaN };

/** One pooled row per policy against run on arrival and the oracle, as the bench prints and stores it. */
export type PoolRow = {
  readonly period: string;
  readonly policy: string;
  readonly 'energy £': number;
  readonly 'carbon t': number;
  readonly 'cost saving % of oracle': number | null;
  readonly 'carbon saving % of oracle': number | null;
  readonly 'regret £ (energy+carbon vs oracle)': number;
  readonly 'misses (feasible on arrival)': number;
};

/**
 * Best-window, planner and oracle pooled over `months`: each policy's £ and t summed over them,
 * then its share of the oracle's saving against run on arrival. Pure.
 */
export function poolRows(period: string, months: ReadonlyArray<Pick<MonthResult, 'policies'>>, carbonPriceGbpPerT: number): PoolRow[] {
  const sum = (name: string, f: (p: PolicyTotals) => number) => months.reduce((acc, m) => acc + f(m.policies.find((p) => p.policy.startsWith(name)) ?? MISSING), 0);
  const base = { c: sum('run-on-arrival', (p) => p.energyCostGbp), t: sum('run-on-arrival', (p) => p.carbonT) };
  const orc = { c: sum('oracle', (p) => p.energyCostGbp), t: sum('oracle', (p) => p.carbonT) };
  return ['best-window', 'planner', 'oracle'].map((policy) => {
    const c = sum(policy, (p) => p.energyCostGbp);
    const t = sum(policy, (p) => p.carbonT);
    const cs = share(base.c, c, orc.c);
    const ts = share(base.t, t, orc.t);
    return {
      period,
      policy,
      'energy £': Math.round(c),
      'carbon t': Number(t.toFixed(2)),
      'cost saving % of oracle': cs === null ? null : Number((cs * 100).toFixed(1)),
      'carbon saving % of oracle': ts === null ? null : Number((ts * 100).toFixed(1)),
      'regret £ (energy+carbon vs oracle)': noNegativeZero(Math.round(c + t * carbonPriceGbpPerT - orc.c - orc.t * carbonPriceGbpPerT)),
      'misses (feasible on arrival)': sum(policy, (p) => p.missesFeasibleOnArrival),
    };
  });
}

/** −0 (a regret that rounds to nothing from below) prints as 0; NaN (no oracle or arrival run) stays NaN. */
const noNegativeZero = (x: number): number => (Object.is(x, -0) ? 0 : x);

const UNTUNED_LABEL = 'pooled, untuned months (no planner or forecaster setting chosen on them)';

/** Every month's rows, then the pools: out of sample for the planner, untuned for every setting, all. Pure. */
export function walkForwardRows(months: ReadonlyArray<MonthResult>, carbonPriceGbpPerT: number): PoolRow[] {
  const untuned = new Set(untunedMonths(months.map((m) => m.month)));
  return [
    ...months.flatMap((m) => poolRows(`${m.month}${m.inSample ? ' (tuning month)' : ''}`, [m], carbonPriceGbpPerT)),
    ...poolRows('pooled, out of sample', months.filter((m) => !m.inSample), carbonPriceGbpPerT),
    ...poolRows(UNTUNED_LABEL, months.filter((m) => untuned.has(m.month)), carbonPriceGbpPerT),
    ...poolRows('pooled, all', months, carbonPriceGbpPerT),
  ];
}

/**
 * What the results file holds of a walk-forward's months: each month with its rows and targets,
 * and the pools. `pooledOutOfSample` leaves out only the planner's tuning month (and so holds
 * the ensemble's tuning months); `pooledUntuned` leaves out every month any setting was chosen
 * on, the same months whichever forecaster ran. Pure.
 */
export function walkForwardPools(months: ReadonlyArray<MonthResult>, carbonPriceGbpPerT: number) {
  const untuned = untunedMonths(months.map((m) => m.month));
  return {
    months: months.map((m) => {
      const r = poolRows(m.month, [m], carbonPriceGbpPerT);
      const pl = r.find((x) => x.policy === 'planner');
      const bw = r.find((x) => x.policy === 'best-window');
      const targetsMet = pl && bw ? {
        cost90: (pl['cost saving % of oracle'] ?? 0) >= 90,
        carbon90: (pl['carbon saving % of oracle'] ?? 0) >= 90,
        beatsBestWindow: (pl['cost saving % of oracle'] ?? -Infinity) > (bw['cost saving % of oracle'] ?? Infinity) && (pl['carbon saving % of oracle'] ?? -Infinity) > (bw['carbon saving % of oracle'] ?? Infinity),
        zeroFeasibleMisses: pl['misses (feasible on arrival)'] === 0,
      } : null;
      return { month: m.month, inSample: m.inSample, days: m.days, jobs: m.jobs, policies: m.policies, rows: r, targetsMet };
    }),
    pooledOutOfSample: poolRows('pooled, out of sample', months.filter((m) => !m.inSample), carbonPriceGbpPerT),
    untunedMonths: untuned,
    pooledUntuned: poolRows(UNTUNED_LABEL, months.filter((m) => untuned.includes(m.month)), carbonPriceGbpPerT),
    pooledAll: poolRows('pooled, all', months, carbonPriceGbpPerT),
  };
}

const walkForwardKey = (fk: ForecastKind): string => (fk === 'ensemble' ? 'walkForwardEnsemble' : fk === 'lstm' ? 'walkForwardLstm' : 'walkForward');

const num = (v: unknown): v is number => typeof v === 'number';

/** A stored month as the bench wrote it, or a BenchUsageError naming the field that is not. */
function storedMonth(v: unknown, where: string): MonthResult {
  const m = (v ?? {}) as Partial<Record<keyof MonthResult, unknown>>;
  if (typeof m.month !== 'string' || !/^\d{4}-\d\d$/.test(m.month)) throw new BenchUsageError(`${where}.month: not a month like 2023-05`);
  if (typeof m.inSample !== 'boolean' || !num(m.days) || !num(m.jobs)) throw new BenchUsageError(`${where}: inSample, days or jobs missing`);
  if (!Array.isArray(m.policies)) throw new BenchUsageError(`${where}.policies: not a list`);
  const policies = m.policies.map((p: unknown, i: number) => {
    const q = (p ?? {}) as Partial<Record<keyof PolicyTotals, unknown>>;
    if (typeof q.policy !== 'string' || !num(q.energyCostGbp) || !num(q.carbonT) || !num(q.missesFeasibleOnArrival)) throw new BenchUsageError(`${where}.policies[${i}]: policy, energyCostGbp, carbonT or missesFeasibleOnArrival missing`);
    return { policy: q.policy, energyCostGbp: q.energyCostGbp, carbonT: q.carbonT, carbonCostGbp: num(q.carbonCostGbp) ? q.carbonCostGbp : NaN, deadlineMisses: num(q.deadlineMisses) ? q.deadlineMisses : NaN, missesFeasibleOnArrival: q.missesFeasibleOnArrival, validationProblems: num(q.validationProblems) ? q.validationProblems : 0 };
  });
  return { month: m.month, inSample: m.inSample, days: m.days, jobs: m.jobs, policies };
}

/**
 * `--repool`: no simulation; the pools of a stored walk-forward recomputed from its months'
 * per-policy totals (as a run computes them), printed and written back beside them. For a file
 * written before a pool existed.
 */
export function repoolWalkForward(name: string, fk: ForecastKind): void {
  const key = walkForwardKey(fk);
  const stored = (readResults(name) as Record<string, unknown> | undefined)?.[key] as Record<string, unknown> | undefined;
  if (!stored || !Array.isArray(stored.months)) throw new BenchUsageError(`--repool: bench/results/${name}.json holds no ${key} months: run the walk-forward with --forecast ${fk} first`);
  const months = stored.months.map((m: unknown, i: number) => storedMonth(m, `${key}.months[${i}]`));
  const price = DEFAULT_SITE.carbonPriceGbpPerT;
  printTable(`Schedule walk-forward (${key}, from bench/results/${name}.json), pooled again`, walkForwardRows(months, price));
  rewriteResults(name, { [key]: { ...stored, ...walkForwardPools(months, price), tuning: TUNING_NOTE } });
}

/** The walk-forward, on flags checked by walkForwardArgs. */
export async function walkForward(a: WalkForwardArgs): Promise<void> {
  if (a.repool) return repoolWalkForward(a.name, a.forecast);
  const { jobsPerDay } = a;
  const daysPer = a.daysPerMonth;
  const site = DEFAULT_SITE;
  const files = usageAsBench(() => loadSignalFiles(a));
  // Whole days from the first midnight both files cover: a decision day's index is a multiple of 48.
  const dataFrom = Math.ceil(files.dataFromMs / DAY_MS) * DAY_MS;
  const dataTo = files.dataToMs;
  const months = walkForwardMonths({ fromMs: dataFrom, toMs: dataTo }, daysPer, a.months, a.forecast);
  const data = { ...signalFileNames(a), covers: { from: new Date(dataFrom).toISOString(), to: new Date(dataTo).toISOString() } };
  console.log(`data: carbon ${data.carbon}, prices ${data.prices}; ${isoDayOrTime(dataFrom)} to ${isoDayOrTime(dataTo)}; months ${months.join(', ')}`);
  // Past the data's end the series holds its last value (the drain's forecasts look that far).
  const carbon = fill(toHalfHourSeries(files.carbon.rows, 'actualGPerKwh', dataFrom, dataTo + 12 * DAY_MS));
  const price = fill(toHalfHourSeries(files.prices.rows, 'marketIndexGbpPerMwh', dataFrom, dataTo + 12 * DAY_MS));
  const planOptions: PlanOptions = { deterministic: true, fullEveryMs: 0 };
  const traces = loadTraceStats();
  const results: MonthResult[] = [];
  const wanted = a.policies;
  const rowsOfMonth = (m: MonthResult) => m.policies.map((p) => ({ policy: p.policy, 'energy £': Math.round(p.energyCostGbp), 'carbon t': Number(p.carbonT.toFixed(2)), 'misses (feasible)': p.missesFeasibleOnArrival }));
  const report = (final: boolean): void => {
    const price = site.carbonPriceGbpPerT;
    if (final) printTable(`Schedule walk-forward: ${daysPer} days from the 1st of each month, ${jobsPerDay} deferrable jobs/day; forecast: ${fk === 'ensemble' ? 'the shipped ensemble (baselines, and the LSTM from the end of its validation data; 0–48 h)' : lstm ? 'carbon and price LSTMs (0–48 h)' : 'same-time-yesterday + past-error bands'}, long-range seasonal profile beyond 48 h; share of the perfect-foresight oracle's saving vs run on arrival`, walkForwardRows(results, price));
    if (!a.write) return;
    // What else the file holds stays (in schedule.json: the full-period run's results).
    writeResultsKeeping(a.name, {
      [walkForwardKey(fk)]: {
        ...walkForwardPools(results, price),
        complete: final,
        daysPerMonth: daysPer,
        jobsPerDay,
        data,
        historyNotes,
        forecast: lstm ? `carbon ${lstm.carbon.describe}, price ${lstm.price.describe} (0–48 h, their bands); beyond 48 h the seasonal profile of the 28 days before the decision; planned on the 0.3/0.4/0.3 quantile-weighted value` : 'same-time-yesterday, P10/P90 from its errors by lead over the 28 days before each decision day; beyond 48 h the seasonal profile of the 28 days before the decision (wider bands); planned on the 0.3/0.4/0.3 quantile-weighted value',
        planOptions,
        tuning: TUNING_NOTE,
      },
    });
  };
  const fk = a.forecast;
  const lstm = fk === 'sty' ? null : await benchForecaster(fk);
  // The grid agent's forecaster as it ships, minus the warm start from the fit file, each LSTM
  // admitted only from the end of its validation data. A model that will not load fails the
  // run rather than scoring the baselines under its name.
  if (lstm?.notes.some((n) => n.includes('not loaded'))) throw new Error(`--forecast ${fk}: ${lstm.notes.join('; ')}`);
  // A month with less history than the forecaster reads (a file that starts late) is run, and said so.
  const historyDays = (lstm ? Math.max(historySlotsOf(lstm.carbon), historySlotsOf(lstm.price)) : HISTORY_DAYS * DAY) / DAY;
  const historyNotes = months.flatMap((m) => {
    const held = (monthStart(m) - dataFrom) / DAY_MS;
    return held < historyDays ? [`${m}: the data hold ${held.toFixed(1)} of the ${historyDays.toFixed(1)} days before the month that the forecaster reads; its first fits use less`] : [];
  });
  for (const n of historyNotes) console.log(`note: ${n}`);
  await sharedSolverWorker().warmUp();
  for (const m of months) {
    const startMs = monthStart(m);
    const slots = daysPer * DAY;
    const off = (startMs - dataFrom) / SLOT_MS;
    const jobs = generateWorkload({ seed: `walk-forward-${m}-${a.seed}`, startMs, days: daysPer, jobsPerDay, targetUtilisation: 0.5 }, traces).jobs.filter((j) => validateJob(j, site).length === 0);
    const actual: Signals = { startMs, priceGbpPerMwh: Array.from(price.subarray(off)), intensityGPerKwh: Array.from(carbon.subarray(off)) };
    const bandCache = new Map<number, { p: Array<{ lo: number; hi: number }>; c: Array<{ lo: number; hi: number }> }>();
    const lstmCache = new Map<number, { price: BandPoint[]; carbon: BandPoint[] }>();
    if (lstm) {
      for (let k = 0; k < slots + 4 * DAY; k++) {
        const t = startMs + k * SLOT_MS;
        const i = (t - dataFrom) / SLOT_MS;
        // History as far back as the forecaster asks, but not before the data's first half-hour
        // (a month early in the data gives the ensemble a shorter first window).
        const c = await lstm.carbon.forecast(pastOnly(carbon, dataFrom, i, historySlotsOf(lstm.carbon)), t);
        const p = await lstm.price.forecast(pastOnly(price, dataFrom, i, historySlotsOf(lstm.price)), t);
        lstmCache.set(t, { price: [...p.points], carbon: [...c.points] });
      }
    }
    const forecastAt = (t: number): Signals => {
      const i = (t - dataFrom) / SLOT_MS;
      const day = i - (i % DAY);
      let b = bandCache.get(day);
      if (!b) bandCache.set(day, (b = { p: styErrorBands(price, day), c: styErrorBands(carbon, day) }));
      const bands = (x: Float64Array, e: Array<{ lo: number; hi: number }>): BandPoint[] =>
        Array.from({ length: LEADS }, (_, k) => {
          const v = sty(x, i, k);
          return { p10: v + Math.min(0, e[k]!.lo), p50: v, p90: v + Math.max(0, e[k]!.hi) };
        });
      // History strictly before t: the long-range profile never sees the decision's own future.
      const hist = (x: Float64Array) => ({ fromMs: dataFrom, values: Array.from(x.subarray(0, i)) });
      const l = lstmCache.get(t);
      const pe = extendBands(l ? l.price : bands(price, b.p), hist(price), t, COVER_SLOTS);
      const ce = extendBands(l ? l.carbon : bands(carbon, b.c), hist(carbon), t, COVER_SLOTS);
      return { startMs: t, priceGbpPerMwh: quantileWeightedCost(pe), intensityGPerKwh: quantileWeightedCost(ce) };
    };
    const all = [runOnArrivalPolicy(), bestWindowPolicy(), plannerPolicy(planOptions), oraclePolicy(planOptions)];
    const policies = wanted ? all.filter((p) => wanted.some((w) => p.name.startsWith(w))) : all;
    const month: MonthResult = { month: m, inSample: m === PLANNER_TUNING_MONTH, days: daysPer, jobs: jobs.length, policies: [] };
    for (const policy of policies) {
      const t0 = performance.now();
      const r = await simulate(policy, { site, startMs, slots, jobs, actual, forecastAt, initialSocKwh: 0.5 * site.battery.energyKwh, drainSlots: 4 * DAY });
      console.log(`  ${m} ${policy.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s, ${r.steps} steps, misses ${r.deadlineMisses} (${r.missesFeasibleOnArrival} feasible)`);
      printMisses(r);
      month.policies.push({ policy: r.policy, energyCostGbp: r.energyCostGbp, carbonT: r.carbonT, carbonCostGbp: r.carbonCostGbp, deadlineMisses: r.deadlineMisses, missesFeasibleOnArrival: r.missesFeasibleOnArrival, validationProblems: r.validationProblems });
    }
    results.push(month);
    printTable(`${m}${month.inSample ? ' (tuning month)' : ''}`, rowsOfMonth(month));
    report(false);
  }
  report(true);
  await sharedSolverWorker().close();
}
