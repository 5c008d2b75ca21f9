import { Schema } from 'effect';
import { decodeWith, type Decoded } from '../registry.ts';
import { Catalog, Intent } from './catalog.ts';
import { BecknError, contextOf, type BecknAction } from './context.ts';
import { ConfirmOrder, InitOrder, Order, SelectOrder, UpdateOrder } from './order.ts';
import { Descriptor, Email, HttpUri, NonEmpty, NonNegativeDecimal } from './primitives.ts';

export const Rating = Schema.Struct({
  rating_category: Schema.Literals(['Item', 'Order', 'Fulfillment', 'Provider', 'Agent', 'Support']),
  id: NonEmpty,
  value: NonNegativeDecimal,
});

export const Support = Schema.Struct({
  ref_id: Schema.optional(NonEmpty),
  callback_phone: Schema.optional(Schema.String),
  phone: Schema.optional(Schema.String),
  email: Schema.optional(Email),
  url: Schema.optional(HttpUri),
});

const orderMessage = <S extends Schema.Top>(order: S) => Schema.Struct({ order });

/** One message body per action: `{ context, message }`, callbacks may add `error`. */
export const SearchRequest = Schema.Struct({ context: contextOf('search'), message: Schema.Struct({ intent: Intent }) });
export const SelectRequest = Schema.Struct({ context: contextOf('select'), message: orderMessage(SelectOrder) });
export const InitRequest = Schema.Struct({ context: contextOf('init'), message: orderMessage(InitOrder) });
export const ConfirmRequest = Schema.Struct({ context: contextOf('confirm'), message: orderMessage(ConfirmOrder) });
export const StatusRequest = Schema.Struct({ context: contextOf('status'), message: Schema.Struct({ order_id: NonEmpty }) });
export const UpdateRequest = Schema.Struct({
  context: contextOf('update'),
  message: Schema.Struct({ update_target: NonEmpty, order: UpdateOrder }),
});
export const CancelRequest = Schema.Struct({
  context: contextOf('cancel'),
  message: Schema.Struct({
    order_id: NonEmpty,
    cancellation_reason_id: Schema.optional(NonEmpty),
    descriptor: Schema.optional(Descriptor),
  }),
});
export const RatingRequest = Schema.Struct({ context: contextOf('rating'), message: Schema.Struct({ ratings: Schema.NonEmptyArray(Rating) }) });
export const SupportRequest = Schema.Struct({ context: contextOf('support'), message: Schema.Struct({ support: Support }) });

const callback = <A extends BecknAction, M extends Schema.Top>(action: A, message: M) =>
  Schema.Struct({ context: contextOf(action), message, error: Schema.optional(BecknError) });

export const OnSearchRequest = callback('on_search', Schema.Struct({ catalog: Catalog }));
export const OnSelectRequest = callback('on_select', orderMessage(Order));
export const OnInitRequest = callback('on_init', orderMessage(Order));
export const OnConfirmRequest = callback('on_confirm', orderMessage(Order));
export const OnStatusRequest = callback('on_status', orderMessage(Order));
export const OnUpdateRequest = callback('on_update', orderMessage(Order));
export const OnCancelRequest = callback('on_cancel', orderMessage(Order));
/** CACO sends no feedback form, so an on_rating message is empty. */
export const OnRatingRequest = callback('on_rating', Schema.Struct({}));
export const OnSupportRequest = callback('on_support', Schema.Struct({ support: Support }));

export const BecknRequestSchemas = {
  search: SearchRequest,
  select: SelectRequest,
  init: InitRequest,
  confirm: ConfirmRequest,
  status: StatusRequest,
  update: UpdateRequest,
  cancel: CancelRequest,
  rating: RatingRequest,
  support: SupportRequest,
  on_search: OnSearchRequest,
  on_select: OnSelectRequest,
  on_init: OnInitRequest,
  on_confirm: OnConfirmRequest,
  on_status: OnStatusRequest,
  on_update: OnUpdateRequest,
  on_cancel: OnCancelRequest,
  on_rating: OnRatingRequest,
  on_support: OnSupportRequest,
} as const satisfies Record<BecknAction, Schema.Top>;

export type BecknBody<A extends BecknAction> = Schema.Schema.Type<(typeof BecknRequestSchemas)[A]>;
export type SearchRequest = BecknBody<'search'>;
export type SelectRequest = BecknBody<'select'>;
export type InitRequest = BecknBody<'init'>;
export type ConfirmRequest = BecknBody<'confirm'>;
export type StatusRequest = BecknBody<'status'>;
export type UpdateRequest = BecknBody<'update'>;
export type CancelRequest = BecknBody<'cancel'>;
export type RatingRequest = BecknBody<'rating'>;
export type SupportRequest = BecknBody<'support'>;
export type OnSearchRequest = BecknBody<'on_search'>;
export type OnSelectRequest = BecknBody<'on_select'>;
export type OnInitRequest = BecknBody<'on_init'>;
export type OnConfirmRequest = BecknBody<'on_confirm'>;
export type OnStatusRequest = BecknBody<'on_status'>;
export type OnUpdateRequest = BecknBody<'on_update'>;
export type OnCancelRequest = BecknBody<'on_cancel'>;
export type OnRatingRequest = BecknBody<'on_rating'>;
export type OnSupportRequest = BecknBody<'on_support'>;
export type Rating = Schema.Schema.Type<typeof Rating>;
export type Support = Schema.Schema.Type<typeof Support>;

/**
 * Bodies up to this many bytes that fail the schema are told every problem; a larger one, its
 * first. Listing them all is work in proportion to the problems: a signed 1 MB search of 14,000
 * empty tag groups held the BPP's event loop 0.6 s and was answered with a NACK of 1.9 MB
 * naming 42,000 paths, and at 16 KiB one of 10,000 empty objects still took 30-75 ms, five
 * times the old cost per byte (helpers' reviews). Stopping at the first costs nothing; a
 * typical request is 1-2 KB; up to this size all its problems are listed, in at most ~5 ms.
 */
export const FULL_SCHEMA_REPORT_BYTES = 2 * 1024;

/**
 * Decode a Beckn request body strictly, stopping at the first problem; a body that fails and
 * is at most FULL_SCHEMA_REPORT_BYTES (`bytes`) long is decoded again for every problem with
 * its path (`message.order.items[0].quantity`), unknown and misspelt fields included.
 */
export function decodeBecknBody<A extends BecknAction>(action: A, body: unknown, bytes = 0): Decoded<BecknBody<A>> {
  const schema = BecknRequestSchemas[action];
  const first = decodeWith(schema, body, '', 'first') as Decoded<BecknBody<A>>;
  if (first.ok || bytes > FULL_SCHEMA_REPORT_BYTES) return first;
  return decodeWith(schema, body, '', 'all') as Decoded<BecknBody<A>>;
}
