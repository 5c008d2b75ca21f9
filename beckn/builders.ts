import type {
  Billing,
  CancelRequest,
  Catalog,
  ConfirmRequest,
  InitRequest,
  OnCancelRequest,
  OnConfirmRequest,
  OnInitRequest,
  OnRatingRequest,
  OnSearchRequest,
  OnSelectRequest,
  OnStatusRequest,
  OnSupportRequest,
  OnUpdateRequest,
  Order,
  OrderItem,
  Payment,
  Quote,
  Rating,
  RatingRequest,
  SearchRequest,
  SelectRequest,
  SelectedItem,
  StatusRequest,
  Support,
  SupportRequest,
  TagGroup,
  UpdateRequest,
} from '../schemas/beckn/index.ts';
import { intentToBeckn, itemIdOf, windowFulfillment, type FlexIntent, type FlexibilityAvailable } from './catalog.ts';
import { becknTimestamp, type ContextOf } from './context.ts';
import { formatDecimal, kwToMeasure } from './units.ts';

/**
 * Builders of every Beckn body of the flexibility flow, BAP side (search … support) and BPP
 * side (on_search … on_support). Pure: the context (ids, time) comes in ready-made.
 */

export interface ItemChoice {
  readonly providerId: string;
  readonly itemId: string;
  readonly kw: number;
  readonly fulfillmentId?: string;
}

const selectedItem = (itemId: string, kw: number): SelectedItem & OrderItem => ({ id: itemId, quantity: { selected: { measure: kwToMeasure(kw) } } });

function draftOrder(c: ItemChoice) {
  return {
    provider: { id: c.providerId },
    items: [selectedItem(c.itemId, c.kw)] as [SelectedItem],
    ...(c.fulfillmentId !== undefined ? { fulfillments: [{ id: c.fulfillmentId }] } : {}),
  };
}

export function searchRequest(context: ContextOf<'search'>, intent: FlexIntent): SearchRequest {
  return { context, message: { intent: intentToBeckn(intent) } };
}

export function selectRequest(context: ContextOf<'select'>, choice: ItemChoice): SelectRequest {
  return { context, message: { order: draftOrder(choice) } };
}

export function initRequest(context: ContextOf<'init'>, choice: ItemChoice & { readonly billing: Billing }): InitRequest {
  return { context, message: { order: { ...draftOrder(choice), billing: choice.billing } } };
}

export function confirmRequest(
  context: ContextOf<'confirm'>,
  choice: ItemChoice & { readonly billing?: Billing; readonly quote?: Quote; readonly payments?: ReadonlyArray<Payment> },
): ConfirmRequest {
  return {
    context,
    message: {
      order: {
        ...draftOrder(choice),
        ...(choice.billing ? { billing: choice.billing } : {}),
        ...(choice.quote ? { quote: choice.quote } : {}),
        ...(choice.payments ? { payments: choice.payments } : {}),
      },
    },
  };
}

export function statusRequest(context: ContextOf<'status'>, orderId: string): StatusRequest {
  return { context, message: { order_id: orderId } };
}

/** Change the kW of an order (`update_target: order.items`). */
export function updateRequest(context: ContextOf<'update'>, input: { readonly orderId: string; readonly itemId: string; readonly kw: number }): UpdateRequest {
  return { context, message: { update_target: 'order.items', order: { id: input.orderId, items: [selectedItem(input.itemId, input.kw)] } } };
}

export function cancelRequest(context: ContextOf<'cancel'>, input: { readonly orderId: string; readonly reasonId?: string; readonly reason?: string }): CancelRequest {
  return {
    context,
    message: {
      order_id: input.orderId,
      ...(input.reasonId !== undefined ? { cancellation_reason_id: input.reasonId } : {}),
      ...(input.reason !== undefined ? { descriptor: { short_desc: input.reason } } : {}),
    },
  };
}

export function ratingRequest(context: ContextOf<'rating'>, ratings: readonly [Rating, ...Rating[]]): RatingRequest {
  return { context, message: { ratings } };
}

export function supportRequest(context: ContextOf<'support'>, refId: string): SupportRequest {
  return { context, message: { support: { ref_id: refId } } };
}

export function onSearchResponse(context: ContextOf<'on_search'>, catalog: Catalog): OnSearchRequest {
  return { context, message: { catalog } };
}

export type FulfillmentStateCode = 'SCHEDULED' | 'IN_PROGRESS' | 'COMPLETED' | 'CANCELLED';

/** One half-hour of delivery as reported in an on_status (tags `telemetry`). */
export interface Telemetry {
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  readonly intervalStartMs: number;
  readonly baselineKw: number;
  readonly meteredKw: number;
  readonly deliveredKw: number;
  readonly deliveredKwhToDate: number;
}

