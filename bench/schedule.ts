/**
 * npm run bench -- schedule [--from 2023-07-01] [--days 92] [--seed 1 | --jobs file.csv]
 *   [--carbon csv] [--prices csv] [--price-column market|imbalance] [--forecast auto|ensemble|lstm|sty|published]
 *   [--jobs-per-day 200] [--utilisation 0.5] [--threshold gCO2] [--policies a,b] [--scaling 100,1000,5000,10000 | --no-scaling]
 *   [--scaling-reps 3] [--no-sim] [--plan-on mean|p50] [--plan-options JSON] [--with-before]
 *   [--perfect price|carbon] [--battery-kw kW] [--name schedule] [--no-write]
 *
 * --plan-on: the point forecast every policy plans on (default: the expected value from the
 * bands). --with-before adds the planner as configured before the gap study. --perfect and
 * --battery-kw are for analysis of the gap to the oracle, and write only to a results file of
 * their own (--name) or none (--no-write). The shipped forecaster's run (--forecast auto or
 * ensemble) is bench/results/<name>.json's main result; --forecast lstm|sty|published goes under
 * fullPeriodLstm|fullPeriodSty|fullPeriodPublished in the same file.
 *
 * Runs every policy on the simulated clock with the same forecasts, books cost and carbon on
 * the actual signals, and measures planner solve times by instance size.
 */
import { readFileSync } from 'node:fs';
import { toHalfHourSeries } from '../data/index.ts';
import { isoDayOrTime, loadSignalFiles, type SignalFiles } from '../sim/index.ts';
import { DEFAULT_SITE, type Job, siteConfig, validateJob } from '../agents/compute/jobs/index.ts';
import { generateWorkload, loadTraceStats, readWorkloadCsv } from '../sim/workload/index.ts';
import { type BandPoint, type PlanOptions, type PlanResult, type Signals, expectedFromBands, plan, sharedSolverWorker } from '../agents/compute/planner/index.ts';
import {
  type Policy,
  type SimResult,
  bestWindowPolicy,
  lowestKPolicy,
  oraclePolicy,
  plannerPolicy,
  runOnArrivalPolicy,
  simulate,
  thresholdPolicy,
} from '../sim/policies/index.ts';
import { HISTORY_SLOTS, type SeriesForecaster } from '../agents/grid/index.ts';
import { pastOnly } from './_walk-forward.ts';
import { BenchUsageError, benchFlags, checkResultsName, dateFlag, numberFlag, oneOfFlag, percentile, printTable, signalFileNames, usageAsBench, wholeFlag, writeResults, writeResultsKeeping } from './report.ts';
import { runLetsWaitAwhile } from './cases/lets-wait-awhile.ts';
import { printMisses } from './_misses.ts';
import { benchForecaster, historySlotsOf, walkForward, walkForwardArgs, type WalkForwardArgs } from './cases/walk-forward.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../core/time/index.ts';

const DAY_SLOTS = 48;

/** The parsed flags of a run (see scheduleFlags). */
type Flags = Readonly<Record<string, string | boolean | undefined>>;

/** A string flag's value, or `dflt`. */
function arg(flags: Flags, name: string, dflt?: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : dflt;
}

const text = { type: 'string' } as const;
const flag = { type: 'boolean' } as const;
/** The flags of the full-period run (the header above) and of `--case lets-wait-awhile`. */
const SCHEDULE_FLAGS = {
  from: text, days: text, seed: text, jobs: text, carbon: text, prices: text, 'price-column': text, forecast: text, 'jobs-per-day': text, utilisation: text,
  threshold: text, policies: text, scaling: text, 'no-scaling': flag, 'scaling-reps': text, 'no-sim': flag, 'plan-on': text, 'plan-options': text,
  'with-before': flag, perfect: text, 'battery-kw': text, 'no-write': flag, name: text,
} as const;
const CASE_FLAGS = { case: text, 'lwa-rule': text, sample: text, 'no-write': flag } as const;

