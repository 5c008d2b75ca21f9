import { Schema } from 'effect';

/**
 * Building blocks shared by the message schemas; units live in the field names.
 *
 * Every string is bounded and every pattern carries the `u` flag: Effect exports a pattern to
 * JSON Schema only then, and lengths are counted in code points, as JSON Schema's `maxLength`
 * counts them, so the exported schemas refuse exactly what the decoder refuses.
 */

/** The longest free text a message carries (a reason, a note). */
export const MAX_TEXT = 2048;
/** The longest name or identifier. */
export const MAX_NAME = 256;
/** The longest job id: it becomes part of a stream name and a NATS subject token. */
export const MAX_JOB_ID = 128;

/**
 * ISO 8601 UTC, `Z` only, minutes required, seconds and up to 3 fraction digits optional:
 * exactly what `Date` keeps (milliseconds). `+00:00` offsets and nanoseconds are refused, in
 * the decoder and in the exported JSON Schema alike. Months and days are range-checked, and
 * 29 February only in leap years (`Date` read 2027-02-29 as 1 March; other languages refuse it).
 */
export const ISO_UTC_PATTERN = new RegExp(`^${isoDatePattern()}T(?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:\\.\\d{1,3})?)?Z$`, 'u');

/** A calendar date, YYYY-MM-DD, as a pattern: months and days range-checked, 29 February in leap years only. */
export function isoDatePattern(): string {
  return '(?:\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))|(?:\\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)';
}

export const IsoUtc = Schema.String.check(Schema.isPattern(ISO_UTC_PATTERN, { expected: 'an ISO 8601 UTC time like 2023-07-01T12:30:00Z (Z, at most milliseconds)' }));

/** Free text of at most `max` code points. */
export function text(max: number = MAX_TEXT) {
  return Schema.String.check(Schema.isMaxCodePoints(max, { expected: `a string of at most ${max} characters` }));
}

/** Non-empty text of at most `max` code points. */
export function nonEmptyText(max: number = MAX_NAME) {
  return Schema.String.check(Schema.isBetweenCodePoints(1, max, { expected: `a non-empty string of at most ${max} characters` }));
}

/** A name or identifier: 1 to 256 characters. */
export const NonEmpty = nonEmptyText(MAX_NAME);
/** Free text (reasons, notes, comments): at most 2,048 characters. */
export const Text = text(MAX_TEXT);
/** Non-empty free text. */
export const NonEmptyText = nonEmptyText(MAX_TEXT);

/**
 * An envelope identifier (`id`, `source`, `correlationId`, `causationId`): 1 to 128 printable
 * ASCII characters without spaces, which covers UUIDs, `beckn:<uuid>` and a Beckn subscriber id.
 */
export const Token = Schema.String.check(Schema.isPattern(/^[!-~]{1,128}$/u, { expected: 'an id of 1 to 128 printable ASCII characters without spaces' }));

/** What a job id may be: letters, digits, `_`, `:` and `-`, 1 to 128 of them (it becomes the stream `job-<id>`). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_:-]{1,128}$/u;

/** A job id (JOB_ID_PATTERN). */
export const JobId = Schema.String.check(Schema.isPattern(JOB_ID_PATTERN, { expected: 'a job id of 1 to 128 letters, digits, "_", ":" or "-"' }));

export const Finite = Schema.Finite;
export const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0));
export const Positive = Schema.Finite.check(Schema.isGreaterThan(0));
export const Int = Schema.Int;
export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0));
export const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1));

/** UK settlement period naming: local date and period 1..50. */
export const SettlementDate = Schema.String.check(Schema.isPattern(/^\d{4}-\d{2}-\d{2}$/u, { expected: 'a date like 2023-07-01' }));
export const SettlementPeriod = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }));

/** An array of at most `max` items. */
export function boundedArray<S extends Schema.Top>(item: S, max: number) {
  return Schema.Array(item).check(Schema.isMaxLength(max));
}
