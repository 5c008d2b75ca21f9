import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../core/errors/index.ts';

export type Cell = string | number | null;

/** Print rows as an aligned text table. */
export function printTable(title: string, rows: ReadonlyArray<Record<string, Cell>>): void {
  console.log(`\n${title}`);
  if (rows.length === 0) {
    console.log('(no rows)');
    return;
  }
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (v: Cell | undefined): string => (v === null || v === undefined ? '—' : typeof v === 'number' ? formatNumber(v) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => fmt(r[c]))));
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-GB');
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : abs >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** A results file's name (`--name`): letters, digits, `.`, `_` and `-`, so it stays in bench/results/. */
export function checkResultsName(name: string): string {
  if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) throw new BenchUsageError(`--name: "${name}" is not a plain file name (letters, digits, . _ -)`);
  return name;
}

function resultsFile(name: string): string {
  checkResultsName(name);
  return join(dirname(fileURLToPath(import.meta.url)), 'results', `${name}.json`);
}

/** The `results` of bench/results/<name>.json, or undefined when there is no such file. */
export function readResults(name: string): unknown {
  const file = resultsFile(name);
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { results?: unknown }).results;
}

/**
 * Write `fields` into bench/results/<name>.json over what its results already hold, so runs
 * that share a file (schedule.json: the full period, each walk-forward) keep each other's.
 */
export function writeResultsKeeping(name: string, fields: Record<string, unknown>): string {
  const previous = (readResults(name) ?? {}) as Record<string, unknown>;
  return writeResults(name, { ...previous, ...fields });
}

/**
 * Write `fields` into the results of bench/results/<name>.json without running anything: the
 * file keeps the time and machine of the run its figures came from, and says when it was
 * recomputed.
 */
export function rewriteResults(name: string, fields: Record<string, unknown>): string {
  const file = resultsFile(name);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { results?: Record<string, unknown> };
  writeFileSync(file, JSON.stringify({ ...doc, recomputedAt: new Date().toISOString(), results: { ...doc.results, ...fields } }, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
  return file;
}

/** Write bench/results/<name>.json with the machine it ran on. */
export function writeResults(name: string, results: unknown): string {
  const file = resultsFile(name);
  mkdirSync(dirname(file), { recursive: true });
  const doc = {
    benchmark: name,
    ranAt: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
    results,
  };
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
  return file;
}

/** Percentile of a sorted-or-not array (nearest rank). */
export function percentile(values: ReadonlyArray<number>, p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** A benchmark's options are wrong: `npm run bench` prints the message alone and exits 2 (no stack). */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

/**
 * A benchmark's flags: node:util parseArgs, strict (an unknown flag or a flag without its value
 * is an error) and without positionals, its errors as a BenchUsageError (see parsedArgs).
 */
export function benchFlags<const T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  return parsedArgs(() => parseArgs({ args: argv, options, strict: true, allowPositionals: false })).values;
}

/** A flag's whole number in [min, max], or a BenchUsageError naming the flag and what it got. */
export function wholeFlag(flag: string, text: string, min = 1, max = Infinity): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new BenchUsageError(`--${flag}: "${text}" is not a whole number ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}`);
  }
  return n;
}

/**
 * A flag's calendar date (YYYY-MM-DD, UTC midnight) in ms, or a BenchUsageError (2023-02-30 is
 * refused, not rolled over); `or` names what else the flag takes.
 */
export function dateFlag(flag: string, text: string, or?: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN;
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== text) throw new BenchUsageError(`--${flag}: "${text}" is not a date like 2023-07-03${or ? ` (or ${or})` : ''}`);
  return ms;
}

/**
 * `fn`'s value, its UsageError (a file or period the shared loaders refuse, sim/inputs.ts) as a
 * BenchUsageError: one line and exit 2, as for a bad flag.
 */
export function usageAsBench<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UsageError) throw new BenchUsageError(err.message);
    throw err;
  }
}

/** How a results file names the signal files a run read (`--carbon`, `--prices`). */
export function signalFileNames(o: { readonly carbonCsv?: string | undefined; readonly pricesCsv?: string | undefined }): { carbon: string; prices: string } {
  return { carbon: o.carbonCsv ?? 'the project copy (data/carbon-intensity/)', prices: o.pricesCsv ?? 'the project copy (data/prices/)' };
}

/** A flag's value when it is one of `choices`, or a BenchUsageError naming the flag and the choices. */
export function oneOfFlag<const C extends string>(flag: string, text: string, choices: ReadonlyArray<C>): C {
  if (!(choices as ReadonlyArray<string>).includes(text)) throw new BenchUsageError(`--${flag}: "${text}" is not one of ${choices.join(', ')}`);
  return text as C;
}

/** A flag's number in [min, max], or a BenchUsageError naming the flag and what it got. */
export function numberFlag(flag: string, text: string, min = -Infinity, max = Infinity): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    const range = min === -Infinity ? (max === Infinity ? '' : ` ≤ ${max}`) : max === Infinity ? ` ≥ ${min}` : ` from ${min} to ${max}`;
    throw new BenchUsageError(`--${flag}: "${text}" is not a number${range}`);
  }
  return n;
}

/**
 * `parse()` with node:util parseArgs's own errors (an unknown flag, a flag without its value)
 * as a BenchUsageError: one line naming the flag, not a stack trace.
 */
export function parsedArgs<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_') && e instanceof Error) throw new BenchUsageError(e.message);
    throw e;
  }
}
