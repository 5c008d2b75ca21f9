import { existsSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from './errors.ts';

/**
 * One ONNX Runtime session per model file, created once. A single intra-op thread: the models
 * are small, and on a shared host extra threads spin and make latency worse, not better.
 */
export async function createSession(path: string): Promise<ort.InferenceSession> {
  if (!existsSync(path)) throw new ModelLoadError(path, 'model file not found; run `npm run models:train` or check out models/');
  try {
    return await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  } catch (err) {
    // A damaged or tampered file: name it rather than let ONNX Runtime's error through.
    throw new ModelLoadError(path, `cannot be loaded as an ONNX model (${err instanceof Error ? err.message : String(err)}); check out models/ again or run \`npm run models:train\``);
  }
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
