import { loadCarbonForecaster, loadPriceForecaster, ModelInputError, readEnsembleFit, type Forecaster as ModelForecaster } from '../../models/index.ts';
import { FORECAST_HORIZON, ForecastInputError, gridForecaster, orderedBand, type Forecaster, type SeriesForecaster } from './forecaster.ts';
import { naiveSeriesForecaster } from './naive-forecaster.ts';
import { EnsembleSeriesForecaster, type EnsembleFit, type EnsembleOptions } from './ensemble-forecaster.ts';

/**
 * The ONNX LSTMs in `models/` behind the `SeriesForecaster` port. The quantile heads are
 * trained separately and can cross by a hair; the adapter sorts each triple (monotone
 * rearrangement), which never makes the pinball loss worse, rather than publish p10 > p50.
 */
export function lstmSeriesForecaster(model: ModelForecaster): SeriesForecaster {
  const { modelId } = model.spec;
  const { modelVersion } = model;
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
  /** What was loaded, and for a series whose model could not be, what runs instead. */
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
  /**
   * The online ensemble around each LSTM (default on, with `DEFAULT_ENSEMBLE_OPTIONS`). `false`
   * gives the bare LSTMs with the naive fallback, as before the ensemble (for comparisons).
   */
  readonly ensemble?: false | Partial<EnsembleOptions>;
  /**
   * Fits from `caco models retrain`, used only where the online window is still short and only
   * for forecasts made after the fit's cut-off. Default: models/ensemble/<signal>-fit.json if present; `false` for none.
   */
  readonly warmStart?: false | { readonly carbon?: EnsembleFit; readonly price?: EnsembleFit };
  /**
   * For evaluations: admit each LSTM into its ensemble only for forecasts made after its
   * training and validation data end (`modelCleanFromMs`); before that the baselines alone
   * answer, as they would for a month the model was fitted or early-stopped on.
   */
  readonly outOfSampleOnly?: boolean;
}

/**
 * The instant a model's training and validation data end, from its spec: an out-of-sample
 * evaluation admits it only for forecast origins from then on.
 */
export function modelCleanFromMs(spec: { readonly trainedOn?: { readonly validation?: ReadonlyArray<string>; readonly trainTo?: string } }): number {
  const v = spec.trainedOn?.validation?.[1] ?? spec.trainedOn?.trainTo;
  if (!v) throw new Error('model spec has no trainedOn.validation / trainTo: cannot tell which months it saw');
  return Date.parse(v);
}

/**
 * The grid forecaster: per series, the online ensemble (`ensemble-forecaster.ts`) of the LSTM
 * and robust baselines. A series whose model is missing or will not load gets the ensemble of
 * the baselines alone, and the notes say so. With `ensemble: false`, the bare LSTMs (the naive
 * same-time-yesterday model where one will not load).
 */
export async function loadGridForecaster(opts: LoadOptions = {}): Promise<LoadedForecaster> {
  const notes: string[] = [];
  const load = async (signal: 'carbon' | 'price', label: string, loader: () => Promise<ModelForecaster>): Promise<SeriesForecaster> => {
    if (opts.ensemble === false) return loadOrFallback(label, loader, notes);
    let model: SeriesForecaster | undefined;
    let modelAllowedAt: ((originMs: number) => boolean) | undefined;
    let why = '';
    try {
      const loaded = await loader();
      if (opts.outOfSampleOnly) {
        // Before the model is taken: one whose spec cannot say what it saw is left out.
        const cleanFromMs = modelCleanFromMs(loaded.spec as Parameters<typeof modelCleanFromMs>[0]);
        modelAllowedAt = (originMs) => originMs >= cleanFromMs;
      }
      model = lstmSeriesForecaster(loaded);
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    const warm = opts.warmStart === false ? undefined : opts.warmStart ? opts.warmStart[signal] : (readEnsembleFit(signal) ?? undefined);
    const s = new EnsembleSeriesForecaster({ signal, ...(model ? { model } : {}), ...(modelAllowedAt ? { modelAllowedAt } : {}), ...(opts.ensemble ? { options: opts.ensemble } : {}), ...(warm ? { warmStart: warm } : {}) });
    // "carbon forecaster: caco-ensemble-carbon@…+caco-carbon-lstm@…", not "carbon LSTM: <the ensemble>".
    notes.push(model ? `${signal} forecaster: ${s.describe}` : `${label}: not loaded (${why}); using ${s.describe}`);
    return s;
  };
  const carbon = await load('carbon', 'carbon LSTM', () => (opts.loadCarbon ?? loadCarbonForecaster)(opts.carbonDir));
  const price = await load('price', 'price LSTM', () => (opts.loadPrice ?? loadPriceForecaster)(opts.priceDir));
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
