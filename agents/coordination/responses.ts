import {
  becknTimestamp,
  buildCatalog,
  buildContext,
  callbackContext,
  filterOffers,
  formatDecimal,
  formatGbp,
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
  type BecknFault,
  type FlexIntent,
  type FulfillmentStateCode,
  type OrderView,
  type Telemetry,
} from '../../beckn/index.ts';
import { orderStatement } from '../../projections/settlement/index.ts';
import type { BecknRequestAction, Billing, Catalog, Context, TagGroup } from '../../schemas/beckn/index.ts';
import type { ActionRequest } from './messages.ts';
import type { CoordinationConfig } from './config.ts';
import { asFlexibility, openOffers } from './offers.ts';
import { availableKwOf, type CoordinationState, type OrderRecord, type PublishedOffer } from './state.ts';

/** The BPP's on_* bodies, made from its state. Pure: context ids and time come in. */

type RequestContext<A extends BecknRequestAction> = Context & { readonly action: A };

export interface CallbackInput<A extends BecknRequestAction> {
  readonly request: RequestContext<A>;
  readonly nowMs: number;
  /** For an unsolicited callback (a status push): a fresh message id. */
  readonly messageId?: string;
}

const cb = <A extends BecknRequestAction>(cfg: CoordinationConfig, i: CallbackInput<A>) =>
  callbackContext(i.request, { bpp: cfg.bpp, nowMs: i.nowMs, ...(i.messageId !== undefined ? { messageId: i.messageId } : {}) });

export function onSearchBody(cfg: CoordinationConfig, s: CoordinationState, i: CallbackInput<'search'>, intent: FlexIntent) {
  const offers = openOffers(s, i.nowMs).map((o) => asFlexibility(o, cfg));
  const avail = (id: string) => availableKwOf(s, id);
  const catalog = buildCatalog(filterOffers(offers, intent, avail), cfg.provider, { availableKw: avail });
  return onSearchResponse(cb(cfg, i), catalog.providers.some((p) => p.items.length > 0) ? catalog : explainEmpty(cfg, s, catalog, i.nowMs));
}

/**
 * An empty catalogue says why and when to look again. Offers follow the site's plans, made on
 * each `planCadenceMin` boundary, so after a start-up nothing is on sale until the first one.
 */
function explainEmpty(cfg: CoordinationConfig, s: CoordinationState, catalog: Catalog, nowMs: number): Catalog {
  const cadenceMs = cfg.planCadenceMin * 60_000;
  const next = becknTimestamp(Math.floor(nowMs / cadenceMs) * cadenceMs + cadenceMs);
  const never = s.offers.size === 0;
  const status = never ? 'awaiting-first-plan' : 'none-matching';
  const why = never
    ? `No flexibility on sale yet: the site publishes offers after its first plan, due at ${next}.`
    : `No flexibility on sale matches the search now; the site re-plans every ${cfg.planCadenceMin} min, next at ${next}.`;
  const tags: TagGroup = {
    descriptor: { code: 'catalogue-status', name: 'When offers appear' },
    list: [
      { descriptor: { code: 'status' }, value: status },
      { descriptor: { code: 'next-plan-at' }, value: next },
    ],
  };
  return {
    ...catalog,
    descriptor: { ...catalog.descriptor, short_desc: never ? 'No offers yet' : 'No matching offers now', long_desc: `${why} Search again after it.` },
    providers: catalog.providers.map((p) => ({ ...p, tags: [...(p.tags ?? []), tags] })),
  };
}

/** The billing fields CACO reads, and so echoes; what else a BAP sent is not repeated back. */
export function billingRead(b: Billing): Billing {
  return { name: b.name, ...(b.email !== undefined ? { email: b.email } : {}), ...(b.phone !== undefined ? { phone: b.phone } : {}), ...(b.tax_id !== undefined ? { tax_id: b.tax_id } : {}) };
}

function draftView(cfg: CoordinationConfig, offer: PublishedOffer, kw: number): OrderView {
  return { providerId: cfg.provider.id, offer: asFlexibility(offer, cfg), kw };
}

