import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from './errors.ts';

/** What the parameters file says of its model: the file's version, and the names the loader feeds and reads. */
export interface ModelExpectation {
  /** The first 12 hex digits of the file's sha256, as training writes it into features.json. */
  readonly modelVersion: string;
  readonly inputs: ReadonlyArray<string>;
  readonly outputs: ReadonlyArray<string>;
  /** The parameters file's bytes, as read: the published version covers them. */
  readonly paramsBytes: Uint8Array;
}

/**
 * One ONNX Runtime session per model file, created once. A single intra-op thread: the models
 * are small, and on a shared host extra threads spin and make latency worse, not better.
 *
 * The file must be the one its parameters name (version = sha256 prefix) with the inputs and
 * outputs the loader uses: a swapped file loaded and was then named on the ledger as the model
 * it was not (the price LSTM forecasting carbon under the carbon model's version), and one of
 * another shape failed every forecast instead of being refused here, where the ensemble falls
 * back to its baselines.
 */
export async function createSession(path: string, expect: ModelExpectation): Promise<LoadedSession> {
  if (!existsSync(path)) throw new ModelLoadError(path, 'model file not found; run `npm run models:train` or check out models/');
  const bytes = readFileSync(path);
  const version = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  if (version !== expect.modelVersion) {
    throw new ModelLoadError(path, `is version ${version}, but its parameters (features.json) are for version ${JSON.stringify(String(expect.modelVersion).slice(0, 40))}: the file and its parameters come from different trainings; check out models/ again or run \`npm run models:train\``);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  } catch (err) {
    // A damaged or tampered file: name it rather than let ONNX Runtime's error through.
    throw new ModelLoadError(path, `cannot be loaded as an ONNX model (${err instanceof Error ? err.message : String(err)}); check out models/ again or run \`npm run models:train\``);
  }
  const missing = [...expect.inputs.filter((n) => !session.inputNames.includes(n)).map((n) => `input "${n}"`), ...expect.outputs.filter((n) => !session.outputNames.includes(n)).map((n) => `output "${n}"`)];
  if (missing.length > 0) {
    await session.release().catch(() => undefined);
    throw new ModelLoadError(path, `has no ${missing.join(', ')} (it has inputs ${session.inputNames.join(', ')} and outputs ${session.outputNames.join(', ')}): not the model this loader runs`);
  }
  // What the ledger names: the model file and its parameters together. The file's own hash
  // (features.json's modelVersion) left the parameters out, so a features.json with another
  // mean changed every forecast while the ledger named the same model (a helper's review).
  const published = createHash('sha256').update(bytes).update(new Uint8Array([0])).update(expect.paramsBytes).digest('hex').slice(0, 12);
  return { session, version: published };
}

/**
 * Run `trial` (one prediction on made-up input) before the model is used: sizes in its
 * parameters that disagree with each other or with the model are refused here, where the
 * caller falls back, rather than failing every prediction after. The session is released.
 */
export async function refuseUnlessItRuns(session: ort.InferenceSession, specPath: string, trial: () => Promise<void>): Promise<void> {
  try {
    await trial();
  } catch (err) {
    await session.release().catch(() => undefined);
    throw new ModelLoadError(specPath, `does not fit its model: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A loaded model: its session, and the version forecasts and predictions name. */
export interface LoadedSession {
  readonly session: ort.InferenceSession;
  /** sha256 (12 hex digits) of the model file and its parameters file, as read. */
  readonly version: string;
}

/** A parameters file: its JSON, and its bytes (part of the published version). */
export function readJson<T>(path: string): { readonly value: T; readonly bytes: Uint8Array } {
  if (!existsSync(path)) throw new ModelLoadError(path, 'parameters file not found');
  const bytes = readFileSync(path);
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as T, bytes };
  } catch (err) {
    throw new ModelLoadError(path, `not JSON (${err instanceof Error ? err.message : String(err)}); check out models/ again`);
  }
}

export { ort };
