import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelLoadError } from './errors.ts';

/**
 * The ensemble calibration `caco models retrain --until <date>` writes (models/ensemble/<signal>-fit.json):
 * per lead bucket, the member weights, median bias and conformal band offsets fitted on the 28 days
 * before the cut-off. The grid agent fits the same things online; this file only warm-starts a
 * bucket whose online window is still too short, and only for forecasts made after `atMs`.
 */
export interface EnsembleFitFile {
  readonly signal: 'carbon' | 'price';
  /** The cut-off: only half-hours that ended by then were used. */
  readonly atMs: number;
  readonly until: string;
  readonly members: ReadonlyArray<string>;
  readonly buckets: ReadonlyArray<{ weights: number[]; bias: number; lo: number; hi: number; samples: number } | null>;
  readonly modelVersion: string;
  readonly writtenBy: string;
}

export const ENSEMBLE_DIR = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'ensemble');

export function ensembleFitPath(signal: 'carbon' | 'price', dir: string = ENSEMBLE_DIR): string {
  return join(dir, `${signal}-fit.json`);
}

/** The fit file for `signal`, or null when there is none; a file that is there but unreadable is an error. */
export function readEnsembleFit(signal: 'carbon' | 'price', dir: string = ENSEMBLE_DIR): EnsembleFitFile | null {
  const path = ensembleFitPath(signal, dir);
  if (!existsSync(path)) return null;
  let doc: EnsembleFitFile;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as EnsembleFitFile;
  } catch (e) {
    throw new ModelLoadError(path, `not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (doc.signal !== signal || !Number.isFinite(doc.atMs) || !Array.isArray(doc.members) || !Array.isArray(doc.buckets)) {
    throw new ModelLoadError(path, 'not an ensemble fit (needs signal, atMs, members, buckets); rerun caco models retrain');
  }
  return doc;
}
