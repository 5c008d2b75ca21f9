import { Schema } from 'effect';
import { defineEvent } from './registry.ts';
import { Finite, IsoUtc, NonEmpty, NonEmptyText, NonNegative, SettlementDate, SettlementPeriod } from './common.ts';

const NullableNumber = Schema.NullOr(Finite);

export const SignalObserved = defineEvent(
  'grid.signal.observed',
  1,
  'Grid signals observed for one settled half-hour: actual carbon intensity and prices',
  Schema.Struct({
    periodStart: IsoUtc,
    settlementDate: SettlementDate,
    settlementPeriod: SettlementPeriod,
    carbonActualGPerKwh: NullableNumber,
    carbonPublishedForecastGPerKwh: NullableNumber,
    imbalancePriceGbpPerMwh: NullableNumber,
    marketIndexPriceGbpPerMwh: NullableNumber,
    source: NonEmpty,
  }),
);

/** One half-hour's P10/P50/P90; quantiles never cross (a crossed band is a model fault, not a forecast). */
const Band = Schema.Struct({ p10: Finite, p50: Finite, p90: Finite }).check(
  Schema.makeFilter((b) => (b.p10 <= b.p50 && b.p50 <= b.p90 ? undefined : 'p10 <= p50 <= p90 must hold'), {
    expected: 'p10 <= p50 <= p90',
  }),
);

const SeriesForecast = Schema.Struct({
  modelId: NonEmpty,
  modelVersion: NonEmpty,
  /** One entry per half-hour from `startsAt` (96 for the 48 h horizon). */
  points: Schema.Array(Band).check(Schema.isMinLength(1)),
});

export const ForecastPublished = defineEvent(
  'grid.forecast.published',
  1,
  'A 48 h half-hourly forecast of carbon intensity (gCO2/kWh) and market price (£/MWh) with P10/P90 bands',
  Schema.Struct({
    forecastId: NonEmpty,
    issuedAt: IsoUtc,
    startsAt: IsoUtc,
    slotMinutes: Schema.Literal(30),
    /** SHA-256 of the inputs the models saw, so a forecast can be reproduced. */
    inputsHash: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u, { expected: '64 lower-case hex digits' })),
    carbonGPerKwh: SeriesForecast,
    priceGbpPerMwh: SeriesForecast,
  }),
);

export const StressExpected = defineEvent(
  'grid.stress.expected',
  1,
  'A window in which carbon intensity or price is forecast to peak: when a grid operator wants flexibility',
  Schema.Struct({
    stressId: NonEmpty,
    forecastId: NonEmpty,
    windowStart: IsoUtc,
    windowEnd: IsoUtc,
    kind: Schema.Literals(['carbon-peak', 'price-peak']),
    peakCarbonGPerKwh: Finite,
    peakPriceGbpPerMwh: Finite,
    /**
     * How far above the 48 h median the peak stands, as a fraction of |median| (0.25 = 25 % above),
     * or of the interquartile range when that is larger (prices near £0).
     */
    severity: NonNegative,
  }).check(
    Schema.makeFilter((w) => (Date.parse(w.windowEnd) > Date.parse(w.windowStart) ? undefined : { path: ['windowEnd'], issue: 'must be after windowStart' })),
  ),
);

export const SignalDegraded = defineEvent(
  'grid.signal.degraded',
  1,
  'The grid agent could not get good signals; it keeps its last good forecast',
  Schema.Struct({
    reason: NonEmptyText,
    source: NonEmpty,
    /** The forecast still in use, if any. */
    lastGoodForecastId: Schema.NullOr(NonEmpty),
    lastGoodIssuedAt: Schema.NullOr(IsoUtc),
  }),
);

export const gridMessages = [SignalObserved, ForecastPublished, StressExpected, SignalDegraded];
