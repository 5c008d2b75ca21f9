/**
 * CACO's models: ONNX artefacts with their model cards, run with onnxruntime-node. Each
 * loader creates its session once; every call after that reuses it.
 *
 * - carbon intensity LSTM and market-index price LSTM: 96 half-hours (48 h) of P10/P50/P90;
 * - XGBoost job-runtime model (Alibaba GenAI LoRA trace): request features → seconds.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadForecasterFrom, type Forecaster } from './forecaster.ts';
import { loadRuntimeModelFrom, type RuntimeModel } from './runtime-model.ts';

const here = dirname(fileURLToPath(import.meta.url));

export const MODEL_DIRS = {
  carbon: join(here, 'carbon'),
  price: join(here, 'price'),
  runtime: join(here, 'runtime'),
} as const;

/** GB national carbon intensity, gCO2/kWh. */
export function loadCarbonForecaster(dir: string = MODEL_DIRS.carbon): Promise<Forecaster> {
  return loadForecasterFrom(dir);
}

/** Elexon market index price, £/MWh. */
export function loadPriceForecaster(dir: string = MODEL_DIRS.price): Promise<Forecaster> {
  return loadForecasterFrom(dir);
}

export function loadRuntimeModel(dir: string = MODEL_DIRS.runtime): Promise<RuntimeModel> {
  return loadRuntimeModelFrom(dir);
}

export type { Forecaster, Forecast, HalfHourHistory, QuantilePoint } from './forecaster.ts';
export type { FeatureSpec, WindowFeatures } from './features.ts';
export { windowFeatures, calendarFeatures, londonOffsetHours } from './features.ts';
export type { RuntimeModel, RuntimeFeatures, RuntimeSpec } from './runtime-model.ts';
export { encodeRuntimeFeatures, naiveRuntimeSeconds } from './runtime-model.ts';
export { ModelInputError, ModelLoadError } from './errors.ts';
export { readEnsembleFit, ensembleFitPath, ENSEMBLE_DIR, type EnsembleFitFile } from './ensemble-fit.ts';
export { CoverageAccumulator, ErrorAccumulator, LEAD_HOURS, leadIndex, runtimeScores, sameTimeLastWeek, sameTimeYesterday, type ErrorSummary } from './evaluation.ts';