/**
 * The run's flags, parsed once before anything loads: a flag this run does not take (or one
 * left without its value) is refused, since the full-period run takes minutes and would
 * otherwise run on a mistyped flag's default. The walk-forward parses its own (walkForwardArgs).
 */
export function scheduleFlags(argv: string[]): { readonly walkForward: WalkForwardArgs } | { readonly lwa: LwaValues } | { readonly flags: Flags; readonly values: FullPeriodValues } {
  if (argv.includes('--walk-forward')) return { walkForward: walkForwardArgs(argv) };
  if (argv.some((a) => a === '--case' || a.startsWith('--case='))) return { lwa: lwaValues(benchFlags(argv, CASE_FLAGS)) };
  const flags = benchFlags(argv, SCHEDULE_FLAGS);
  return { flags, values: fullPeriodValues(flags) };
}

type LwaValues = ReturnType<typeof lwaValues>;

/** `--case lets-wait-awhile`'s values, checked before the 2020 data load. */
function lwaValues(flags: Flags) {
  const benchCase = arg(flags, 'case');
  if (benchCase !== 'lets-wait-awhile') throw new BenchUsageError(`--case: "${benchCase}" is not lets-wait-awhile`);
  return { rule: choiceFlag(flags, 'lwa-rule', ['paper', 'code'], 'paper')!, sample: wholeFlag('sample', arg(flags, 'sample', '1')!), write: flags['no-write'] !== true };
}

/** A choice flag's value, or a BenchUsageError naming the flag and the choices. */
function choiceFlag<const C extends string>(flags: Flags, name: string, choices: ReadonlyArray<C>, dflt?: C): C | undefined {
  const v = arg(flags, name, dflt);
  return v === undefined ? undefined : oneOfFlag(name, v, choices);
}

type FullPeriodValues = ReturnType<typeof fullPeriodValues>;

/**
 * The full-period run's values, each checked before anything loads or runs: the run takes
 * minutes, and a mistyped value (`--days x`, `--battery-kw -5`, `--plan-on P50`) used to fail
 * after the data and models had loaded, or run on something else.
 */
function fullPeriodValues(flags: Flags) {
  const from = arg(flags, 'from', '2023-07-01')!;
  const startMs = dateFlag('from', from);
  const batteryKw = arg(flags, 'battery-kw');
  const threshold = arg(flags, 'threshold');
  const planOptions = arg(flags, 'plan-options', '{}')!;
  let parsedOptions: unknown;
  try {
    parsedOptions = JSON.parse(planOptions);
  } catch (e) {
    throw new BenchUsageError(`--plan-options: not JSON (${(e as Error).message})`);
  }
  if (typeof parsedOptions !== 'object' || parsedOptions === null || Array.isArray(parsedOptions)) throw new BenchUsageError('--plan-options: must be a JSON object of planner options');
  return {
    from,
    startMs,
    days: wholeFlag('days', arg(flags, 'days', '92')!, 1, 366),
    batteryKw: batteryKw === undefined ? undefined : numberFlag('battery-kw', batteryKw, 0),
    jobsPerDay: wholeFlag('jobs-per-day', arg(flags, 'jobs-per-day', '200')!),
    utilisation: numberFlag('utilisation', arg(flags, 'utilisation', '0.5')!, 0, 1),
    threshold: threshold === undefined ? undefined : numberFlag('threshold', threshold, 0),
    scaling: flags['no-scaling'] === true ? [] : arg(flags, 'scaling', '100,1000,5000,10000')!.split(',').map((x) => wholeFlag('scaling', x)),
    scalingReps: wholeFlag('scaling-reps', arg(flags, 'scaling-reps', '3')!),
    planOn: choiceFlag(flags, 'plan-on', ['mean', 'p50'], 'mean')!,
    planOptions: parsedOptions as PlanOptions,
    priceColumn: choiceFlag(flags, 'price-column', ['market', 'imbalance'], 'market')!,
    forecast: choiceFlag(flags, 'forecast', ['auto', 'ensemble', 'lstm', 'sty', 'published'], 'auto')!,
    perfect: choiceFlag(flags, 'perfect', ['price', 'carbon']),
    name: resultsName(flags),
  };
}

