import { decimalOrNaN, isDecimal } from '../core/text/index.ts';
import { DataFileError } from './errors.ts';
import type { Dropped } from './types.ts';

/**
 * A cell as an error message quotes it: at most 64 characters and its length past that. A file
 * line starting with a 50 MiB cell put all of it on stderr in one line.
 */
export function quotedCell(cell: string): string {
  return cell.length <= 64 ? `"${cell}"` : `"${cell.slice(0, 64)}…" (${cell.length} characters)`;
}

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]00:?00)$/;

/**
 * Milliseconds of an ISO 8601 UTC timestamp, or null when the text is not one. A timestamp
 * without an explicit UTC designator is rejected: GB data switches between GMT and BST, so a
 * naive local time is ambiguous twice a year.
 */
export function parseIsoUtc(text: string): number | null {
  const m = ISO_UTC.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), frac ? Math.round(Number(frac) * 1000) : 0);
  const back = new Date(ms);
  // Date.UTC rolls 2023-02-30 over to March and reads years 0-99 as 1900-1999 (0023 as 1923); reject instead of moving the row.
  if (back.getUTCFullYear() !== Number(y) || back.getUTCDate() !== Number(d) || back.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) return null;
  return ms;
}

/** Empty cell → null; otherwise a finite number, or NaN when the text is not a decimal number (see isDecimal). */
export function parseNumberCell(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  const v = decimalOrNaN(t);
  return Number.isFinite(v) ? v : Number.NaN;
}

export interface RangeSpec {
  readonly column: string;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
  /**
   * A level the column's median is always above in this unit: a file in a unit 1,000 times
   * smaller (£/kWh for £/MWh, kg/kWh for g/kWh) fits inside min..max, so only its level tells.
   */
  readonly medianAbove?: number;
}

/**
 * Collects the values a loader sets aside. Isolated bad values are dropped and reported; when
 * many values of one column are out of range, the file is probably in another unit (kg instead
 * of g, £/kWh instead of £/MWh) and the loader refuses it rather than dropping most of it.
 */
export class DropLog {
  readonly dropped: Dropped[] = [];
  private readonly outOfRange = new Map<string, { count: number; firstLine: number; seen: number; low: number; firstLow: number }>();
  constructor(readonly file: string) {}

  drop(line: number, reason: string): void {
    this.dropped.push({ file: this.file, line, reason });
  }

  /** The value if usable, else null (reported). Empty cells are missing and also reported. */
  value(line: number, cell: string, spec: RangeSpec, opts: { reportEmpty?: boolean } = {}): number | null {
    const v = parseNumberCell(cell);
    const stat = this.outOfRange.get(spec.column) ?? { count: 0, firstLine: 0, seen: 0, low: 0, firstLow: 0 };
    this.outOfRange.set(spec.column, stat);
    if (v === null) {
      if (opts.reportEmpty !== false) this.drop(line, `${spec.column} is empty (missing)`);
      return null;
    }
    stat.seen++;
    if (Number.isNaN(v)) {
      stat.count++;
      if (stat.firstLine === 0) stat.firstLine = line;
      this.drop(line, `${spec.column}=${quotedCell(cell)} is not a ${isDecimal(cell) ? 'finite number' : 'decimal number'}`);
      return null;
    }
    if (v < spec.min || v > spec.max) {
      stat.count++;
      if (stat.firstLine === 0) stat.firstLine = line;
      this.drop(line, `${spec.column}=${v} outside ${spec.min}..${spec.max} ${spec.unit}`);
      return null;
    }
    // Exactly 0 is a placeholder in both GB files (read as missing by their loaders), not a level.
    if (spec.medianAbove !== undefined && v !== 0 && v <= spec.medianAbove && stat.low++ === 0) stat.firstLow = line;
    return v;
  }

  /** Throw when more than `maxShare` of a column's non-empty values were unusable. */
  assertPlausible(specs: ReadonlyArray<RangeSpec>, maxShare = 0.05): void {
    for (const spec of specs) {
      const s = this.outOfRange.get(spec.column);
      if (!s || s.seen === 0) continue;
      if (s.count / s.seen > maxShare) {
        throw new DataFileError(
          this.file,
          s.firstLine,
          spec.column,
          `${s.count} of ${s.seen} values are not numbers in ${spec.min}..${spec.max} ${spec.unit}; wrong unit or wrong column?`,
        );
      }
      const usable = s.seen - s.count;
      if (spec.medianAbove !== undefined && usable > 0 && s.low * 2 >= usable) {
        throw new DataFileError(
          this.file,
          s.firstLow,
          spec.column,
          `${s.low} of ${usable} values are at most ${spec.medianAbove} ${spec.unit}, where GB data in ${spec.unit} has its median far above: is the file in a unit 1,000 times larger (per kWh, kg)? give values in ${spec.unit}`,
        );
      }
    }
  }
}

/** Parse a required timestamp cell or throw naming the line. */
export function requireIsoUtc(file: string, line: number, column: string, cell: string): number {
  const ms = parseIsoUtc(cell);
  if (ms === null) throw new DataFileError(file, line, column, `${quotedCell(cell)} is not an ISO 8601 UTC timestamp (e.g. 2023-01-01T00:00Z)`);
  return ms;
}

/** Throw unless `ms` is strictly after the previous row's timestamp. */
export function assertIncreasing(file: string, line: number, column: string, prevMs: number | null, prevLine: number, ms: number): void {
  if (prevMs === null) return;
  if (ms === prevMs) {
    throw new DataFileError(file, line, column, `duplicate timestamp ${new Date(ms).toISOString()} (also on line ${prevLine})`);
  }
  if (ms < prevMs) {
    throw new DataFileError(file, line, column, `timestamps not sorted: ${new Date(ms).toISOString()} comes after ${new Date(prevMs).toISOString()} on line ${prevLine}`);
  }
}
