import { Schema } from 'effect';
import {
  Currency,
  Decimal,
  Descriptor,
  Duration,
  Email,
  Fulfillment,
  FulfillmentInOrder,
  HttpUri,
  ItemQuantity,
  NonEmpty,
  NotRead,
  Price,
  QuantityOf,
  TagGroup,
  Time,
  Timestamp,
} from './primitives.ts';

/** Every field of the spec's `Item` that CACO does not read in a request. */
export const itemNotRead = {
  parent_item_id: NotRead,
  parent_item_quantity: NotRead,
  creator: NotRead,
  category_ids: NotRead,
  location_ids: NotRead,
  payment_ids: NotRead,
  add_ons: NotRead,
  cancellation_terms: NotRead,
  refund_terms: NotRead,
  replacement_terms: NotRead,
  return_terms: NotRead,
  xinput: NotRead,
  rateable: NotRead,
  rating: NotRead,
  matched: NotRead,
  related: NotRead,
  recommended: NotRead,
  ttl: NotRead,
} as const;

/** Every field of the spec's `Provider` but the id and descriptor, in a request. */
export const providerNotRead = {
  category_id: NotRead,
  rating: NotRead,
  time: NotRead,
  categories: NotRead,
  fulfillments: NotRead,
  payments: NotRead,
  locations: NotRead,
  offers: NotRead,
  items: NotRead,
  exp: NotRead,
  rateable: NotRead,
  ttl: NotRead,
  tags: NotRead,
} as const;

export const ProviderRef = Schema.Struct({
  id: NonEmpty,
  descriptor: Schema.optional(Descriptor),
  ...providerNotRead,
});

/** An item as it appears in an order: which flexibility item, and how much of it. */
export const OrderItem = Schema.Struct({
  id: NonEmpty,
  descriptor: Schema.optional(Descriptor),
  quantity: Schema.optional(ItemQuantity),
  price: Schema.optional(Price),
  fulfillment_ids: Schema.optional(Schema.Array(NonEmpty)),
  time: Schema.optional(Time),
  tags: Schema.optional(Schema.Array(TagGroup)),
});

/** An item in a select/init/confirm: the quantity selected is what is being bought. */
export const SelectedItem = Schema.Struct({
  id: NonEmpty,
  quantity: Schema.Struct({ selected: QuantityOf, allocated: NotRead, available: NotRead, maximum: NotRead, minimum: NotRead, unitized: NotRead }),
  fulfillment_ids: Schema.optional(Schema.Array(NonEmpty)),
  tags: Schema.optional(Schema.Array(TagGroup)),
  descriptor: NotRead,
  price: NotRead,
  time: NotRead,
  ...itemNotRead,
});

/** A fulfillment named in a draft order: only its id is read (when given, the offer's). */
export const FulfillmentRef = FulfillmentInOrder;

/** Who pays. CACO reads (and echoes in on_init / on_confirm) the name, e-mail, phone and tax id. */
export const Billing = Schema.Struct({
  name: NonEmpty,
  email: Schema.optional(Email),
  phone: Schema.optional(Schema.String),
  tax_id: Schema.optional(Schema.String),
  organization: NotRead,
  address: NotRead,
  state: NotRead,
  city: NotRead,
  time: NotRead,
});

export const QuoteBreakup = Schema.Struct({
  item: Schema.optional(Schema.Struct({ id: NonEmpty, ...itemNotRead, descriptor: NotRead, price: NotRead, quantity: NotRead, fulfillment_ids: NotRead, time: NotRead, tags: NotRead })),
  title: Schema.String,
  price: Price,
});

export const Quote = Schema.Struct({
  id: Schema.optional(NonEmpty),
  price: Price,
  breakup: Schema.optional(Schema.Array(QuoteBreakup)),
  ttl: Schema.optional(Duration),
});

export const Payment = Schema.Struct({
  id: Schema.optional(NonEmpty),
  type: Schema.optional(Schema.Literals(['PRE-ORDER', 'PRE-FULFILLMENT', 'ON-FULFILLMENT', 'POST-FULFILLMENT'])),
  status: Schema.optional(Schema.Literals(['PAID', 'NOT-PAID'])),
  collected_by: Schema.optional(Schema.Literals(['BAP', 'BPP'])),
  url: Schema.optional(HttpUri),
  params: Schema.optional(
    Schema.Struct({
      transaction_id: Schema.optional(Schema.String),
      amount: Schema.optional(Decimal),
      currency: Schema.optional(Currency),
      bank_code: NotRead,
      bank_account_number: NotRead,
      virtual_payment_address: NotRead,
      source_bank_code: NotRead,
      source_bank_account_number: NotRead,
      source_virtual_payment_address: NotRead,
    }),
  ),
  tags: Schema.optional(Schema.Array(TagGroup)),
  time: NotRead,
});

