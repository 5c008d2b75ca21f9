import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Schema } from 'effect';
import { decodeWith } from '../schemas/index.ts';
import { ModelLoadError } from './errors.ts';

export const ENSEMBLE_DIR = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'ensemble');

export function ensembleFitPath(signal: 'carbon' | 'price', dir: string = ENSEMBLE_DIR): string {
  return join(dir, `${signal}-fit.json`);
}

const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0));
/** What a fit file must hold: it sizes published bands, so a hand-edited or damaged file is refused, not used. */
const EnsembleFitFileSchema = Schema.Struct({
  signal: Schema.Literals(['carbon', 'price']),
  /** The cut-off: only half-hours that ended by then were used. */
  atMs: Schema.Finite,
  until: Schema.String,
  members: Schema.Array(Schema.String),
  buckets: Schema.Array(
    Schema.NullOr(
      Schema.Struct({
        weights: Schema.Array(NonNegative),
        bias: Schema.Finite,
        lo: Schema.Finite,
        hi: Schema.Finite,
        samples: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
        scale: Schema.optional(Schema.Struct({ members: Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))), a: NonNegative, b: NonNegative, typical: NonNegative })),
      }),
    ),
  ),
  modelVersion: Schema.String,
  writtenBy: Schema.String,
});

/**
 * The ensemble calibration `caco models retrain --until <date>` writes (models/ensemble/<signal>-fit.json):
 * per lead bucket, the member weights, median bias and conformal band offsets fitted on the 28 days
 * before the cut-off. The grid agent fits the same things online; this file only warm-starts a
 * bucket whose online window is still too short, and only for forecasts made after `atMs`.
 */
export type EnsembleFitFile = typeof EnsembleFitFileSchema.Type;

/** The fit file for `signal`, or null when there is none; a file that is there but unreadable or malformed is an error naming the field. */
export function readEnsembleFit(signal: 'carbon' | 'price', dir: string = ENSEMBLE_DIR): EnsembleFitFile | null {
  const path = ensembleFitPath(signal, dir);
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelLoadError(path, `not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = decodeWith(EnsembleFitFileSchema, raw);
  if (!r.ok) throw new ModelLoadError(path, `not an ensemble fit: ${r.problems.map((p) => `${p.path || '(root)'}: ${p.reason}`).join('; ')}; rerun caco models retrain`);
  const doc: EnsembleFitFile = r.value;
  if (doc.signal !== signal) throw new ModelLoadError(path, `signal: "${doc.signal}", expected "${signal}"`);
  doc.buckets.forEach((b, i) => {
    if (!b) return;
    if (b.weights.length !== doc.members.length) throw new ModelLoadError(path, `buckets[${i}].weights: ${b.weights.length} weights for ${doc.members.length} members`);
    if (b.scale?.members.some((j) => j >= doc.members.length)) throw new ModelLoadError(path, `buckets[${i}].scale.members: an index beyond the ${doc.members.length} members`);
  });
  return doc;
}
