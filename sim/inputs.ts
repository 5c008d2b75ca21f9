import { readFileSync, existsSync, statSync } from 'node:fs';
import { loadCarbonCsv, loadPriceCsv, type CarbonRow, type PriceRow, DataFileError, MAX_INPUT_FILE_BYTES } from '../data/index.ts';
import { generateWorkload, loadTraceStats, readWorkloadCsv } from './workload/index.ts';
import type { Job, SiteConfig } from '../agents/compute/jobs/index.ts';
import { UsageError } from '../core/errors/index.ts';
import type { Signals } from '../agents/compute/planner/index.ts';
import { HALF_HOUR_MS as SLOT_MS, DAY_MS } from '../core/time/index.ts';

/** The grid agent needs a week of history before the first forecast. */
export const HISTORY_MS = 8 * DAY_MS;
/** After the last arrival the run goes on until the jobs finish, at most this long. */
export const DRAIN_MS = 2 * DAY_MS;

export interface SimulationInputs {
  readonly carbon: ReadonlyArray<CarbonRow>;
  readonly prices: ReadonlyArray<PriceRow>;
  readonly jobs: ReadonlyArray<Job>;
  readonly dataFromMs: number;
  readonly dataToMs: number;
  readonly dropped: number;
  /** What the signal files lack inside the simulated days, and the rows of a job file left out, for the run's notes. */
  readonly gaps?: ReadonlyArray<string>;
}

// The bound is data/'s (it also bounds what a .gz unpacks to); checked here too so a file named
// on the command line is refused naming its flag, before the loader opens it.
export { MAX_INPUT_FILE_BYTES };

/** A data file given on the command line must exist and be a file (a folder or a device is not read), and not too big to read whole. */
export function checkInputFile(what: string, path: string): void {
  if (!existsSync(path)) throw new UsageError(`${what}: file ${path} does not exist`);
  const st = statSync(path);
  if (!st.isFile()) throw new UsageError(`${what}: ${path} is not a file; give the path of a CSV file`);
  if (st.size > MAX_INPUT_FILE_BYTES) throw new UsageError(`${what}: ${path} is ${(st.size / 2 ** 20).toFixed(0)} MiB; input files are read whole, at most ${MAX_INPUT_FILE_BYTES / 2 ** 20} MiB: cut it to the period you simulate`);
}

function load<R>(fn: () => { rows: R[]; dropped: unknown[] }, what: string, path: string | undefined): { rows: R[]; dropped: unknown[] } {
  if (path) checkInputFile(what, path);
  try {
    return fn();
  } catch (err) {
    if (err instanceof DataFileError) throw new UsageError(`${what}: ${err.message}`);
    throw err;
  }
}

/** One signal file (the project's copy when `path` is undefined), checked; a problem is a UsageError naming `--carbon` or `--prices`. */
export function loadCarbonFile(path: string | undefined): { rows: CarbonRow[]; dropped: unknown[] } {
  const carbon = load(() => loadCarbonCsv(path), '--carbon', path);
  if (carbon.rows.length === 0) throw new UsageError('--carbon: the file has no usable rows');
  return carbon;
}

export function loadPriceFile(path: string | undefined): { rows: PriceRow[]; dropped: unknown[] } {
  const prices = load(() => loadPriceCsv(path), '--prices', path);
  if (prices.rows.length === 0) throw new UsageError('--prices: the file has no usable rows');
  return prices;
}

export interface SignalFiles {
  readonly carbon: { rows: CarbonRow[]; dropped: unknown[] };
  readonly prices: { rows: PriceRow[]; dropped: unknown[] };
  /** The span both files cover: from the later first half-hour to the end of the earlier last one. */
  readonly dataFromMs: number;
  readonly dataToMs: number;
}

/**
 * The carbon and price files (the project's copies by default), checked as files and as CSVs;
 * a problem is a UsageError naming the flag (`--carbon`, `--prices`).
 */
