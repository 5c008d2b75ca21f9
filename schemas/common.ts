import { Schema } from 'effect';

/** Building blocks shared by the message schemas; units live in the field names. */

/** ISO 8601 UTC timestamp, e.g. `2023-07-01T12:30:00.000Z` (seconds and millis optional). */
export const IsoUtc = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/, { expected: 'an ISO 8601 UTC time like 2023-07-01T12:30:00Z' }),
);

export const NonEmpty = Schema.String.check(Schema.isNonEmpty({ expected: 'a non-empty string' }));
export const Finite = Schema.Finite;
export const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0));
export const Positive = Schema.Finite.check(Schema.isGreaterThan(0));
export const Int = Schema.Int;
export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0));

/** UK settlement period naming: local date and period 1..50. */
export const SettlementDate = Schema.String.check(Schema.isPattern(/^\d{4}-\d{2}-\d{2}$/, { expected: 'a date like 2023-07-01' }));
export const SettlementPeriod = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }));
