/**
 * `npm run bench -- flexibility [--weeks held-out|tuning|fresh|all|2023-04-03,…] [--forecasters lstm,ensemble] [--seed 42]
 *   [--carbon csv] [--prices csv] [--name flexibility]`
 *   or `npm run bench -- flexibility --compare flexibility-lstm,flexibility-ensemble,flexibility-fresh` (no runs: the
 *   forecasters' whole-site cost from earlier results)
 *
 * Does the flexibility the site sells get delivered, week after week? The simulation (agents,
 * market, grid operator) on several weeks of 2023 with each forecaster, reporting per week the
 * orders settled, delivery ratio (delivered / contracted), net flexibility revenue and SLA
 * misses, and pooled over the held-out weeks (issue 13's targets: ≥ 95 %, > £0, 0 misses);
 * and the site's energy bill and emissions per week, so the forecasters' decisions can be
 * compared on the same weeks and jobs.
 *
 * Weeks (`--weeks tuning|held-out|fresh|all|<dates>`, default held-out): every Monday of
 * 2023-01..03 is a tuning week, where the offer and delivery rules were compared while being
 * changed (marked, and left out of the pool); the held-out weeks, the default week among them,
 * were run only afterwards. A held-out week's miss led to the battery hold (PlanInput.flexHoldKw),
 * so the held-out weeks are no longer unseen for it: the fresh weeks (second and fourth Mondays)
 * were first run after it was written, and are pooled on their own.
 *
 * `--carbon` / `--prices` run the weeks on other signal files with the shared files' columns (a
 * later period no rule here was written on); any other dates are the set `other`. Every week is
 * checked against the files before the first runs (8 days of history, 2 of drain).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation, cacoTotals, checkSimulatedPeriod, loadSignalFiles } from '../sim/index.ts';
import { siteConfig } from '../agents/compute/jobs/index.ts';
import { loadConfig } from '../core/config/index.ts';
import { BenchUsageError, checkResultsName, benchFlags, dateFlag, oneOfFlag, printTable, readResults, signalFileNames, usageAsBench, writeResults } from './report.ts';
import { LSTM_DATA_END, PLANNER_TUNING, overlapsPlannerTuning, untunedPeriod } from './_tuned-on.ts';

/** Every Monday of 2023-01..03: where the offer and delivery rules were compared (as the forecasts' settings were on 2023-02..03). */
export const TUNING_WEEKS = mondays('2023-01-09', '2023-03-27');
/** The first and third Monday of each month 2023-04..09 (the default week, 2023-07-03, among them): run only afterwards. */
export const HELD_OUT_WEEKS = ['2023-04-03', '2023-04-17', '2023-05-01', '2023-05-15', '2023-06-05', '2023-06-19', '2023-07-03', '2023-07-17', '2023-08-07', '2023-08-21', '2023-09-04', '2023-09-18'];

/** The second and fourth Monday of each month 2023-04..09 whose week ends inside the data (to 2023-09-30): first run after the battery hold. */
export const FRESH_WEEKS = ['2023-04-10', '2023-04-24', '2023-05-08', '2023-05-22', '2023-06-12', '2023-06-26', '2023-07-10', '2023-07-24', '2023-08-14', '2023-08-28', '2023-09-11'];
type WeekSet = 'tuning' | 'held-out' | 'fresh' | 'other';
const setOf = (week: string): WeekSet => (TUNING_WEEKS.includes(week) ? 'tuning' : HELD_OUT_WEEKS.includes(week) ? 'held-out' : FRESH_WEEKS.includes(week) ? 'fresh' : 'other');

function mondays(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 7 * 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}
const FORECASTERS = ['lstm', 'ensemble', 'ensemble-tracked', 'naive'];

interface WeekResult {
  readonly week: string;
  readonly forecaster: string;
  readonly set: WeekSet;
  readonly orders: number;
  readonly contractedMwh: number;
  readonly deliveredMwh: number;
  readonly deliveryRatio: number | null;
  readonly netGbp: number;
  readonly slaMisses: number;
  /** The site's energy bill and emissions for the week (meter reads), to compare forecasters on the same jobs. */
  readonly energyGbp: number;
  readonly carbonT: number;
  readonly wallS: number;
}

/** `a,b, c` → ['a', 'b', 'c']. */
const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter(Boolean);

