import { Schema } from 'effect';
import { defineEvent } from './registry.ts';
import { IsoUtc, isoDatePattern } from './common.ts';

/**
 * Facts an outside on-site asset operator (a battery, a solar array) may append through the
 * site's gateway into its own stream `ext-<name>` (docs/external-agent.md). The site owns these
 * schemas, so every operator speaks the same shape and the compute agent can plan on them.
 *
 * Every number is bounded: an operator's typo must be refused at the gateway, not planned on.
 */

/** The largest power (kW) and energy (kWh) one on-site asset may claim: 1 GW, 1 GWh. */
const MAX_KW = 1_000_000;
const MAX_KWH = 1_000_000;
/** An offer covers at most a week ahead (the planner's horizon is 48 h). */
const MAX_OFFER_MS = 7 * 86_400_000;
const SLOT_MS = 1_800_000;

const between = (minimum: number, maximum: number, unit: string) =>
  Schema.Finite.check(Schema.isBetween({ minimum, maximum }, { expected: `a number of ${unit} from ${minimum} to ${maximum}` }));

/** An asset id: letters, digits, `_`, `.`, `:` and `-`, 1 to 64 of them. */
const AssetId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_.:-]{1,64}$/u, { expected: 'an asset id of 1 to 64 letters, digits, "_", ".", ":" or "-"' }),
);

/**
 * An ISO 8601 UTC time on a half-hour boundary (minutes 00 or 30, seconds and fraction zero),
 * in the decoder and in the exported JSON Schema alike.
 */
const HALF_HOUR_UTC_PATTERN = new RegExp(`^${isoDatePattern()}T(?:[01]\\d|2[0-3]):[03]0(?::00(?:\\.0{1,3})?)?Z$`, 'u');
const HalfHourUtc = Schema.String.check(
  Schema.isPattern(HALF_HOUR_UTC_PATTERN, { expected: 'an ISO 8601 UTC time on a half-hour boundary, like 2023-07-01T12:30:00Z' }),
);

export const BatteryStateReported = defineEvent(
  'onsite.battery.state.reported',
  1,
  "An on-site battery's operator reports its state of charge and power limits at a time. Checked by the site beyond this schema: stateOfChargeKwh must not exceed capacityKwh",
  Schema.Struct({
    assetId: AssetId,
    stateOfChargeKwh: between(0, MAX_KWH, 'kWh'),
    capacityKwh: between(0, MAX_KWH, 'kWh'),
    maxDischargeKw: between(0, MAX_KW, 'kW'),
    maxChargeKw: between(0, MAX_KW, 'kW'),
    at: IsoUtc,
  }).check(
    Schema.makeFilter((b) => (b.stateOfChargeKwh <= b.capacityKwh ? undefined : { path: ['stateOfChargeKwh'], issue: 'must not exceed capacityKwh' })),
  ),
);

export const EnergyOffered = defineEvent(
  'onsite.energy.offered',
  1,
  'An on-site asset offers to supply the site up to powerKw over a half-hour-aligned window, at a price and carbon intensity. Checked by the site beyond this schema: to must be after from, by whole half-hours, at most 7 days later',
  Schema.Struct({
    assetId: AssetId,
    from: HalfHourUtc,
    to: HalfHourUtc,
    /** Power the asset can supply to the site throughout the window. */
    powerKw: between(0, MAX_KW, 'kW'),
    /** GB prices can be negative; the bounds only catch nonsense. */
    priceGbpPerMwh: between(-1000, 10_000, '£/MWh'),
    carbonGPerKwh: between(0, 2000, 'gCO2/kWh'),
  }).check(
    Schema.makeFilter((o) => {
      const span = Date.parse(o.to) - Date.parse(o.from);
      if (!(span > 0)) return { path: ['to'], issue: 'must be after from' };
      if (span > MAX_OFFER_MS) return { path: ['to'], issue: 'the window must be at most 7 days long' };
      if (span % SLOT_MS !== 0) return { path: ['to'], issue: 'the window must be whole half-hours' };
      return undefined;
    }),
  ),
);

export const onsiteMessages = [BatteryStateReported, EnergyOffered];