export function onSelectBody(cfg: CoordinationConfig, i: CallbackInput<'select'>, offer: PublishedOffer, kw: number) {
  const v = draftView(cfg, offer, kw);
  return onSelectResponse(cb(cfg, i), { ...v, quote: quoteFor(v.offer, kw) });
}

export function onInitBody(cfg: CoordinationConfig, i: CallbackInput<'init'>, offer: PublishedOffer, kw: number, billing: Billing) {
  const v = draftView(cfg, offer, kw);
  const quote = quoteFor(v.offer, kw);
  return onInitResponse(cb(cfg, i), { ...v, billing: billingRead(billing), quote, payments: [postFulfillmentPayment(quote)] });
}

const STATE_OF: Readonly<Record<OrderRecord['phase'], FulfillmentStateCode>> = {
  selected: 'SCHEDULED',
  initialized: 'SCHEDULED',
  confirmed: 'SCHEDULED',
  active: 'IN_PROGRESS',
  fulfilled: 'COMPLETED',
  cancelled: 'CANCELLED',
};
const STATUS_OF = (p: OrderRecord['phase']): OrderView['status'] => (p === 'cancelled' ? 'CANCELLED' : p === 'fulfilled' ? 'COMPLETE' : 'ACTIVE');

/** The latest settled half-hour of an order, as telemetry; undefined before the first one. */
export function latestTelemetry(s: CoordinationState, orderId: string, upToMs = Infinity): Telemetry | undefined {
  const st = orderStatement(s.settlement, orderId);
  if (!st) return undefined;
  let toDateKwh = 0;
  let last: Telemetry | undefined;
  for (const l of st.lines) {
    const startMs = Date.parse(l.startUtc);
    if (startMs >= upToMs) break;
    if (l.status !== 'settled' || l.baselineKw === null || l.meteredKw === null) continue;
    toDateKwh += l.deliveredMwh * 1000;
    last = {
      settlementDate: l.settlementDate,
      settlementPeriod: l.settlementPeriod,
      intervalStartMs: startMs,
      baselineKw: l.baselineKw,
      meteredKw: l.meteredKw,
      deliveredKw: l.deliveredKw,
      deliveredKwhToDate: toDateKwh,
    };
  }
  return last;
}

function settlementTags(o: OrderRecord): TagGroup[] {
  const f = o.fulfilled;
  if (!f) return [];
  const t = (code: string, value: string) => ({ descriptor: { code }, value });
  return [
    {
      descriptor: { code: 'settlement', name: 'Settlement of the delivery' },
      list: [
        t('contracted-mwh', formatDecimal(f.contractedMwh, 6)),
        t('delivered-mwh', formatDecimal(f.deliveredMwh, 6)),
        t('payment-gbp', formatGbp(f.paymentGbp)),
        t('penalty-gbp', formatGbp(f.penaltyGbp)),
        t('net-gbp', formatGbp(f.netGbp)),
      ],
    },
  ];
}

/** The full view of a confirmed order: quote, payment terms, fulfilment state, telemetry. */
export function orderView(cfg: CoordinationConfig, s: CoordinationState, o: OrderRecord, nowMs: number, extra: { billing?: Billing } = {}): OrderView {
  const offer = s.offers.get(o.offerId);
  const flex = offer
    ? asFlexibility(offer, cfg)
    : {
        offerId: o.offerId,
        windowStartMs: o.windowStartMs,
        windowEndMs: o.windowEndMs,
        kw: o.kw,
        minKw: o.kw,
        priceGbpPerMwh: o.priceGbpPerMwh,
        noticeMin: (o.windowStartMs - o.cancelGateMs) / 60_000,
        baselineMethod: o.baselineMethod,
        penaltyGbpPerMwh: o.penaltyGbpPerMwh,
        location: cfg.location,
      };
  const quote = quoteFor({ ...flex, priceGbpPerMwh: o.priceGbpPerMwh }, o.kw);
  const payment = postFulfillmentPayment(quote);
  const telemetry = latestTelemetry(s, o.orderId, nowMs);
  return {
    providerId: cfg.provider.id,
    offer: flex,
    kw: o.kw,
    orderId: o.orderId,
    status: STATUS_OF(o.phase),
    ...(extra.billing ? { billing: extra.billing } : {}),
    quote,
    // After delivery the amount due is the settled one, not the quote.
    payments: [o.fulfilled ? { ...payment, params: { currency: 'GBP', amount: formatGbp(Math.max(0, o.fulfilled.netGbp)) } } : payment],
    fulfillmentState: { code: STATE_OF[o.phase], updatedMs: o.updatedMs },
    ...(telemetry ? { telemetry } : {}),
    ...(o.phase === 'cancelled' ? { cancellation: { by: 'CONSUMER' as const, atMs: o.cancelledAtMs ?? o.updatedMs } } : {}),
    createdMs: o.createdMs,
    updatedMs: o.updatedMs,
  };
}

