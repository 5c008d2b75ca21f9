import {
  buildCatalog,
  buildContext,
  callbackContext,
  cancelRequest,
  confirmRequest,
  initRequest,
  itemIdOf,
  fulfillmentIdOf,
  onCancelResponse,
  onConfirmResponse,
  onInitResponse,
  onRatingResponse,
  onSearchResponse,
  onSelectResponse,
  onStatusResponse,
  onSupportResponse,
  onUpdateResponse,
  postFulfillmentPayment,
  quoteFor,
  ratingRequest,
  searchRequest,
  selectRequest,
  statusRequest,
  supportRequest,
  updateRequest,
  type FlexibilityAvailable,
  type Participant,
} from '../../beckn/index.ts';
import type { BecknAction } from '../../schemas/beckn/index.ts';

/** A whole flexibility trade built with the project's builders: the messages CACO sends. */

export const BAP: Participant = { id: 'grid-operator.example.org', uri: 'https://grid-operator.example.org/beckn' };
export const BPP: Participant = { id: 'dc-london-01.example.com', uri: 'https://dc-london-01.example.com/beckn' };
export const PROVIDER = { id: 'dc-london-01', name: 'London DC 01 (coordination agent)' };

export const LONDON = {
  id: 'site-lon-01',
  name: 'London',
  cityCode: 'std:020',
  countryCode: 'GBR',
  gps: '51.5072, -0.1276',
  areaCode: 'E14',
  dno: 'UKPN',
  gspGroup: '_C',
} as const;

export function sampleOffer(overrides: Partial<FlexibilityAvailable> = {}): FlexibilityAvailable {
  return {
    windowStartMs: Date.parse('2026-01-15T17:00:00Z'),
    windowEndMs: Date.parse('2026-01-15T19:00:00Z'),
    kw: 2000,
    minKw: 500,
    priceGbpPerMwh: 95,
    noticeMin: 15,
    baselineMethod: 'scheduled-load-profile',
    penaltyGbpPerMwh: 120,
    location: LONDON,
    forecastGco2PerKwh: 212,
    ...overrides,
  };
}

const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

export function buildFlow(offer: FlexibilityAvailable = sampleOffer()): Array<{ action: BecknAction; body: unknown }> {
  const t0 = Date.parse('2026-01-15T16:00:00Z');
  const txn = uuid(1);
  let n = 10;
  const ctx = <A extends 'search' | 'select' | 'init' | 'confirm' | 'status' | 'update' | 'cancel' | 'rating' | 'support'>(action: A, minute: number) =>
    buildContext({ action, bap: BAP, ...(action === 'search' ? {} : { bpp: BPP }), transactionId: txn, messageId: uuid(n++), nowMs: t0 + minute * 60_000 });
  const itemId = itemIdOf(offer);
  const fulfillmentId = fulfillmentIdOf(itemId);
  const choice = { providerId: PROVIDER.id, itemId, kw: 1500, fulfillmentId };
  const quote = quoteFor(offer, 1500);
  const billing = { name: 'Example Grid Operator Ltd', email: 'flex-desk@grid-operator.example.org' };
  const payments = [postFulfillmentPayment(quote)];
  const view = { providerId: PROVIDER.id, offer, kw: 1500 };
  const at = (min: number) => t0 + min * 60_000;

  const search = searchRequest(ctx('search', 0), { windowStartMs: offer.windowStartMs, windowEndMs: offer.windowEndMs, minKw: 1000, location: { cityCode: 'std:020', gspGroup: '_C' } });
  const select = selectRequest(ctx('select', 1), choice);
  const init = initRequest(ctx('init', 2), { ...choice, billing });
  const confirm = confirmRequest(ctx('confirm', 3), { ...choice, billing, quote, payments });
  const status = statusRequest(ctx('status', 105), 'ord-7Q2K9');
  const update = updateRequest(ctx('update', 110), { orderId: 'ord-7Q2K9', itemId, kw: 1000 });
  const cancel = cancelRequest(ctx('cancel', 4), { orderId: 'ord-7Q2K9', reasonId: 'grid-need-withdrawn', reason: 'Constraint cleared' });
  const rating = ratingRequest(ctx('rating', 210), [
    { rating_category: 'Fulfillment', id: fulfillmentId, value: '5' },
    { rating_category: 'Provider', id: PROVIDER.id, value: '4' },
  ]);
  const support = supportRequest(ctx('support', 211), 'ord-7Q2K9');

  const cb = { bpp: BPP };
  const active = { ...view, orderId: 'ord-7Q2K9', status: 'ACTIVE' as const, billing, quote, payments };
  return [
    { action: 'search', body: search },
    { action: 'on_search', body: onSearchResponse(callbackContext(search.context, { ...cb, nowMs: at(0) + 2000 }), buildCatalog([offer], PROVIDER)) },
    { action: 'select', body: select },
    { action: 'on_select', body: onSelectResponse(callbackContext(select.context, { ...cb, nowMs: at(1) + 1000 }), { ...view, quote }) },
    { action: 'init', body: init },
    { action: 'on_init', body: onInitResponse(callbackContext(init.context, { ...cb, nowMs: at(2) + 1000 }), { ...view, billing, quote, payments }) },
    { action: 'confirm', body: confirm },
    {
      action: 'on_confirm',
      body: onConfirmResponse(callbackContext(confirm.context, { ...cb, nowMs: at(3) + 1000 }), {
        ...active,
        fulfillmentState: { code: 'SCHEDULED', updatedMs: at(3) },
        createdMs: at(3),
        updatedMs: at(3),
      }),
    },
    { action: 'status', body: status },
    {
      action: 'on_status',
      body: onStatusResponse(callbackContext(status.context, { ...cb, nowMs: at(105) }), {
        ...active,
        fulfillmentState: { code: 'IN_PROGRESS', updatedMs: at(105) },
        telemetry: {
          settlementDate: '2026-01-15',
          settlementPeriod: 36,
          intervalStartMs: Date.parse('2026-01-15T17:30:00Z'),
          baselineKw: 11500,
          meteredKw: 10000,
          deliveredKw: 1500,
          deliveredKwhToDate: 1125,
        },
        updatedMs: at(105),
      }),
    },
    { action: 'update', body: update },
    { action: 'on_update', body: onUpdateResponse(callbackContext(update.context, { ...cb, nowMs: at(110) }), { ...active, kw: 1000, updatedMs: at(110) }) },
    { action: 'cancel', body: cancel },
    {
      action: 'on_cancel',
      body: onCancelResponse(callbackContext(cancel.context, { ...cb, nowMs: at(4) }), {
        ...active,
        status: 'CANCELLED',
        fulfillmentState: { code: 'CANCELLED', updatedMs: at(4) },
        cancellation: { by: 'CONSUMER', reasonId: 'grid-need-withdrawn', atMs: at(4) },
      }),
    },
    { action: 'rating', body: rating },
    { action: 'on_rating', body: onRatingResponse(callbackContext(rating.context, { ...cb, nowMs: at(210) })) },
    { action: 'support', body: support },
    { action: 'on_support', body: onSupportResponse(callbackContext(support.context, { ...cb, nowMs: at(211) }), { ref_id: 'ord-7Q2K9', email: 'noc@dc-london-01.example.com', url: 'https://dc-london-01.example.com/support' }) },
  ];
}