export function telemetryTags(t: Telemetry): TagGroup {
  const n = (x: number) => formatDecimal(x, 3);
  return {
    descriptor: { code: 'telemetry' },
    list: [
      { descriptor: { code: 'settlement-date' }, value: t.settlementDate },
      { descriptor: { code: 'settlement-period' }, value: String(t.settlementPeriod) },
      { descriptor: { code: 'interval-start' }, value: becknTimestamp(t.intervalStartMs) },
      { descriptor: { code: 'baseline-kw' }, value: n(t.baselineKw) },
      { descriptor: { code: 'metered-kw' }, value: n(t.meteredKw) },
      { descriptor: { code: 'delivered-kw' }, value: n(t.deliveredKw) },
      { descriptor: { code: 'delivered-kwh-to-date' }, value: n(t.deliveredKwhToDate) },
    ],
  };
}

/** The BPP's view of an order, from which every on_* order object is made. */
export interface OrderView {
  readonly providerId: string;
  readonly offer: FlexibilityAvailable;
  readonly kw: number;
  readonly orderId?: string;
  readonly status?: 'ACTIVE' | 'COMPLETE' | 'CANCELLED';
  readonly billing?: Billing;
  readonly quote?: Quote;
  readonly payments?: ReadonlyArray<Payment>;
  readonly fulfillmentState?: { readonly code: FulfillmentStateCode; readonly updatedMs: number };
  readonly telemetry?: Telemetry;
  readonly cancellation?: { readonly by: 'CONSUMER' | 'PROVIDER'; readonly reasonId?: string; readonly atMs: number };
  readonly createdMs?: number;
  readonly updatedMs?: number;
}

/** Paid after delivery, by the BAP (the grid operator), for the quoted amount. */
export function postFulfillmentPayment(quote: Quote, id = 'pay-1'): Payment {
  return { id, type: 'POST-FULFILLMENT', status: 'NOT-PAID', collected_by: 'BAP', params: { currency: quote.price.currency, amount: quote.price.value } };
}

export function orderToBeckn(v: OrderView): Order {
  const itemId = itemIdOf(v.offer);
  const ful = windowFulfillment(itemId, v.offer.windowStartMs, v.offer.windowEndMs);
  return {
    ...(v.orderId !== undefined ? { id: v.orderId } : {}),
    ...(v.status !== undefined ? { status: v.status } : {}),
    provider: { id: v.providerId },
    items: [selectedItem(itemId, v.kw)],
    fulfillments: [
      {
        ...ful,
        ...(v.fulfillmentState ? { state: { descriptor: { code: v.fulfillmentState.code }, updated_at: becknTimestamp(v.fulfillmentState.updatedMs) } } : {}),
        ...(v.telemetry ? { tags: [telemetryTags(v.telemetry)] } : {}),
      },
    ],
    ...(v.billing ? { billing: v.billing } : {}),
    ...(v.quote ? { quote: v.quote } : {}),
    ...(v.payments ? { payments: v.payments } : {}),
    ...(v.cancellation
      ? {
          cancellation: {
            cancelled_by: v.cancellation.by,
            ...(v.cancellation.reasonId !== undefined ? { reason: { id: v.cancellation.reasonId } } : {}),
            time: becknTimestamp(v.cancellation.atMs),
          },
        }
      : {}),
    ...(v.createdMs !== undefined ? { created_at: becknTimestamp(v.createdMs) } : {}),
    ...(v.updatedMs !== undefined ? { updated_at: becknTimestamp(v.updatedMs) } : {}),
  };
}

export const onSelectResponse = (context: ContextOf<'on_select'>, v: OrderView): OnSelectRequest => ({ context, message: { order: orderToBeckn(v) } });
export const onInitResponse = (context: ContextOf<'on_init'>, v: OrderView): OnInitRequest => ({ context, message: { order: orderToBeckn(v) } });
export const onConfirmResponse = (context: ContextOf<'on_confirm'>, v: OrderView): OnConfirmRequest => ({ context, message: { order: orderToBeckn(v) } });
export const onStatusResponse = (context: ContextOf<'on_status'>, v: OrderView): OnStatusRequest => ({ context, message: { order: orderToBeckn(v) } });
export const onUpdateResponse = (context: ContextOf<'on_update'>, v: OrderView): OnUpdateRequest => ({ context, message: { order: orderToBeckn(v) } });
export const onCancelResponse = (context: ContextOf<'on_cancel'>, v: OrderView): OnCancelRequest => ({ context, message: { order: orderToBeckn(v) } });
export const onRatingResponse = (context: ContextOf<'on_rating'>): OnRatingRequest => ({ context, message: {} });
export const onSupportResponse = (context: ContextOf<'on_support'>, support: Support): OnSupportRequest => ({ context, message: { support } });