/**
 * The results file a full-period run writes (`--name`, default `schedule`). The analysis runs
 * (`--perfect`, `--battery-kw`) change what is measured, so they may not replace the main
 * results: they take another `--name` or `--no-write`.
 */
function resultsName(flags: Flags): string {
  const name = checkResultsName(arg(flags, 'name', 'schedule')!);
  const analysis = ['perfect', 'battery-kw'].filter((f) => flags[f] !== undefined);
  if (name === 'schedule' && analysis.length && flags['no-write'] !== true) {
    throw new BenchUsageError(`--${analysis[0]}: an analysis run would replace the main results in bench/results/schedule.json; give it --name <file> or --no-write`);
  }
  return name;
}

/**
 * Where in the results file a full-period run goes: the shipped forecaster's run at the top
 * (what README and the planner's README quote), any other forecaster's under its own key, so
 * that comparing forecasters never overwrites the main run, nor the walk-forward's keys.
 */
export function fullPeriodKey(forecast: FullPeriodValues['forecast']): string | null {
  return forecast === 'auto' || forecast === 'ensemble' ? null : `fullPeriod${forecast[0]!.toUpperCase()}${forecast.slice(1)}`;
}

/** Fill gaps: carry the last value forward (and the first one backward). */
function fill(a: Float64Array): Float64Array {
  let last = NaN;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) last = a[i]!;
  else if (Number.isFinite(last)) a[i] = last;
  let first = NaN;
  for (let i = a.length - 1; i >= 0; i--) if (Number.isFinite(a[i]!)) first = a[i]!;
  else a[i] = first;
  return a;
}

interface SeriesSet {
  readonly fromMs: number;
  readonly price: Float64Array;
  readonly carbon: Float64Array;
  readonly carbonPublished: Float64Array;
}

/** Same time yesterday, for 48 h ahead: slots beyond tomorrow use the day before yesterday. */
function sty(series: Float64Array, idx: number, k: number): number {
  const back = k < DAY_SLOTS ? DAY_SLOTS : 2 * DAY_SLOTS;
  return series[Math.max(0, idx + k - back)]!;
}

/** A 96-half-hour forecast with its bands (P10 = P50 = P90 for the point methods). */
type BandSeries = ReadonlyArray<BandPoint>;

interface ForecastModels {
  /** Which forecast the run used, as printed and written to the results. */
  readonly name: string;
  forecastAt(tMs: number): Promise<{ price: BandSeries; carbon: BandSeries }>;
}

const point = (xs: number[]): BandSeries => xs.map((v) => ({ p10: v, p50: v, p90: v }));

/**
 * The forecast every policy plans with. `auto` (default): the grid agent's forecaster as it
 * ships, the online ensemble (agents/grid/ensemble-forecaster.ts), made honest for a bench as
 * the walk-forward makes it: no warm start from the fit file, weights and bands refitted on the
 * 28 days before each origin, each LSTM member admitted only from the end of its validation
 * data; a model that will not load leaves the baselines, and the name says so. `ensemble`: the
 * same, or an error if a model will not load. `lstm`: the bare LSTMs (the grid agent's default
 * until 2026-12-05) or an error; `sty`: same time yesterday; `published`: NESO's published
 * carbon column (a late revision, optimistic).
 */