export const Cancellation = Schema.Struct({
  time: Schema.optional(Timestamp),
  cancelled_by: Schema.optional(Schema.Literals(['CONSUMER', 'PROVIDER'])),
  reason: Schema.optional(Schema.Struct({ id: NonEmpty, descriptor: Schema.optional(Descriptor) })),
  additional_description: Schema.optional(Descriptor),
});

export const OrderStatus = Schema.Literals(['ACTIVE', 'COMPLETE', 'CANCELLED']);

/** An order as the BPP describes it in on_select … on_cancel. */
export const Order = Schema.Struct({
  id: Schema.optional(NonEmpty),
  status: Schema.optional(OrderStatus),
  provider: Schema.optional(ProviderRef),
  items: Schema.optional(Schema.Array(OrderItem)),
  fulfillments: Schema.optional(Schema.Array(Fulfillment)),
  billing: Schema.optional(Billing),
  quote: Schema.optional(Quote),
  payments: Schema.optional(Schema.Array(Payment)),
  cancellation: Schema.optional(Cancellation),
  created_at: Schema.optional(Timestamp),
  updated_at: Schema.optional(Timestamp),
  tags: Schema.optional(Schema.Array(TagGroup)),
});

/** Fields of the spec's `Order` that CACO never reads from a request. */
const orderNotRead = {
  id: NotRead,
  ref_order_ids: NotRead,
  status: NotRead,
  type: NotRead,
  add_ons: NotRead,
  offers: NotRead,
  cancellation: NotRead,
  cancellation_terms: NotRead,
  refund_terms: NotRead,
  replacement_terms: NotRead,
  return_terms: NotRead,
  created_at: NotRead,
  updated_at: NotRead,
  xinput: NotRead,
} as const;

const draftFields = {
  ...orderNotRead,
  provider: ProviderRef,
  items: Schema.NonEmptyArray(SelectedItem),
  fulfillments: Schema.optional(Schema.Array(FulfillmentRef)),
  tags: Schema.optional(Schema.Array(TagGroup)),
  billing: NotRead,
  quote: NotRead,
  payments: NotRead,
};

/** What a BAP sends in `select`: the provider, the item(s) and the kW wanted. */
export const SelectOrder = Schema.Struct(draftFields);
/** `init` adds who pays (billing). */
export const InitOrder = Schema.Struct({ ...draftFields, billing: Billing });
/**
 * `confirm` may carry the quote it accepts (then a changed price is a stale quote, 40003)
 * and payment terms. Billing is optional so the DEG short flow (search → confirm) works.
 */
export const ConfirmOrder = Schema.Struct({
  ...draftFields,
  billing: Schema.optional(Billing),
  quote: Schema.optional(Quote),
  payments: Schema.optional(Schema.Array(Payment)),
});
/** `update` names the order and carries only the parts named in `update_target`. */
export const UpdateOrder = Schema.Struct({
  ...orderNotRead,
  provider: NotRead,
  quote: NotRead,
  id: NonEmpty,
  items: Schema.optional(Schema.Array(SelectedItem)),
  fulfillments: Schema.optional(Schema.Array(Fulfillment)),
  billing: Schema.optional(Billing),
  payments: Schema.optional(Schema.Array(Payment)),
  tags: Schema.optional(Schema.Array(TagGroup)),
});

export type OrderItem = Schema.Schema.Type<typeof OrderItem>;
export type SelectedItem = Schema.Schema.Type<typeof SelectedItem>;
export type Billing = Schema.Schema.Type<typeof Billing>;
export type Quote = Schema.Schema.Type<typeof Quote>;
export type Payment = Schema.Schema.Type<typeof Payment>;
export type Cancellation = Schema.Schema.Type<typeof Cancellation>;
export type Order = Schema.Schema.Type<typeof Order>;
export type SelectOrder = Schema.Schema.Type<typeof SelectOrder>;
export type InitOrder = Schema.Schema.Type<typeof InitOrder>;
export type ConfirmOrder = Schema.Schema.Type<typeof ConfirmOrder>;
export type UpdateOrder = Schema.Schema.Type<typeof UpdateOrder>;
