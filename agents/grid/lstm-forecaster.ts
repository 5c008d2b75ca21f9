import { loadCarbonForecaster, loadPriceForecaster, ModelInputError, type Forecaster as ModelForecaster } from '../../models/index.ts';
import { FORECAST_HORIZON, ForecastInputError, gridForecaster, orderedBand, type Forecaster, type SeriesForecaster } from './forecaster.ts';
import { naiveSeriesForecaster } from './naive-forecaster.ts';

/**
 * The ONNX LSTMs in `models/` behind the `SeriesForecaster` port. The quantile heads are
 * trained separately and can cross by a hair; the adapter sorts each triple (monotone
 * rearrangement), which never makes the pinball loss worse, rather than publish p10 > p50.
 */
export function lstmSeriesForecaster(model: ModelForecaster): SeriesForecaster {
  const { modelId, modelVersion } = model.spec;
  return {
    describe: `${modelId}@${modelVersion}`,
    async forecast(series, nowMs) {
      try {
        const f = await model.forecast({ fromMs: series.fromMs, values: series.values }, nowMs);
        return {
          modelId: f.modelId,
          modelVersion: f.modelVersion,
          points: f.points.slice(0, FORECAST_HORIZON).map((q) => orderedBand(q.p10, q.p50, q.p90)),
        };
      } catch (e) {
        if (e instanceof ModelInputError) throw new ForecastInputError(modelId, e.message);
        throw e;
      }
    },
  };
}

export interface LoadedForecaster {
  readonly forecaster: Forecaster;
  /** What was loaded, and for a series whose model could not be, why the naive fallback runs instead. */
  readonly notes: ReadonlyArray<string>;
  readonly carbon: SeriesForecaster;
  readonly price: SeriesForecaster;
}

export interface LoadOptions {
  readonly carbonDir?: string;
  readonly priceDir?: string;
  /** Loaders, replaceable in tests. */
  readonly loadCarbon?: (dir?: string) => Promise<ModelForecaster>;
  readonly loadPrice?: (dir?: string) => Promise<ModelForecaster>;
}

/**
 * The grid forecaster: the carbon and price LSTMs where they load, and for a series whose model
 * is missing or will not load, the naive same-time-yesterday model with its modelId saying so.
 */
export async function loadGridForecaster(opts: LoadOptions = {}): Promise<LoadedForecaster> {
  const notes: string[] = [];
  const carbon = await loadOrFallback('carbon LSTM', () => (opts.loadCarbon ?? loadCarbonForecaster)(opts.carbonDir), notes);
  const price = await loadOrFallback('price LSTM', () => (opts.loadPrice ?? loadPriceForecaster)(opts.priceDir), notes);
  return { forecaster: gridForecaster({ carbon, price }), notes, carbon, price };
}

async function loadOrFallback(label: string, load: () => Promise<ModelForecaster>, notes: string[]): Promise<SeriesForecaster> {
  try {
    const s = lstmSeriesForecaster(await load());
    notes.push(`${label}: ${s.describe}`);
    return s;
  } catch (e) {
    const s = naiveSeriesForecaster({ fallbackFor: label });
    notes.push(`${label}: not loaded (${e instanceof Error ? e.message : String(e)}); using ${s.describe}`);
    return s;
  }
}
