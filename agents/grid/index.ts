/**
 * The grid agent and what it is made of: the agent definition (`createGridAgent`), the
 * forecaster port with the ONNX LSTM adapter and the naive fallback, history checks, and the
 * stress-window detector. Signal sources are in `./sources/`.
 *
 * ```ts
 * const { forecaster, notes } = await loadGridForecaster();   // LSTMs, or the naive fallback per series
 * runtime.add(createGridAgent({ source, forecaster }));
 * ```
 */
export { createGridAgent, TICK as GRID_TICK, type GridAgent, type GridAgentDeps } from './grid-agent.ts';
export { decideTick, forecastIdOf, stressIdOf, forecastInputsHash, type TickDeps } from './tick.ts';
export { evolveGrid, initialGridState, GRID_CATEGORY, STREAMS as GRID_STREAMS, type GridState } from './grid-state.ts';
export {
  FORECAST_HORIZON,
  HISTORY_SLOTS,
  ForecastInputError,
  gridForecaster,
  forecastProblem,
  orderedBand,
  type Band,
  type Forecaster,
  type GridForecast,
  type SeriesForecast,
  type SeriesForecaster,
} from './forecaster.ts';
export {
  withOperatorForecast,
  operatorP50s,
  shiftedBand,
  operatorSuffix,
  OPERATOR_FORECAST_SUFFIX,
  LATE_REVISION_FORECAST_SUFFIX,
} from './operator-forecast.ts';
export { naiveSeriesForecaster, NAIVE_MODEL_ID, NAIVE_MODEL_VERSION, type NaiveOptions } from './naive-forecaster.ts';
export { lstmSeriesForecaster, loadGridForecaster, modelCleanFromMs, type LoadedForecaster, type LoadOptions } from './lstm-forecaster.ts';
export {
  checkHistory,
  seriesBefore,
  DEFAULT_HISTORY_REQUIREMENTS,
  type HistoryRequirements,
  type HistoryCheck,
  type HalfHourSeries,
  type SeriesField,
} from './history.ts';
export {
  detectStress,
  unannounced,
  DEFAULT_STRESS_OPTIONS,
  type StressOptions,
  type StressWindow,
  type StressKind,
  type StressInput,
  type AnnouncedWindow,
} from './stress.ts';
export * from './sources/index.ts';
export {
  EnsembleSeriesForecaster,
  DEFAULT_ENSEMBLE_OPTIONS,
  TRACKED_BAND_OPTIONS,
  ENSEMBLE_MODEL_ID_PREFIX,
  ensembleHistorySlots,
  fitBucket,
  type EnsembleOptions,
  type EnsembleFit,
  type BucketFit,
  type BandScale,
  type EnsembleParams,
} from './ensemble-forecaster.ts';
export { simplexWeights, medianBias, conformalOffsets, weightedConformalOffsets, indexOrder, quantileGrid, gridCdf, gridQuantile, weightedQuantile, adaptiveLevels, adaptiveScales, MAX_TAIL_SCALE, type ConformalOffsets, type ScoredForecast, type TrackedForecast } from './calibration.ts';
export { baselineForecasts, BASELINE_NAMES, BASELINE_LOOKBACK_SLOTS } from './baselines.ts';
