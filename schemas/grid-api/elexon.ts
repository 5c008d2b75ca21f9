import { Schema } from 'effect';
import { openStruct } from './open-struct.ts';

/**
 * Responses of the Elexon Insights Solution (BMRS) API v1, as described in
 * `../shared/specs/grid-apis.md` §2. Prices are £/MWh, volumes MWh (units are not written in the
 * OpenAPI; see the spec). Fields CACO reads are required; the rest are typed but optional, so a
 * changed type is still caught while a dropped or added field we never read is not fatal.
 */

/** `yyyy-MM-dd`, the local (Europe/London) settlement day. */
export const ElexonDate = Schema.String.check(Schema.isPattern(/^\d{4}-\d{2}-\d{2}$/, { expected: 'a date like 2026-01-15' }));

/** RFC 3339 instant; the OpenAPI example writes `2023-09-18T12:30:00.0000000+00:00`, other copies `...Z`. */
export const ElexonInstant = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/, {
    expected: 'an RFC 3339 time like 2026-01-15T17:00:00Z',
  }),
);

export const ElexonPeriod = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }));

const optNum = Schema.optional(Schema.NullOr(Schema.Finite));

/** Dataset DISEBSP, one settlement period. */
export const SystemPrice = openStruct({
  settlementDate: ElexonDate,
  settlementPeriod: ElexonPeriod,
  startTime: ElexonInstant,
  createdDateTime: Schema.optional(ElexonInstant),
  systemSellPrice: Schema.Finite,
  systemBuyPrice: Schema.Finite,
  bsadDefaulted: Schema.optional(Schema.Boolean),
  priceDerivationCode: Schema.optional(Schema.NullOr(Schema.String)),
  reserveScarcityPrice: optNum,
  netImbalanceVolume: optNum,
  sellPriceAdjustment: optNum,
  buyPriceAdjustment: optNum,
  replacementPrice: optNum,
  replacementPriceReferenceVolume: optNum,
  totalAcceptedOfferVolume: optNum,
  totalAcceptedBidVolume: optNum,
  totalAdjustmentSellVolume: optNum,
  totalAdjustmentBuyVolume: optNum,
  totalSystemTaggedAcceptedOfferVolume: optNum,
  totalSystemTaggedAcceptedBidVolume: optNum,
  totalSystemTaggedAdjustmentSellVolume: optNum,
  totalSystemTaggedAdjustmentBuyVolume: optNum,
});
export type SystemPrice = Schema.Schema.Type<typeof SystemPrice>;

const Metadata = openStruct({ datasets: Schema.optional(Schema.Array(Schema.String)) });

/** `/balancing/settlement/system-prices/{settlementDate}[/{settlementPeriod}]`. */
export const SystemPricesResponse = openStruct({ data: Schema.Array(SystemPrice), metadata: Schema.optional(Metadata) });
export type SystemPricesResponse = Schema.Schema.Type<typeof SystemPricesResponse>;

/** Market Index Data (MID), one provider and period. */
export const MarketIndexRow = openStruct({
  dataset: Schema.optional(Schema.String),
  startTime: ElexonInstant,
  dataProvider: Schema.String,
  settlementDate: ElexonDate,
  settlementPeriod: ElexonPeriod,
  price: Schema.Finite,
  volume: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
});
export type MarketIndexRow = Schema.Schema.Type<typeof MarketIndexRow>;

/** `/balancing/pricing/market-index?from&to` (with metadata) or `/datasets/MID?from&to` (without). */
export const MarketIndexResponse = openStruct({ data: Schema.Array(MarketIndexRow), metadata: Schema.optional(Metadata) });
export type MarketIndexResponse = Schema.Schema.Type<typeof MarketIndexResponse>;
