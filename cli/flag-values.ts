import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { decimalOrNaN } from '../data/index.ts';
import { UsageError } from './errors.ts';

/** A whole-number flag value within [min, max], else a UsageError naming the flag. */
export function wholeNumber(flag: string, v: string, min: number, max: number, unit = ''): number {
  // Digits only: Number() also reads 0x3, 1e1 and 0b11, which nobody means by a count of days.
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag}: "${v}" must be a whole number${unit ? ` of ${unit}` : ''} from ${min} to ${max}`);
  return n;
}

/** A finite number within [min, max] (a price margin, a share), else a UsageError naming the flag. */
export function numberBetween(flag: string, v: string, min: number, max: number): number {
  const n = decimalOrNaN(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag}: "${v}" must be a number from ${min} to ${max}`);
  return n;
}

/** A finite number above 0 (a power, a duration), else a UsageError naming the flag. */
export function positiveNumber(flag: string, v: string): number {
  const n = decimalOrNaN(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: "${v}" must be a number above 0`);
  return n;
}

/** A short free-text value (a seed, a name): 1 to `max` characters, no control characters. */
export function shortText(flag: string, v: string, max: number): string {
  if (v.length < 1 || v.length > max) throw new UsageError(`${flag}: ${v.length} characters; use 1 to ${max}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(v)) throw new UsageError(`${flag}: contains a control character; use printable characters`);
  return v;
}

/**
 * A folder to write into: one that exists, or one that can be made (its nearest existing
 * ancestor is a folder). A file in its place, or in its path, is a UsageError naming the flag.
 */
export function folderToWrite(flag: string, path: string): string {
  let p = resolve(path);
  for (;;) {
    if (existsSync(p)) {
      if (!statSync(p).isDirectory()) throw new UsageError(`${flag}: ${p} is not a folder`);
      return path;
    }
    const up = dirname(p);
    if (up === p) return path;
    p = up;
  }
}
