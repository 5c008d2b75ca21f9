import { Schema } from 'effect';

/**
 * Building blocks of the Beckn 1.1 messages CACO sends and accepts. They follow the field
 * names of `core-v1.1.1/transaction.yaml` and are decoded with excess properties as errors:
 * the spec's own schemas accept any unknown or misspelt field, which would let a typo in a kW
 * quantity pass silently. Every other field the spec defines on these objects is accepted as
 * {@link NotRead}: a BAP may send it, CACO neither reads nor echoes it (docs/market.md lists
 * the fields that are read).
 */

/** A field the spec defines that CACO does not use: accepted whatever its value, then ignored. */
export const NotRead = Schema.optional(Schema.Unknown);

export const NonEmpty = Schema.String.check(Schema.isNonEmpty({ expected: 'a non-empty string' }));

/**
 * RFC 3339 date-time with seconds and a zone: `Z` or an offset (`2026-01-15T16:03:01+00:00`),
 * as the spec's `format: date-time` allows. CACO itself puts only UTC (`Z`) on the wire.
 */
export const Timestamp = Schema.String.check(
  Schema.isPattern(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/u, {
    expected: 'an RFC 3339 date-time with seconds and a zone, like 2026-01-15T16:03:01Z or 2026-01-15T16:03:01+00:00',
  }),
);

export const Uuid = Schema.String.check(
  Schema.isPattern(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/u, { expected: 'a UUID' }),
);

/** ISO 8601 duration, as Beckn uses for `ttl` (`PT30S`, `PT15M`, `P1D`). */
export const Duration = Schema.String.check(
  Schema.isPattern(/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/u, {
    expected: 'an ISO 8601 duration like PT30S',
  }),
);

/** Beckn's DecimalValue: a number carried as a string. */
export const Decimal = Schema.String.check(Schema.isPattern(/^[+-]?(\d*\.)?\d+$/u, { expected: 'a decimal number as a string, like "95.00"' }));
export const NonNegativeDecimal = Schema.String.check(
  Schema.isPattern(/^(\d*\.)?\d+$/u, { expected: 'a non-negative decimal number as a string, like "1.5"' }),
);