async function forecastModels(kind: FullPeriodValues['forecast'], s: SeriesSet): Promise<ForecastModels> {
  const idxOf = (t: number) => Math.round((t - s.fromMs) / SLOT_MS);
  const styF: ForecastModels = {
    name: 'same-time-yesterday (carbon and price)',
    forecastAt: async (t) => {
      const i = idxOf(t);
      return { price: point(Array.from({ length: 96 }, (_, k) => sty(s.price, i, k))), carbon: point(Array.from({ length: 96 }, (_, k) => sty(s.carbon, i, k))) };
    },
  };
  if (kind === 'sty') return styF;
  if (kind === 'published') {
    return {
      name: 'carbon: NESO published (late revision, optimistic); price: same-time-yesterday',
      forecastAt: async (t) => {
        const i = idxOf(t);
        return { price: point(Array.from({ length: 96 }, (_, k) => sty(s.price, i, k))), carbon: point(Array.from({ length: 96 }, (_, k) => s.carbonPublished[i + k]!)) };
      },
    };
  }
  const loaded = await benchForecaster(kind === 'lstm' ? 'lstm' : 'ensemble');
  for (const n of loaded.notes) console.log(`forecaster: ${n}`);
  const fellBack = loaded.notes.some((n) => n.includes('not loaded'));
  if (kind !== 'auto' && fellBack) throw new Error(`--forecast ${kind}: ${loaded.notes.join('; ')}`);
  // What the grid agent hands each model: as many half-hours before t as it asks for (the
  // ensemble ~38 days), never before the first one loaded.
  const hist = (f: SeriesForecaster, arr: Float64Array, t: number) => pastOnly(arr, s.fromMs, idxOf(t), historySlotsOf(f));
  const how = kind === 'lstm' ? '' : ' (refitted on the 28 days before each origin, no warm start; LSTMs from the end of their validation data)';
  return {
    name: `carbon ${loaded.carbon.describe}, price ${loaded.price.describe}${how}`,
    forecastAt: async (t) => {
      const c = await loaded.carbon.forecast(hist(loaded.carbon, s.carbon, t), t);
      const p = await loaded.price.forecast(hist(loaded.price, s.price, t), t);
      return { carbon: c.points, price: p.points };
    },
  };
}

/**
 * `--perfect price|carbon`: replace one series' forecast by the actual values, to split the
 * gap to the oracle between the price forecast's error and the carbon forecast's (analysis only).
 */
async function withPerfect(fm: ForecastModels, which: FullPeriodValues['perfect'], s: SeriesSet): Promise<ForecastModels> {
  if (which === undefined) return fm;
  const idxOf = (t: number) => Math.round((t - s.fromMs) / SLOT_MS);
  const actualBands = (arr: Float64Array, t: number) => point(Array.from(arr.subarray(idxOf(t), idxOf(t) + 96)));
  return {
    name: `${fm.name}; ${which}: ACTUAL (perfect, analysis only)`,
    forecastAt: async (t) => {
      const f = await fm.forecastAt(t);
      return which === 'price' ? { ...f, price: actualBands(s.price, t) } : { ...f, carbon: actualBands(s.carbon, t) };
    },
  };
}

/**
 * The signals from `wantedFromMs` (clipped at the first half-hour both files hold: the gap
 * filler would otherwise make up a flat history before the data for the forecaster to fit on)
 * to `toMs`.
 */
function loadSeries(files: SignalFiles, priceColumn: FullPeriodValues['priceColumn'], wantedFromMs: number, toMs: number): SeriesSet {
  const carbonRows = files.carbon.rows;
  const priceRows = files.prices.rows;
  const col = priceColumn === 'imbalance' ? 'imbalanceGbpPerMwh' : 'marketIndexGbpPerMwh';
  const fromMs = Math.min(Math.max(wantedFromMs, Math.ceil(files.dataFromMs / SLOT_MS) * SLOT_MS), toMs - SLOT_MS);
  return {
    fromMs,
    price: fill(toHalfHourSeries(priceRows, col, fromMs, toMs)),
    carbon: fill(toHalfHourSeries(carbonRows, 'actualGPerKwh', fromMs, toMs)),
    carbonPublished: fill(toHalfHourSeries(carbonRows, 'forecastGPerKwh', fromMs, toMs)),
  };
}

function share(base: number, policy: number, oracle: number): number | null {
  const d = base - oracle;
  return Math.abs(d) < 1e-9 ? null : (base - policy) / d;
}

