import { existsSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from './errors.ts';

/**
 * One ONNX Runtime session per model file, created once. A single intra-op thread: the models
 * are small, and on a shared host extra threads spin and make latency worse, not better.
 */
export async function createSession(path: string): Promise<ort.InferenceSession> {
  if (!existsSync(path)) throw new ModelLoadError(path, 'model file not found; run `npm run models:train` or check out models/');
  return ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

export function readJson<T>(path: string): T {
  if (!existsSync(path)) throw new ModelLoadError(path, 'parameters file not found');
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export { ort };
