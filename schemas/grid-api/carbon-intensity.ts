import { Schema } from 'effect';
import { openStruct } from './open-struct.ts';

/**
 * Responses of the GB Carbon Intensity API (NESO), v2.0.0, as described in
 * `../shared/specs/grid-apis.md` §1. All times are UTC, written `YYYY-MM-DDThh:mmZ`.
 */

/** `2026-01-15T17:00Z`; seconds are accepted too, in case the API ever writes them. */
export const CiTime = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/, { expected: 'a UTC time like 2026-01-15T17:00Z' }),
);

/** gCO2/kWh. */
const Intensity = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0));

/**
 * The docs type `actual` as a number, but it is `null` for half-hours that have not closed
 * (spec §1.1), so it is nullable here. `index` is a band name we never compute with, so any
 * string is accepted rather than failing the whole response on a new band.
 */
export const IntensityRecord = openStruct({
  from: CiTime,
  to: CiTime,
  intensity: openStruct({
    forecast: Intensity,
    actual: Schema.NullOr(Intensity),
    index: Schema.NullOr(Schema.String),
  }),
});

/** `/intensity/{from}/fw48h`, `/intensity/{from}/pt24h`, `/intensity/{from}/{to}` and friends. */
export const IntensityResponse = openStruct({ data: Schema.Array(IntensityRecord) });
export type IntensityResponse = Schema.Schema.Type<typeof IntensityResponse>;

export const GenerationMixEntry = openStruct({ fuel: Schema.String, perc: Schema.Finite });

/** Regional records carry a forecast only (no `actual`). */
export const RegionalIntensityRecord = openStruct({
  from: CiTime,
  to: CiTime,
  intensity: openStruct({ forecast: Intensity, index: Schema.NullOr(Schema.String) }),
  generationmix: Schema.optional(Schema.Array(GenerationMixEntry)),
});

export const RegionSeries = openStruct({
  regionid: Schema.Int,
  dnoregion: Schema.optional(Schema.String),
  shortname: Schema.optional(Schema.String),
  postcode: Schema.optional(Schema.String),
  data: Schema.Array(RegionalIntensityRecord),
});
export type RegionSeries = Schema.Schema.Type<typeof RegionSeries>;

/**
 * "Regional ID" shape (`/regional/intensity/{from}/fw48h/regionid/{id}` and friends). The docs
 * show the outer `data` as a one-element array; two third-party sources read it as an object.
 * Neither could be checked against the live API, so both are accepted (spec §1.3).
 */
export const RegionalIdResponse = openStruct({ data: Schema.Union([Schema.Array(RegionSeries), RegionSeries]) });
export type RegionalIdResponse = Schema.Schema.Type<typeof RegionalIdResponse>;

/** `{"error": {"code": "400 Bad Request", "message": "..."}}`, used only to word error reports. */
export const CiErrorBody = openStruct({ error: openStruct({ code: Schema.optional(Schema.String), message: Schema.optional(Schema.String) }) });