async function scalingRuns(sizes: number[], reps: number, s: SeriesSet, fromMs: number) {
  const traces = loadTraceStats();
  const out = [];
  for (const n of sizes) {
    const times: number[] = [];
    const gaps: number[] = [];
    const statuses: string[] = [];
    const nodes: number[] = [];
    const iterations: number[] = [];
    let cols = 0;
    let ints = 0;
    const r = n >= 5000 ? Math.min(reps, 2) : reps;
    for (let k = 0; k < r; k++) {
      const w = generateWorkload({ seed: `scale-${n}-${k}`, startMs: fromMs, days: 2, jobsPerDay: n / 2, servingShare: 0.15 }, traces);
      const jobs = w.jobs.filter((j) => j.class !== 'serving').slice(0, n);
      const serving = w.jobs.filter((j) => j.class === 'serving');
      // The 48 h these rows have always been solved on: from 28 days before the run's start.
      const at = Math.max(0, Math.round((fromMs - 28 * DAY_SLOTS * SLOT_MS - s.fromMs) / SLOT_MS));
      const signals: Signals = { startMs: fromMs, priceGbpPerMwh: Array.from(s.price.subarray(at, at + 96)), intensityGPerKwh: Array.from(s.carbon.subarray(at, at + 96)) };
      const t0 = performance.now();
      // As the compute agent plans: deterministic work limits, the wall clock only a safety net.
      const p = await plan({ nowMs: fromMs, site: DEFAULT_SITE, jobs: [...serving, ...jobs], signals, batterySocKwh: 2500 }, { mode: 'full', deterministic: true, mipRelGap: 0.01 });
      nodes.push(p.solver.mipNodes);
      iterations.push(p.solver.lpIterations);
      times.push(performance.now() - t0);
      if (p.solver.gap !== null) gaps.push(p.solver.gap);
      statuses.push(p.status);
      cols = p.solver.columns;
      ints = p.solver.integerColumns;
      console.log(`  scaling n=${n} rep=${k}: ${(times.at(-1)! / 1000).toFixed(2)} s, ${p.status}, gap ${p.solver.gap === null ? '—' : (p.solver.gap * 100).toFixed(3) + ' %'}, ${p.solver.mipNodes} nodes, ${p.solver.lpIterations} LP iterations, ${p.solver.columns} cols (${p.solver.integerColumns} int), ${p.solver.groups} groups, mode ${p.solver.mode}`);
    }
    out.push({ jobs: n, reps: r, p50S: percentile(times, 50) / 1000, p95S: percentile(times, 95) / 1000, maxGapVsLpBound: gaps.length ? Math.max(...gaps) : null, statuses, mipNodes: nodes, lpIterations: iterations, columns: cols, integerColumns: ints });
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const parsed = scheduleFlags(argv);
  if ('walkForward' in parsed) return walkForward(parsed.walkForward);
  if ('lwa' in parsed) {
    const r = await runLetsWaitAwhile(parsed.lwa);
    printTable(`Let's Wait Awhile ML scenario: ${r.jobs} jobs, GB 2020 (hourly, interpolated to half-hours), deadline rule "${r.rule}", longest window ${r.maxWindowH.toFixed(1)} h; carbon saved vs run at arrival`, [
      { variant: 'non-interruptible', 'per-job optimum %': r.variants.nonInterruptible.optimumSavedPct, 'planner (shipped, perfect information) %': r.variants.nonInterruptible.plannerSavedPct, 'jobs off the optimum': r.variants.nonInterruptible.jobsOffOptimum, 're-plan moved start': r.variants.nonInterruptible.replanChanged },
      { variant: 'interruptible', 'per-job optimum %': r.variants.interruptible.optimumSavedPct, 'planner (shipped, perfect information) %': r.variants.interruptible.plannerSavedPct, 'jobs off the optimum': r.variants.interruptible.jobsOffOptimum, 're-plan moved start': r.variants.interruptible.replanChanged },
    ]);
    if (parsed.lwa.write) writeResults('schedule-lets-wait-awhile', r);
    return;
  }
  const { flags, values: v } = parsed;
  const { from, days, startMs, planOn } = v;
  // --battery-kw 0: the site without its battery (analysis: how much of a saving is the battery's).
  const site = v.batteryKw === undefined ? DEFAULT_SITE : siteConfig({ battery: { powerKw: v.batteryKw } });
  const simSlots = days * DAY_SLOTS;
  const drainSlots = 4 * DAY_SLOTS;
  // As much history as the grid agent reads (the ensemble's ~38 days), with a day to spare.
  // The data end on 2023-09-30; the run's tail reuses the last values (the loader's fill).
  const given = { carbonCsv: arg(flags, 'carbon'), pricesCsv: arg(flags, 'prices') };
  const files = usageAsBench(() => loadSignalFiles(given));
  // The days run must be in the data; only the drain and the last plans' horizon may run past its end.
  if (startMs < files.dataFromMs || startMs + simSlots * SLOT_MS > files.dataToMs) {
    throw new BenchUsageError(`--from ${from} --days ${days}: the data cover ${isoDayOrTime(files.dataFromMs)} to ${isoDayOrTime(files.dataToMs)}; the days run must lie inside them`);
  }
  const s = loadSeries(files, v.priceColumn, startMs - (HISTORY_SLOTS + DAY_SLOTS) * SLOT_MS, startMs + (simSlots + drainSlots + 2 * 96) * SLOT_MS);
  const off = Math.round((startMs - s.fromMs) / SLOT_MS);
  const actual: Signals = { startMs, priceGbpPerMwh: Array.from(s.price.subarray(off)), intensityGPerKwh: Array.from(s.carbon.subarray(off)) };
  const notes: string[] = [];
  if (startMs + (simSlots + drainSlots + 96) * SLOT_MS > files.dataToMs) notes.push(`signals after ${new Date(files.dataToMs - SLOT_MS).toISOString().slice(0, 16)}Z (the data's last half-hour) are the last known values carried forward`);
  if (off < HISTORY_SLOTS) notes.push(`the data hold ${(off / DAY_SLOTS).toFixed(1)} days before the run; the forecaster reads ${(HISTORY_SLOTS / DAY_SLOTS).toFixed(1)}, so its first forecasts fit on less`);

  let jobs: Job[];
  let workloadDesc: string;
  const jobsFile = arg(flags, 'jobs');
  if (jobsFile) {
    const r = readWorkloadCsv(readFileSync(jobsFile, 'utf8'), site);
    // As caco simulate --jobs: a benchmark of fewer jobs than the file holds would be of another workload.
    if (r.problems.length) throw new BenchUsageError(`--jobs ${jobsFile}: line ${r.problems[0]!.line}, ${r.problems[0]!.field}: ${r.problems[0]!.reason}${r.problems.length > 1 ? ` (and ${r.problems.length - 1} more)` : ''}`);
    jobs = r.jobs;
    workloadDesc = `csv ${jobsFile}`;
  } else {
    const seed = arg(flags, 'seed', '1')!;
    const w = generateWorkload({ seed, startMs, days, jobsPerDay: v.jobsPerDay, targetUtilisation: v.utilisation }, loadTraceStats());
    jobs = w.jobs;
    workloadDesc = `generator seed ${seed}, ${days} days, ${w.params.jobsPerDay} deferrable jobs/day, target utilisation ${w.params.targetUtilisation}, slack share ${w.params.slackShare}, gang scale ${w.gangScale.toFixed(1)}`;
  }
  jobs = jobs.filter((j) => validateJob(j, site).length === 0);
  console.log(`workload: ${jobs.length} jobs (${workloadDesc})`);

  const fm = await withPerfect(await forecastModels(v.forecast, s), v.perfect, s);
  console.log(`forecast: ${fm.name}`);
  // Forecasts are computed once per half-hour and shared by every policy.
  const fcache = new Map<number, { price: BandSeries; carbon: BandSeries }>();
  const warm = async () => {
    const t0 = performance.now();
    for (let k = 0; k < simSlots + drainSlots; k++) {
      const t = startMs + k * SLOT_MS;
      fcache.set(t, await fm.forecastAt(t));
    }
    console.log(`  forecasts: ${fcache.size} origins in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  const bandsAt = (t: number) => {
    const f = fcache.get(t);
    if (!f) throw new Error(`no forecast cached for ${new Date(t).toISOString()}`);
    return f;
  };
  // X defaults to the 30th percentile of the 30 days before the run: "clean" by recent standards.
  const threshold = v.threshold ?? Math.round(quantile(Array.from(s.carbon.subarray(Math.max(0, off - 30 * DAY_SLOTS), off)), 0.3));

  // Every policy plans on the same point forecast: the expected value from the bands (default), or the P50.
  const results: SimResult[] = [];
  const replanMs: { all: number[]; incremental: number[]; full: number[] } = { all: [], incremental: [], full: [] };
  // Both MILP policies plan as the simulation's compute agent does (deterministically), and re-plan
  // fully every half-hour: a new forecast each half-hour makes the starts kept by an incremental
  // re-plan stale (worth ~1 pp of the oracle's cost saving; see the planner README).
  const planOptions: PlanOptions = { deterministic: true, fullEveryMs: 0, ...v.planOptions };
  if (flags['no-sim'] !== true) {
    await warm();
    const signalsAt = (t: number, how: string): Signals => {
      const f = bandsAt(t);
      const est = (b: BandSeries) => (how === 'mean' ? expectedFromBands(b) : b.map((x) => x.p50));
      return { startMs: t, priceGbpPerMwh: est(f.price), intensityGPerKwh: est(f.carbon) };
    };
    const forecastAt = (t: number) => signalsAt(t, planOn);
    // The planner as it was configured before the gap study: P50, incremental re-plans with a full one every 6 h.
    const before: Policy = { name: 'planner (MILP, P50, incremental)', sees: 'forecast', plan: (input) => plan({ ...input, signals: signalsAt(input.nowMs, 'p50') }, { deterministic: true }) };
    const all: Policy[] = [runOnArrivalPolicy(), thresholdPolicy(threshold), bestWindowPolicy(), lowestKPolicy(), plannerPolicy(planOptions), ...(flags['with-before'] === true ? [before] : []), oraclePolicy(planOptions)];
    const wanted = arg(flags, 'policies')?.split(',');
    const policies = wanted ? all.filter((p) => wanted.some((w) => p.name.startsWith(w))) : all;
    await sharedSolverWorker().warmUp();
    for (const policy of policies) {
      const t0 = performance.now();
      const r = await simulate(policy, {
        site,
        startMs,
        slots: simSlots,
        jobs,
        actual,
        forecastAt,
        initialSocKwh: 0.5 * site.battery.energyKwh,
        drainSlots,
        onStep: policy.name === 'planner (MILP)'
          ? (_step: number, p: PlanResult) => {
              replanMs.all.push(p.solver.totalMs);
              (p.solver.mode === 'incremental' ? replanMs.incremental : replanMs.full).push(p.solver.totalMs);
            }
          : undefined,
      });
      results.push(r);
      console.log(`  ${policy.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s, ${r.steps} steps, statuses ${JSON.stringify(r.planStatuses)}${r.validationProblems ? `, ${r.validationProblems} validation problems: ${r.firstProblems[0]}` : ''}`);
      printMisses(r);
    }
  }

  const base = results.find((r) => r.policy === 'run-on-arrival');
  const oracle = results.find((r) => r.policy.startsWith('oracle'));
  const rows = results.map((r) => ({
    policy: r.policy,
    'energy £': Math.round(r.energyCostGbp),
    'carbon t': Number(r.carbonT.toFixed(2)),
    'energy+carbon £': Math.round(r.energyCostGbp + r.carbonCostGbp),
    'SLA misses': r.deadlineMisses,
    'misses (feasible)': r.missesFeasibleOnArrival,
    'peak kW': Math.round(r.peakSiteKw),
    'batt cycles': Number(r.batteryCycles.toFixed(1)),
    'cost saving % of oracle': base && oracle ? pct(share(base.energyCostGbp, r.energyCostGbp, oracle.energyCostGbp)) : null,
    'carbon saving % of oracle': base && oracle ? pct(share(base.carbonT, r.carbonT, oracle.carbonT)) : null,
    'plan p50 ms': Math.round(percentile(r.planMs, 50)),
  }));
  if (rows.length) printTable(`Schedule ${from} + ${days} days, forecasts: ${fm.name}, planned on ${planOn === 'mean' ? 'the expected value from P10/P50/P90' : 'P50'}`, rows);

  const scaling = v.scaling.length ? await scalingRuns(v.scaling, v.scalingReps, s, startMs) : [];
  if (scaling.length) {
    printTable('Planner solve time by jobs per 48 h (full re-plan, 96 slots)', scaling.map((x) => ({ jobs: x.jobs, reps: x.reps, 'p50 s': x.p50S, 'p95 s': x.p95S, 'max gap vs LP bound %': x.maxGapVsLpBound === null ? null : x.maxGapVsLpBound * 100, 'int cols': x.integerColumns, 'max nodes': Math.max(...x.mipNodes), 'max LP it': Math.max(...x.lpIterations) })));
  }
  const replan = {
    all: { n: replanMs.all.length, p50Ms: percentile(replanMs.all, 50), p95Ms: percentile(replanMs.all, 95) },
    incremental: { n: replanMs.incremental.length, p50Ms: percentile(replanMs.incremental, 50), p95Ms: percentile(replanMs.incremental, 95) },
    full: { n: replanMs.full.length, p50Ms: percentile(replanMs.full, 50), p95Ms: percentile(replanMs.full, 95) },
  };
  if (replanMs.all.length) printTable('Half-hourly re-plan of the default site (planner policy, wall time incl. worker)', [
    { kind: 'all', n: replan.all.n, 'p50 ms': replan.all.p50Ms, 'p95 ms': replan.all.p95Ms },
    { kind: 'incremental', n: replan.incremental.n, 'p50 ms': replan.incremental.p50Ms, 'p95 ms': replan.incremental.p95Ms },
    { kind: 'full', n: replan.full.n, 'p50 ms': replan.full.p50Ms, 'p95 ms': replan.full.p95Ms },
  ]);
  for (const n of notes) console.log(`note: ${n}`);
  if (flags['no-write'] === true) return void (await sharedSolverWorker().close());
  const run = {
    period: { from, days },
    data: signalFileNames(given),
    workload: workloadDesc,
    jobs: jobs.length,
    forecast: fm.name,
    plannedOn: planOn === 'mean' ? 'expected value from P10/P50/P90 (0.3/0.4/0.3)' : 'P50',
    planOptions,
    thresholdGPerKwh: threshold,
    priceColumn: v.priceColumn,
    policies: results.map((r) => ({ ...r, planMs: undefined, planP50Ms: percentile(r.planMs, 50), planP95Ms: percentile(r.planMs, 95) })),
    shareOfOracleSaving: base && oracle ? Object.fromEntries(results.map((r) => [r.policy, { cost: share(base.energyCostGbp, r.energyCostGbp, oracle.energyCostGbp), carbon: share(base.carbonT, r.carbonT, oracle.carbonT) }])) : null,
    scaling,
    replan,
    notes,
    ...(v.perfect ? { perfect: v.perfect } : {}),
    ...(v.batteryKw !== undefined ? { batteryKw: v.batteryKw } : {}),
  };
  // What else the file holds stays: the walk-forward's results, and other forecasters' runs.
  const key = fullPeriodKey(v.forecast);
  writeResultsKeeping(v.name, key === null ? run : { [key]: run });
  await sharedSolverWorker().close();
}

function pct(v: number | null): number | null {
  return v === null ? null : Number((v * 100).toFixed(1));
}

function quantile(xs: number[], q: number): number {
  const f = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return f[Math.floor(f.length * q)] ?? 150;
}