const withTags = <B extends { message: { order: object } }>(body: B, tags: TagGroup[]): B =>
  tags.length ? { ...body, message: { ...body.message, order: { ...body.message.order, tags } } } : body;

export function onConfirmBody(cfg: CoordinationConfig, s: CoordinationState, i: CallbackInput<'confirm'>, o: OrderRecord, billing: Billing | undefined) {
  return onConfirmResponse(cb(cfg, i), orderView(cfg, s, o, i.nowMs, billing ? { billing: billingRead(billing) } : {}));
}

export function onStatusBody(cfg: CoordinationConfig, s: CoordinationState, i: CallbackInput<'status'>, o: OrderRecord) {
  return withTags(onStatusResponse(cb(cfg, i), orderView(cfg, s, o, i.nowMs)), settlementTags(o));
}

/** An unsolicited on_status (delivery news) in the order's transaction, with a fresh message id. */
export function statusPushBody(cfg: CoordinationConfig, s: CoordinationState, o: OrderRecord, nowMs: number, messageId: string) {
  const context = buildContext({ action: 'on_status', bap: { id: o.bapId, uri: o.bapUri }, bpp: cfg.bpp, transactionId: o.transactionId, messageId, nowMs, domain: cfg.domain });
  return withTags(onStatusResponse(context, orderView(cfg, s, o, nowMs)), settlementTags(o));
}

export function onUpdateBody(cfg: CoordinationConfig, s: CoordinationState, i: CallbackInput<'update'>, o: OrderRecord) {
  return onUpdateResponse(cb(cfg, i), orderView(cfg, s, o, i.nowMs));
}

export function onCancelBody(cfg: CoordinationConfig, s: CoordinationState, i: CallbackInput<'cancel'>, o: OrderRecord) {
  return onCancelResponse(cb(cfg, i), orderView(cfg, s, o, i.nowMs));
}

export const onRatingBody = (cfg: CoordinationConfig, i: CallbackInput<'rating'>) => onRatingResponse(cb(cfg, i));

export const onSupportBody = (cfg: CoordinationConfig, i: CallbackInput<'support'>, refId: string | undefined) =>
  onSupportResponse(cb(cfg, i), { ...(refId !== undefined ? { ref_id: refId } : {}), email: cfg.support.email, url: cfg.support.url });

/**
 * The callback that refuses a request the server had accepted, because the state moved in
 * between (another buyer took the kW): the order as asked, and the error.
 */
export function errorCallback(cfg: CoordinationConfig, req: ActionRequest, nowMs: number, f: BecknFault) {
  const context = cb(cfg, { request: req.body.context, nowMs });
  const error = { code: f.code, message: f.message, ...(f.path !== undefined ? { paths: f.path } : {}) };
  switch (req.action) {
    case 'rating':
      return { context, message: {}, error };
    case 'support':
      return { context, message: { support: {} }, error };
    case 'search':
      return { context, message: { catalog: { providers: [] } }, error };
    case 'select':
    case 'init':
    case 'confirm':
    case 'update': {
      const id = req.body.message.order.id;
      return { context, message: { order: typeof id === 'string' ? { id } : {} }, error };
    }
    case 'status':
    case 'cancel':
      return { context, message: { order: { id: req.body.message.order_id } }, error };
    default: {
      const never: never = req;
      return never;
    }
  }
}
