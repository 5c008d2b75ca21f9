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
export async function createSession(path: string, expect: ModelExpectation): Promise<ort.InferenceSession> {
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
  return session;
}

export function readJson<T>(path: string): T {
  if (!existsSync(path)) throw new ModelLoadError(path, 'parameters file not found');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new ModelLoadError(path, `not JSON (${err instanceof Error ? err.message : String(err)}); check out models/ again`);
  }
}

export { ort };
