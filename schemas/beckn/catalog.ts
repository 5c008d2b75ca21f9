import { Schema } from 'effect';
import { Descriptor, Duration, Fulfillment, ItemQuantity, Location, NonEmpty, NotRead, Price, TagGroup, Time, Timestamp } from './primitives.ts';
import { itemNotRead, providerNotRead } from './order.ts';

export const Category = Schema.Struct({
  id: NonEmpty,
  parent_category_id: Schema.optional(NonEmpty),
  descriptor: Schema.optional(Descriptor),
});

/**
 * A flexibility offer is a catalog Item (not a Beckn Offer, which is a discount): the
 * quantity is kW/MW available and minimum, the price is £/MWh, the window is `time.range`,
 * and the terms (notice, baseline method, penalty, settlement periods) are tags.
 */
export const CatalogItem = Schema.Struct({
  id: NonEmpty,
  parent_item_id: Schema.optional(NonEmpty),
  descriptor: Descriptor,
  category_ids: Schema.optional(Schema.Array(NonEmpty)),
  location_ids: Schema.optional(Schema.Array(NonEmpty)),
  fulfillment_ids: Schema.optional(Schema.Array(NonEmpty)),
  price: Price,
  quantity: ItemQuantity,
  time: Schema.optional(Time),
  rateable: Schema.optional(Schema.Boolean),
  matched: Schema.optional(Schema.Boolean),
  ttl: Schema.optional(Duration),
  tags: Schema.optional(Schema.Array(TagGroup)),
});

export const Provider = Schema.Struct({
  id: NonEmpty,
  descriptor: Schema.optional(Descriptor),
  categories: Schema.optional(Schema.Array(Category)),
  locations: Schema.optional(Schema.Array(Location)),
  fulfillments: Schema.optional(Schema.Array(Fulfillment)),
  items: Schema.Array(CatalogItem),
  rateable: Schema.optional(Schema.Boolean),
  exp: Schema.optional(Timestamp),
  tags: Schema.optional(Schema.Array(TagGroup)),
});

export const Catalog = Schema.Struct({
  descriptor: Schema.optional(Descriptor),
  providers: Schema.Array(Provider),
  exp: Schema.optional(Timestamp),
  ttl: Schema.optional(Duration),
});

/**
 * What a BAP looks for: category, minimum quantity, window (stops), location, grid-need tags.
 * Everything else the spec lets an intent carry (payment, offer, the rest of the provider, item
 * and fulfillment) is accepted and not read.
 */
export const Intent = Schema.Struct({
  descriptor: Schema.optional(Descriptor),
  category: Schema.optional(Schema.Struct({ id: Schema.optional(NonEmpty), descriptor: Schema.optional(Descriptor), parent_category_id: NotRead, time: NotRead, ttl: NotRead, tags: NotRead })),
  provider: Schema.optional(
    Schema.Struct({
      id: Schema.optional(NonEmpty),
      descriptor: Schema.optional(Descriptor),
      ...providerNotRead,
      // Read here, unlike in an order: the location a BAP searches in.
      locations: Schema.optional(Schema.Array(Location)),
    }),
  ),
  item: Schema.optional(
    Schema.Struct({
      id: Schema.optional(NonEmpty),
      descriptor: Schema.optional(Descriptor),
      quantity: Schema.optional(ItemQuantity),
      ...itemNotRead,
      price: NotRead,
      fulfillment_ids: NotRead,
      time: NotRead,
      tags: NotRead,
    }),
  ),
  fulfillment: Schema.optional(Schema.Struct({ ...Fulfillment.fields, id: Schema.optional(NonEmpty) })),
  payment: NotRead,
  offer: NotRead,
  tags: Schema.optional(Schema.Array(TagGroup)),
});

export type Category = Schema.Schema.Type<typeof Category>;
export type CatalogItem = Schema.Schema.Type<typeof CatalogItem>;
export type Provider = Schema.Schema.Type<typeof Provider>;
export type Catalog = Schema.Schema.Type<typeof Catalog>;
export type Intent = Schema.Schema.Type<typeof Intent>;