export async function main(argv: string[]): Promise<void> {
  const given = benchFlags(argv, { weeks: { type: 'string' }, forecasters: { type: 'string' }, seed: { type: 'string' }, name: { type: 'string' }, compare: { type: 'string' }, carbon: { type: 'string' }, prices: { type: 'string' } });
  if (given.compare !== undefined) {
    // It runs nothing: a run's flags beside it would be silently ignored.
    const ignored = (['weeks', 'forecasters', 'seed', 'name', 'carbon', 'prices'] as const).filter((k) => given[k] !== undefined);
    if (ignored.length) throw new BenchUsageError(`--compare reads earlier results and runs nothing: it takes no ${ignored.map((k) => `--${k}`).join(', ')}`);
    return printCompare(weeksOfFiles(list(given.compare)));
  }
  const values = { weeks: given.weeks ?? 'held-out', forecasters: given.forecasters ?? 'lstm,ensemble', seed: given.seed ?? '42', name: given.name ?? 'flexibility' };
  const named: Record<string, string[]> = { tuning: TUNING_WEEKS, 'held-out': HELD_OUT_WEEKS, fresh: FRESH_WEEKS, all: [...TUNING_WEEKS, ...HELD_OUT_WEEKS, ...FRESH_WEEKS] };
  const weeks = named[values.weeks] ?? list(values.weeks);
  const weekStarts = weeks.map((w) => dateFlag('weeks', w, 'tuning, held-out, fresh, all'));
  const forecasters = list(values.forecasters);
  for (const f of forecasters) oneOfFlag('forecasters', f, FORECASTERS);
  const seed = values.seed;
  // Checked now, not after the runs.
  const name = checkResultsName(values.name);
  // Other signal files (a later period): every week is checked against them before any runs.
  const files = { carbonCsv: given.carbon, pricesCsv: given.prices };
  usageAsBench(() => {
    const span = loadSignalFiles(files);
    for (const w of weekStarts) checkSimulatedPeriod(w, 7, span, '--weeks');
  });
  const data = signalFileNames(files);

  const results: WeekResult[] = [];
  const total = weeks.length * forecasters.length;
  for (const forecaster of forecasters) {
    for (const week of weeks) {
      const config = loadConfig({ env: { ...process.env, CACO_FORECASTER: forecaster, CACO_BUS: 'memory', CACO_STORE: 'sqlite', LOG_LEVEL: 'error' } });
      const dir = mkdtempSync(join(tmpdir(), 'caco-bench-flex-'));
      process.stderr.write(`[${results.length + 1}/${total}] ${week} with ${forecaster}…`);
      try {
        const run = await runSimulation({ config: { ...config, dataDir: dir }, seed, fromMs: Date.parse(`${week}T00:00:00Z`), days: 7, site: siteConfig(), outDir: join(dir, 'run'), baselines: false, ...(files.carbonCsv ? { carbonCsv: files.carbonCsv } : {}), ...(files.pricesCsv ? { pricesCsv: files.pricesCsv } : {}) });
        try {
          const t = await cacoTotals(run.runtime.store, run.inputs.jobs, siteConfig());
          results.push({
            week,
            forecaster,
            set: setOf(week),
            orders: t.flexOrdersSettled,
            contractedMwh: round3(t.flexContractedMwh),
            deliveredMwh: round3(t.flexDeliveredMwh),
            deliveryRatio: t.flexContractedMwh > 0 ? round3(t.flexDeliveredMwh / t.flexContractedMwh) : null,
            netGbp: Math.round(t.flexEarnedGbp * 100) / 100,
            slaMisses: t.slaMisses,
            energyGbp: Math.round(t.energyCostGbp * 100) / 100,
            carbonT: round3(t.carbonT),
            wallS: Math.round(run.wallMs / 100) / 10,
          });
          process.stderr.write(` ${(run.wallMs / 1000).toFixed(0)} s\n`);
        } finally {
          await run.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }

  const rows = results.map((r) => ({
    week: r.set === 'held-out' || r.set === 'other' ? r.week : `${r.week} (${r.set})`,
    forecaster: r.forecaster,
    orders: r.orders,
    'contracted MWh': r.contractedMwh,
    'delivered MWh': r.deliveredMwh,
    'delivery ratio': r.deliveryRatio === null ? 'n/a' : `${(100 * r.deliveryRatio).toFixed(1)} %`,
    'net £': r.netGbp,
    'SLA misses': r.slaMisses,
    'energy £': Math.round(r.energyGbp),
    'carbon t': Number(r.carbonT.toFixed(1)),
  }));
  const sets = pooledSets(results);
  const pooled = poolBySet(results, sets);
  printTable(`flexibility benchmark: 7-day simulations, seed ${seed}`, rows);
  printPools(pooled);
  if (forecasters.length > 1) printComparison(results);
  writeResults(name, { seed, data, tuningWeeks: TUNING_WEEKS, heldOutWeeks: HELD_OUT_WEEKS, freshWeeks: FRESH_WEEKS, pooledOver: sets, weeks: results, pooled });
}

/** Weeks from July on come after the LSTMs' validation data (models/*\/MODEL_CARD.md): no forecaster here has seen them. */
export const UNSEEN_FROM_WEEK = '2023-07-01';
/** How a group's label says it leaves out the weeks the planner was tuned on (overlapsPlannerTuning). */
export const UNTUNED_WEEKS = `without ${PLANNER_TUNING.from} + ${PLANNER_TUNING.days} days`;
/** How a pool's label says it keeps only the weeks out of sample for every model and setting (untunedPeriod). */
export const OUT_OF_SAMPLE_WEEKS = `from ${LSTM_DATA_END} (the LSTMs' data end), ${UNTUNED_WEEKS}`;

export type ComparedWeek = Pick<WeekResult, 'week' | 'forecaster' | 'set' | 'energyGbp' | 'carbonT' | 'netGbp'>;

export interface ForecasterComparison {
  /** A set of weeks, alone or from July on, or every set from July on. */
  readonly weeks: string;
  readonly forecaster: string;
  readonly against: string;
  /** Weeks both ran. */
  readonly paired: number;
  /** Mean a week of energy + carbon at the site's carbon price − flexibility earned. */
  readonly costGbpPerWeek: number;
  readonly againstGbpPerWeek: number;
  readonly differenceGbpPerWeek: number;
  readonly weeksCheaper: number;
}

/**
 * Each forecaster's whole-site cost against the first one's, on the weeks both ran (the same
 * jobs): energy + carbon × `carbonPriceGbpPerT` − flexibility earned, per set of weeks, per set
 * from July on, and over every set from July on. Pure.
 */
export function compareForecasters(weeks: ReadonlyArray<ComparedWeek>, carbonPriceGbpPerT: number): ForecasterComparison[] {
  const forecasters = [...new Set(weeks.map((w) => w.forecaster))];
  const against = forecasters[0];
  if (against === undefined) return [];
  const cost = (w: ComparedWeek) => w.energyGbp + w.carbonT * carbonPriceGbpPerT - w.netGbp;
  const sets = [...new Set(weeks.map((w) => w.set))];
  type Group = [string, (w: ComparedWeek) => boolean];
  // Each group again without the weeks that share a day with the planner's tuning fortnight:
  // the default week (2023-07-03) among them, so neither set is wholly unseen by the planner.
  const andUntuned = ([label, inGroup]: Group): Group[] => [
    [label, inGroup],
    [`${label}, ${UNTUNED_WEEKS}`, (w) => inGroup(w) && !overlapsPlannerTuning(w.week, 7)],
  ];
  const groups: Group[] = [
    ...sets.flatMap((set): Group[] => [
      ...andUntuned([set, (w) => w.set === set]),
      ...andUntuned([`${set}, from July`, (w) => w.set === set && w.week >= UNSEEN_FROM_WEEK]),
    ]),
    ...(sets.length > 1 ? andUntuned(['every set, from July', (w) => w.week >= UNSEEN_FROM_WEEK]) : []),
  ];
  const out: ForecasterComparison[] = [];
  for (const [label, inGroup] of groups) {
    const base = new Map(weeks.filter((w) => w.forecaster === against && inGroup(w)).map((w) => [w.week, w]));
    for (const f of forecasters.slice(1)) {
      const pairs = weeks.filter((w) => w.forecaster === f && inGroup(w) && base.has(w.week)).map((w) => [cost(w), cost(base.get(w.week)!)] as const);
      if (pairs.length === 0) continue;
      const mean = (k: 0 | 1) => pairs.reduce((a, p) => a + p[k], 0) / pairs.length;
      out.push({
        weeks: label,
        forecaster: f,
        against,
        paired: pairs.length,
        costGbpPerWeek: Math.round(mean(0)),
        againstGbpPerWeek: Math.round(mean(1)),
        differenceGbpPerWeek: Math.round(mean(0) - mean(1)),
        weeksCheaper: pairs.filter(([c, b]) => c < b).length,
      });
    }
  }
  return out;
}

function printComparison(weeks: ReadonlyArray<ComparedWeek>): void {
  const price = siteConfig().carbonPriceGbpPerT;
  printTable(`whole-site cost a week on the same weeks and jobs: energy + carbon at £${price}/t − flexibility earned`, compareForecasters(weeks, price).map((c) => ({
    weeks: c.weeks,
    forecaster: c.forecaster,
    against: c.against,
    'weeks paired': c.paired,
    '£ a week': c.costGbpPerWeek,
    [`against's £ a week`]: c.againstGbpPerWeek,
    difference: c.differenceGbpPerWeek,
    'weeks cheaper': `${c.weeksCheaper} of ${c.paired}`,
  })));
}

/** The weeks of earlier runs (`--compare flexibility-lstm,flexibility-ensemble`), each with its energy, emissions and flexibility. */
function weeksOfFiles(names: ReadonlyArray<string>): WeekResult[] {
  return names.flatMap((name) => {
    const r = readResults(name) as { weeks?: ReadonlyArray<Partial<Record<keyof WeekResult, unknown>>> } | undefined;
    if (!r?.weeks) throw new BenchUsageError(`--compare: bench/results/${name}.json holds no flexibility weeks`);
    return r.weeks.map((w, i) => {
      if (typeof w.energyGbp !== 'number' || typeof w.carbonT !== 'number') throw new BenchUsageError(`--compare: bench/results/${name}.json has no energy figures (written before 2026-12-04): run it again`);
      const missing = (['orders', 'contractedMwh', 'deliveredMwh', 'netGbp', 'slaMisses'] as const).filter((k) => typeof w[k] !== 'number');
      if (typeof w.week !== 'string' || typeof w.forecaster !== 'string' || missing.length) throw new BenchUsageError(`--compare: bench/results/${name}.json weeks[${i}]: ${missing.length ? missing.join(', ') : 'week or forecaster'} missing`);
      return w as WeekResult;
    });
  });
}

function printCompare(weeks: ReadonlyArray<WeekResult>): void {
  printPools(poolBySet(weeks, pooledSets(weeks)));
  printComparison(weeks);
}

/** Weeks not tuned on are the evidence, pooled set by set; a run of tuning weeks alone is pooled over them, and says so. */
function pooledSets(weeks: ReadonlyArray<Pick<WeekResult, 'set'>>): WeekSet[] {
  const present = [...new Set(weeks.map((w) => w.set))];
  return present.some((x) => x !== 'tuning') ? present.filter((x) => x !== 'tuning') : present;
}

/**
 * Each set of weeks pooled per forecaster, and again over the weeks out of sample for every
 * model and setting (`untuned: true`): after the LSTMs' training and validation data (the
 * simulation admits them at every decision, as the site does) and clear of the planner's
 * tuning fortnight. Pure.
 */
export function poolBySet(results: ReadonlyArray<WeekResult>, sets: ReadonlyArray<WeekSet>) {
  const forecasters = [...new Set(results.map((r) => r.forecaster))];
  return sets.flatMap((set) => [false, true].flatMap((untuned) => forecasters.map((f) => ({
    set,
    untuned,
    ...pool(results.filter((r) => r.forecaster === f && r.set === set && (!untuned || untunedPeriod(r.week, 7))), f),
  }))));
}

function printPools(pooled: ReturnType<typeof poolBySet>): void {
  printTable(`pooled by set of weeks (targets: delivery ≥ 95 %, net > £0 a week, 0 SLA misses)`, pooled.map((p) => ({
    'weeks set': p.untuned ? `${p.set}, ${OUT_OF_SAMPLE_WEEKS}` : p.set,
    forecaster: p.forecaster,
    weeks: p.weeks,
    orders: p.orders,
    'delivery ratio': p.deliveryRatio === null ? 'n/a' : `${(100 * p.deliveryRatio).toFixed(1)} % ${p.deliveryRatio >= 0.95 ? 'met' : 'NOT met'}`,
    'weeks ≥ 95 %': `${p.weeksMet} of ${p.weeksWithOrders}`,
    'net £ a week': `${p.netGbpPerWeek.toFixed(2)} ${p.netGbpPerWeek > 0 ? 'met' : 'NOT met'}`,
    'weeks net < 0': p.weeksNegative,
    'SLA misses': `${p.slaMisses} ${p.slaMisses === 0 ? 'met' : 'NOT met'}`,
    'energy £ a week': p.energyGbpPerWeek,
    'carbon t a week': p.carbonTPerWeek,
  })));
}

function pool(rs: ReadonlyArray<WeekResult>, forecaster: string) {
  const contracted = rs.reduce((a, r) => a + r.contractedMwh, 0);
  const delivered = rs.reduce((a, r) => a + r.deliveredMwh, 0);
  const net = rs.reduce((a, r) => a + r.netGbp, 0);
  const withOrders = rs.filter((r) => r.deliveryRatio !== null);
  return {
    forecaster,
    weeks: rs.length,
    orders: rs.reduce((a, r) => a + r.orders, 0),
    deliveryRatio: contracted > 0 ? round3(delivered / contracted) : null,
    weeksWithOrders: withOrders.length,
    weeksMet: withOrders.filter((r) => r.deliveryRatio! >= 0.95).length,
    netGbpPerWeek: rs.length > 0 ? Math.round((net / rs.length) * 100) / 100 : 0,
    weeksNegative: rs.filter((r) => r.netGbp < 0).length,
    slaMisses: rs.reduce((a, r) => a + r.slaMisses, 0),
    // Every forecaster runs the same weeks with the same jobs, so these compare their decisions.
    energyGbpPerWeek: rs.length > 0 ? Math.round(rs.reduce((a, r) => a + r.energyGbp, 0) / rs.length) : 0,
    carbonTPerWeek: rs.length > 0 ? round3(rs.reduce((a, r) => a + r.carbonT, 0) / rs.length) : 0,
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
