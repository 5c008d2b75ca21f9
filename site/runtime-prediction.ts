import { RuntimeFeaturesError, type ComputeAgentDeps } from '../agents/compute/index.ts';
import { loadRuntimeModel } from '../models/index.ts';
import { decimalOrNaN } from '../data/index.ts';

type PredictRuntime = NonNullable<ComputeAgentDeps['predictRuntime']>;

/**
 * The compute agent's runtime prediction for jobs submitted without a runtime: the runtime
 * model's P90 (under-predicting is what breaks deadlines). `undefined`, with a note, when the
 * model does not load: jobs must then give `runtimeMin`.
 */
export async function loadRuntimePrediction(note: (text: string) => void): Promise<PredictRuntime | undefined> {
  const runtimeModel = await loadRuntimeModel().catch((e: unknown) => {
    note(`runtime model not loaded (${e instanceof Error ? e.message : String(e)}); jobs must give runtimeMin`);
    return null;
  });
  if (!runtimeModel) return undefined;
  const types = runtimeModel.spec.predictTypes;
  return async (f) => {
    const predictType = String(f['predictType'] ?? 'TXT_2_IMG');
    if (!types.includes(predictType)) throw new RuntimeFeaturesError('features.predictType', `${JSON.stringify(predictType.slice(0, 64))} is not a job type the runtime model knows (${types.join(', ')}); give one of them, or runtimeMin`);
    // The P90 prediction: under-predicting is what breaks deadlines.
    const seconds = await runtimeModel.predictSecondsP90({
      predictType,
      promptLength: num(f['promptLength']),
      negativePromptLength: num(f['negativePromptLength']),
      numImagesPerPrompt: num(f['numImagesPerPrompt']),
      numInferenceSteps: num(f['numInferenceSteps']),
      numLora: num(f['numLora']),
      checkpointModelVersionId: f['checkpointModelVersionId'] === undefined ? null : String(f['checkpointModelVersionId']),
    });
    // A batch of `requests` such requests spread over `parallel` GPUs. Both whole and positive,
    // parallel at most requests: requests -2000, 0, or parallel 1e9 made a 27-hour job a 1-minute
    // one, planned (and its energy counted) as such.
    const requests = f['requests'] === undefined ? 1 : num(f['requests']);
    if (requests === null || !Number.isInteger(requests) || requests < 1 || requests > 1_000_000) throw new RuntimeFeaturesError('features.requests', `${JSON.stringify(String(f['requests']).slice(0, 32))} is not a number of requests: give a whole number from 1 to 1,000,000`);
    const parallel = f['parallel'] === undefined ? 1 : num(f['parallel']);
    if (parallel === null || !Number.isInteger(parallel) || parallel < 1 || parallel > requests) throw new RuntimeFeaturesError('features.parallel', `${JSON.stringify(String(f['parallel']).slice(0, 32))} is not a number of requests run at once: give a whole number from 1 to requests (${requests})`);
    const scale = requests / parallel;
    return { minutes: (seconds * scale) / 60, model: `${runtimeModel.modelId}@${runtimeModel.modelVersion} (P90)` };
  };
}

/** A feature given as a number, or as a decimal in text ("12", "-0.5", "1e3"); not "0x10" or "0b11", which Number() also reads. */
function num(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? decimalOrNaN(v) : NaN;
  return Number.isFinite(n) ? n : null;
}
