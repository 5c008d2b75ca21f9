import { Schema } from 'effect';
import { defineCommand, defineEvent, MessageRegistry } from '../../schemas/registry.ts';
import { IsoUtc, NonEmpty, NonNegative } from '../../schemas/common.ts';

/** The example's own messages: a third party registers its schemas exactly like this. */
export const MeterRead = defineEvent('example.meter.read', 1, 'A half-hourly meter reading', Schema.Struct({ meter: NonEmpty, periodStart: IsoUtc, energyKwh: NonNegative }));
export const EnergyTotalled = defineEvent('example.energy.totalled', 1, 'Running total of metered energy', Schema.Struct({ meter: NonEmpty, readings: Schema.Int, totalKwh: NonNegative }));
export const ResetTotal = defineCommand('example.tally.reset', 1, 'Start the running total again', Schema.Struct({ meter: NonEmpty, reason: NonEmpty }));
export const TotalReset = defineEvent('example.total.reset', 1, 'The running total was reset', Schema.Struct({ meter: NonEmpty, reason: NonEmpty }));

export function exampleRegistry(): MessageRegistry {
  return new MessageRegistry([MeterRead, EnergyTotalled, ResetTotal, TotalReset]);
}