export function loadSignalFiles(o: { carbonCsv?: string | undefined; pricesCsv?: string | undefined }): SignalFiles {
  const carbon = loadCarbonFile(o.carbonCsv);
  const prices = loadPriceFile(o.pricesCsv);
  const dataFromMs = Math.max(carbon.rows[0]!.fromMs, prices.rows[0]!.fromMs);
  const dataToMs = Math.min(carbon.rows.at(-1)!.fromMs, prices.rows.at(-1)!.fromMs) + SLOT_MS;
  if (dataToMs <= dataFromMs) throw new UsageError(`--carbon and --prices: the files do not overlap (carbon from ${new Date(carbon.rows[0]!.fromMs).toISOString()}, prices from ${new Date(prices.rows[0]!.fromMs).toISOString()})`);
  return { carbon, prices, dataFromMs, dataToMs };
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** A day, or a day and time when `ms` is not a midnight (UTC): the end of a file that stops at 13:30 is not the day's start. */
export const isoDayOrTime = (ms: number): string => (ms % DAY_MS === 0 ? isoDay(ms) : new Date(ms).toISOString().slice(0, 16) + 'Z');
/** The first midnight (UTC) at or after `ms`: the earliest day a run may start on. */
const dayAtOrAfter = (ms: number) => Math.ceil(ms / DAY_MS) * DAY_MS;

/**
 * A UsageError unless a run of `days` from `fromMs` has its history before it and its drain
 * after it inside the data. `flag` names the first day where the caller took it from.
 */
export function checkSimulatedPeriod(fromMs: number, days: number, span: Pick<SignalFiles, 'dataFromMs' | 'dataToMs'>, flag: '--from' | '--weeks' = '--from'): void {
  const endMs = fromMs + days * DAY_MS + DRAIN_MS;
  if (fromMs - HISTORY_MS < span.dataFromMs || endMs > span.dataToMs) {
    const what = flag === '--from' ? `--from ${isoDay(fromMs)} --days ${days}` : `--weeks: ${isoDay(fromMs)}`;
    throw new UsageError(
      `${what}: the data covers ${isoDayOrTime(span.dataFromMs)} to ${isoDayOrTime(span.dataToMs)}; a run needs 8 days of history before it and 2 days after it for the last jobs, so choose ${flag === '--from' ? '--from' : 'weeks starting'} between ${isoDay(dayAtOrAfter(span.dataFromMs + HISTORY_MS))} and ${isoDay(span.dataToMs - DRAIN_MS - days * DAY_MS)}`,
    );
  }
}

/** The least share of a run's half-hours (its days and the drain after them) each signal file must give a value for. */
export const MIN_SIGNAL_COVERAGE = 0.9;

/**
 * A UsageError unless each file gives a value for at least MIN_SIGNAL_COVERAGE of the
 * half-hours of the simulated days, and of those days with the drain after them; else the gaps
 * inside the simulated days, one note per file that has any. The site carries the last value
 * forward over a gap (and starts from 150 g/kWh or £80/MWh before the first): a file whose
 * column is empty there ran on those made-up values and reported them as results, exit 0.
 */
export function checkSignalCoverage(fromMs: number, days: number, files: Pick<SignalFiles, 'carbon' | 'prices'>): string[] {
  const runEndMs = fromMs + days * DAY_MS;
  const endMs = runEndMs + DRAIN_MS;
  const covered = (times: ReadonlySet<number>, toMs: number) => {
    let n = 0;
    for (const t of times) if (t >= fromMs && t < toMs && t % SLOT_MS === 0) n++;
    return n;
  };
  const carbon = new Set(files.carbon.rows.filter((r) => r.actualGPerKwh !== null).map((r) => r.fromMs));
  const prices = new Set(files.prices.rows.filter((r) => (r.marketIndexGbpPerMwh ?? r.imbalanceGbpPerMwh) !== null).map((r) => r.fromMs));
  const notes: string[] = [];
  for (const [flag, times, what] of [['--carbon', carbon, 'an actual carbon intensity'], ['--prices', prices, 'a price']] as const) {
    // The simulated days on their own as well: over the run and its drain together, a one-day
    // run could lack 29 % of the day it reports on.
    const refuseBelow = (toMs: number, span: string): number => {
      const slots = (toMs - fromMs) / SLOT_MS;
      const n = covered(times, toMs);
      if (n < MIN_SIGNAL_COVERAGE * slots) {
        throw new UsageError(`${flag}: only ${n} of the ${slots} half-hours from ${isoDayOrTime(fromMs)} to ${isoDayOrTime(toMs)} (${span}) have ${what}; a run needs at least ${Math.round(MIN_SIGNAL_COVERAGE * 100)} %, or its figures would come from values carried over the gaps, not from the file`);
      }
      return slots - n;
    };
    const missing = refuseBelow(runEndMs, 'the simulated days');
    refuseBelow(endMs, `the run and ${DRAIN_MS / DAY_MS} days after it`);
    const slots = (runEndMs - fromMs) / SLOT_MS;
    // The baselines and the battery's valuation carry the last value over; the site's own meter
    // (the CACO row) books a half-hour with no observation at the forecast it planned on, as a
    // site without the reading would (a helper's review: the note said only the first).
    if (missing > 0) notes.push(`${flag}: ${missing} of the ${slots} simulated half-hours have no usable value in the file (empty, not a number, or out of range); the baselines carry the last value before each over it, and the CACO row meters it at the forecast (site.meter.read signals "forecast")`);
  }
  return notes;
}

/** Load the signals and the workload, and check the period lies inside the data. */
export function loadInputs(o: { fromMs: number; days: number; seed: string; site: SiteConfig; carbonCsv?: string; pricesCsv?: string; jobsCsv?: string; jobsPerDay?: number; slackShare?: number }): SimulationInputs {
  const { carbon, prices, dataFromMs, dataToMs } = loadSignalFiles(o);
  checkSimulatedPeriod(o.fromMs, o.days, { dataFromMs, dataToMs });
  const notes = checkSignalCoverage(o.fromMs, o.days, { carbon, prices });
  let jobs: Job[];
  if (o.jobsCsv) {
    checkInputFile('--jobs', o.jobsCsv);
    const r = readWorkloadCsv(readFileSync(o.jobsCsv, 'utf8'), o.site);
    if (r.problems.length) {
      const p = r.problems[0]!;
      throw new UsageError(`--jobs ${o.jobsCsv}: line ${p.line}, ${p.field}: ${p.reason}${r.problems.length > 1 ? ` (and ${r.problems.length - 1} more)` : ''}`);
    }
    const runEndMs = o.fromMs + o.days * DAY_MS;
    const days = `${isoDay(o.fromMs)} and ${isoDay(runEndMs)}`;
    const inRun = (j: Job) => j.earliestStartMs >= o.fromMs && j.earliestStartMs < runEndMs;
    jobs = r.jobs.filter(inRun);
    if (jobs.length === 0) throw new UsageError(`--jobs ${o.jobsCsv}: no job is released between ${days}`);
    // Said, not only counted in the header: a workload shifted by a day, or one that starts
    // before --from, was simulated in part without a word (a helper's review).
    const outside = r.jobs.length - jobs.length;
    const first = outside > 0 ? r.jobs.find((j) => !inRun(j)) : undefined;
    if (first !== undefined) {
      const line = r.lines.get(first.id);
      notes.push(
        `--jobs ${o.jobsCsv}: ${outside} of its ${r.jobs.length} jobs are released outside the simulated days (${isoDay(o.fromMs)} to ${isoDay(runEndMs)}) and are left out of every row (the first: ${line !== undefined ? `line ${line}, ` : ''}"${first.id}", released ${new Date(first.earliestStartMs).toISOString()}); choose --from and --days to cover them`,
      );
    }
    // The run stops 2 days after the last arrival. A job due later may still be open then, and
    // the report would set the baselines' finished work beside CACO's unfinished one (a
    // helper's review: a 120 h job due in 17 days made CACO read 20x cheaper than run on
    // arrival, with no note).
    const lastEndMs = runEndMs + DRAIN_MS;
    const late = jobs.find((j) => j.deadlineMs > lastEndMs);
    if (late !== undefined) {
      const line = r.lines.get(late.id);
      throw new UsageError(
        `--jobs ${o.jobsCsv}: ${line !== undefined ? `line ${line}, ` : ''}deadline_utc: job "${late.id}" is due ${new Date(late.deadlineMs).toISOString()}, after the run ends (${new Date(lastEndMs).toISOString()}, ${DRAIN_MS / DAY_MS} days after the last simulated day), so it could be left unfinished and the rows compared on unequal work; simulate more --days or give it an earlier deadline`,
      );
    }
  } else {
    jobs = generateWorkload(
      { seed: o.seed, startMs: o.fromMs, days: o.days, site: o.site, ...(o.jobsPerDay !== undefined ? { jobsPerDay: o.jobsPerDay } : {}), ...(o.slackShare !== undefined ? { slackShare: o.slackShare } : {}) },
      loadTraceStats(),
    ).jobs;
  }
  return { carbon: carbon.rows, prices: prices.rows, jobs, dataFromMs, dataToMs, dropped: carbon.dropped.length + prices.dropped.length, gaps: notes };
}

/** Actual signals on the half-hour grid from `fromMs` for `slots` slots; gaps carried forward. */
export function actualSignals(inputs: SimulationInputs, fromMs: number, slots: number): Signals {
  const carbonAt = new Map(inputs.carbon.map((r) => [r.fromMs, r.actualGPerKwh]));
  const priceAt = new Map(inputs.prices.map((r) => [r.fromMs, r.marketIndexGbpPerMwh ?? r.imbalanceGbpPerMwh]));
  const price: number[] = [];
  const intensity: number[] = [];
  for (let i = 0; i < slots; i++) {
    const t = fromMs + i * SLOT_MS;
    price.push(priceAt.get(t) ?? price.at(-1) ?? 80);
    intensity.push(carbonAt.get(t) ?? intensity.at(-1) ?? 150);
  }
  return { startMs: fromMs, priceGbpPerMwh: price, intensityGPerKwh: intensity };
}