export const Currency = Schema.String.check(Schema.isPattern(/^[A-Z]{3}$/u, { expected: 'an ISO 4217 currency code like GBP' }));
export const HttpUri = Schema.String.check(Schema.isPattern(/^https?:\/\/[^\s/$.?#][^\s]*$/u, { expected: 'an http(s) URI' }));
/**
 * A participant's address (`bap_uri`, `bpp_uri`): an http(s) URI, or over the NATS binding a
 * `nats:<subject prefix>` URI (docs/beckn.md "Beckn over NATS"). Both are URIs in the spec's sense.
 */
export const ParticipantUri = Schema.String.check(
  Schema.isPattern(/^(https?:\/\/[^\s/$.?#][^\s]*|nats:[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)$/u, { expected: 'an http(s) URI or a nats:<subject> URI' }),
);
export const Email = Schema.String.check(Schema.isPattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/u, { expected: 'an e-mail address' }));
/** Same pattern as the spec's `Gps`: "lat, lon". */
export const Gps = Schema.String.check(
  Schema.isPattern(/^[-+]?([1-8]?\d(\.\d+)?|90(\.0+)?),\s*[-+]?(180(\.0+)?|((1[0-7]\d)|([1-9]?\d))(\.\d+)?)$/u, {
    expected: 'GPS coordinates "lat, lon"',
  }),
);

export const Descriptor = Schema.Struct({
  name: Schema.optional(Schema.String),
  code: Schema.optional(NonEmpty),
  short_desc: Schema.optional(Schema.String),
  long_desc: Schema.optional(Schema.String),
  additional_desc: NotRead,
  media: NotRead,
  images: NotRead,
});

/** A descriptor whose `code` is the machine-readable key (tags, states, categories). */
export const CodedDescriptor = Schema.Struct({
  code: NonEmpty,
  name: Schema.optional(Schema.String),
  short_desc: Schema.optional(Schema.String),
  long_desc: NotRead,
  additional_desc: NotRead,
  media: NotRead,
  images: NotRead,
});

export const Tag = Schema.Struct({
  descriptor: CodedDescriptor,
  value: Schema.String,
  display: Schema.optional(Schema.Boolean),
});

/** Tags are where the flexibility terms travel (BECKN-009: tags are the edge of Beckn). */
export const TagGroup = Schema.Struct({
  display: Schema.optional(Schema.Boolean),
  descriptor: CodedDescriptor,
  list: Schema.Array(Tag),
});

export const Price = Schema.Struct({
  currency: Currency,
  value: Decimal,
  estimated_value: NotRead,
  computed_value: NotRead,
  listed_value: NotRead,
  offered_value: NotRead,
  minimum_value: NotRead,
  maximum_value: NotRead,
});

/** Power quantities: CACO sends MW (as the DEG examples do) and accepts kW or MW. */
export const PowerUnit = Schema.Literals(['kW', 'MW']);
export const PowerMeasure = Schema.Struct({
  unit: PowerUnit,
  value: NonNegativeDecimal,
  type: NotRead,
  estimated_value: NotRead,
  computed_value: NotRead,
  range: NotRead,
});
export const QuantityOf = Schema.Struct({ measure: PowerMeasure, count: NotRead });

export const ItemQuantity = Schema.Struct({
  available: Schema.optional(QuantityOf),
  minimum: Schema.optional(QuantityOf),
  maximum: Schema.optional(QuantityOf),
  selected: Schema.optional(QuantityOf),
  allocated: Schema.optional(QuantityOf),
  unitized: NotRead,
});

export const TimeRange = Schema.Struct({ start: Timestamp, end: Timestamp });

export const Time = Schema.Struct({
  label: Schema.optional(Schema.String),
  timestamp: Schema.optional(Timestamp),
  duration: Schema.optional(Duration),
  range: Schema.optional(TimeRange),
  days: NotRead,
  schedule: NotRead,
});

export const CodeName = Schema.Struct({ code: Schema.optional(NonEmpty), name: Schema.optional(Schema.String) });

export const Location = Schema.Struct({
  id: Schema.optional(NonEmpty),
  descriptor: Schema.optional(Descriptor),
  gps: Schema.optional(Gps),
  address: Schema.optional(Schema.String),
  area_code: Schema.optional(Schema.String),
  city: Schema.optional(CodeName),
  district: Schema.optional(Schema.String),
  state: Schema.optional(CodeName),
  country: Schema.optional(CodeName),
  map_url: NotRead,
  circle: NotRead,
  polygon: NotRead,
  '3dspace': NotRead,
  rating: NotRead,
});

/** CACO reads the `start` and `end` stops (the window); stops of other types are ignored. */
export const Stop = Schema.Struct({
  id: Schema.optional(NonEmpty),
  type: Schema.optional(Schema.String),
  time: Schema.optional(Time),
  location: Schema.optional(Location),
  parent_stop_id: NotRead,
  instructions: NotRead,
  contact: NotRead,
  person: NotRead,
  authorization: NotRead,
});

export const FulfillmentState = Schema.Struct({
  descriptor: CodedDescriptor,
  updated_at: Schema.optional(Timestamp),
  updated_by: NotRead,
});

export const Fulfillment = Schema.Struct({
  id: NonEmpty,
  type: Schema.optional(NonEmpty),
  stops: Schema.optional(Schema.Array(Stop)),
  state: Schema.optional(FulfillmentState),
  rateable: Schema.optional(Schema.Boolean),
  tags: Schema.optional(Schema.Array(TagGroup)),
  rating: NotRead,
  tracking: NotRead,
  customer: NotRead,
  agent: NotRead,
  contact: NotRead,
  vehicle: NotRead,
  path: NotRead,
});

/** A fulfillment as a buyer may describe it in an order: the id, when given, is the offer's. */
export const FulfillmentInOrder = Schema.Struct({ ...Fulfillment.fields, id: Schema.optional(NonEmpty) });

export type Descriptor = Schema.Schema.Type<typeof Descriptor>;
export type Tag = Schema.Schema.Type<typeof Tag>;
export type TagGroup = Schema.Schema.Type<typeof TagGroup>;
export type Price = Schema.Schema.Type<typeof Price>;
export type PowerMeasure = Schema.Schema.Type<typeof PowerMeasure>;
export type ItemQuantity = Schema.Schema.Type<typeof ItemQuantity>;
export type Time = Schema.Schema.Type<typeof Time>;
export type Location = Schema.Schema.Type<typeof Location>;
export type Stop = Schema.Schema.Type<typeof Stop>;
export type Fulfillment = Schema.Schema.Type<typeof Fulfillment>;
