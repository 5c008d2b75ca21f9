import { defineAgent, type AgentContext, type AgentDefinition, type Decision, type EffectResult, type EventToAppend } from '../../core/runtime/agent.ts';
import type { Envelope } from '../../core/envelope.ts';
import type { Runtime } from '../../core/runtime/runtime.ts';
import {
  buildContext,
  cancelRequest,
  confirmRequest,
  fulfillmentIdOf,
  initRequest,
  measureToKw,
  offersFromCatalog,
  ratingRequest,
  searchRequest,
  selectRequest,
  updateRequest,
  type BecknSigningKey,
  type KeyDirectory,
  type Participant,
} from '../../beckn/index.ts';
import { CALLBACK_ACTIONS, type BecknAction, type BecknBody, type BecknCallbackAction, type TagGroup } from '../../schemas/beckn/index.ts';
import { gridOperatorConfig, type GridOperatorConfig } from './config.ts';
import { CallbackIntake } from './intake.ts';
import { chooseOffers, fullyCovered, judge, peakIn, ratingFor } from './policy.ts';
import { committedGbp, coverage, evolveGridOperator, INITIAL_GRID_OPERATOR_STATE, type BoughtOrder, type GridOperatorState, type Purchase } from './state.ts';
import type { BecknTransport, PostOutcome } from './transport.ts';
import { truncateText } from '../../core/runtime/input-limits.ts';

export const GRID_OPERATOR_AGENT = 'grid-operator';

export interface GridOperatorDeps {
  /** The runtime hosting this agent: the callback server queues work on it. */
  readonly runtime: Pick<Runtime, 'enqueue'>;
  readonly signingKey: BecknSigningKey;
  /** Public keys of the BPPs it trades with. */
  readonly keyDirectory: KeyDirectory;
  readonly transport: BecknTransport;
  readonly config?: Partial<GridOperatorConfig>;
}

type CallbackData = { readonly action: BecknCallbackAction; readonly body: BecknBody<BecknCallbackAction> };

interface StressData {
  stressId: string;
  windowStart: string;
  windowEnd: string;
  kind: string;
  peakCarbonGPerKwh: number;
  peakPriceGbpPerMwh: number;
}

interface ForecastData {
  startsAt: string;
  carbonGPerKwh: { points: ReadonlyArray<{ p50: number }> };
  priceGbpPerMwh: { points: ReadonlyArray<{ p50: number }> };
}

const iso = (ms: number): string => new Date(ms).toISOString();
type Meta = Record<string, string | number | null>;
const streamOf = (purchaseId: string): string => `purchase-${purchaseId}`;

function tagValue(groups: ReadonlyArray<TagGroup> | undefined, group: string, code: string): string | undefined {
  return groups?.find((g) => g.descriptor.code === group)?.list.find((t) => t.descriptor.code === code)?.value;
}
const num = (s: string | undefined): number | null => (s === undefined || Number.isNaN(Number(s)) ? null : Number(s));

/**
 * A simulated grid operator, a Beckn BAP speaking the same signed HTTP as anyone else: it buys
 * flexibility for each announced stress window within a price cap and budget (search → select
 * → init → confirm), takes delivery telemetry, cancels or reduces orders when newer forecasts
 * say the stress passed or eased, and rates each completed delivery.
 */
export function createGridOperatorAgent(deps: GridOperatorDeps): AgentDefinition<GridOperatorState> {
  const cfg = gridOperatorConfig(deps.config);
  let server: { close(): Promise<void> } | undefined;
  /** Changes asked for and not yet answered (not facts until the BPP confirms them). */
  const asked = new Map<string, string>();

  /** Ratings asked for and not yet answered, so a repeated COMPLETED does not rate twice. */
  const rating = new Set<string>();

  /**
   * A request is a fact first (`beckn.request.scheduled`, appended with the decision), sent by
   * the runtime's effects reactor once stored; its answer comes back as `outbox.effect.sent` /
   * `outbox.effect.failed`, an input like any other (see `onOutcome`). `meta` says what it was for.
   */
  function request(baseUri: string, action: BecknAction, body: { context: { message_id: string } }, meta: Meta): EventToAppend {
    return { type: 'beckn.request.scheduled', data: { target: baseUri, action, messageId: body.context.message_id, body, meta } };
  }

  async function deliver(e: Envelope, nowMs: number, idempotencyKey: string): Promise<EffectResult> {
    const d = e.data as { target: string; action: string; body: { context: { ttl?: string } } };
    const r = await deps.transport.post({ baseUri: d.target, action: d.action, body: d.body, key: deps.signingKey, nowMs, timeoutMs: cfg.requestTimeoutMs, idempotencyKey });
    // A NACK is the BPP's answer (fed back to decide); no answer, 429 or a server error is retried.
    const detail = refused(r);
    if (r.httpStatus === 0 || r.httpStatus >= 500 || r.httpStatus === 408 || r.httpStatus === 429) return { ok: false, reason: `HTTP ${r.httpStatus}: ${detail}` };
    if (r.ack !== null) return { ok: true, httpStatus: r.httpStatus, ack: r.ack, detail: r.ack === 'ACK' ? null : detail };
    return { ok: true, httpStatus: r.httpStatus, ack: null, detail };
  }

  // The other side's words are bounded before they reach a ledger reason (at most 2,048 characters).
  const refused = (r: PostOutcome): string => truncateText(r.error ? `${r.error.code}${r.error.message ? ` ${r.error.message}` : ''}` : (r.problem ?? `HTTP ${r.httpStatus}`), 512);

  const declined = (p: { purchaseId: string; transactionId: string | null }, itemId: string | null, code: string | null, reason: string): Decision => ({
    stream: streamOf(p.purchaseId),
    events: [{ type: 'market.purchase.declined', data: { purchaseId: p.purchaseId, transactionId: p.transactionId, itemId, code, reason } }],
  });

  function ctxFor<A extends BecknAction>(ctx: AgentContext, action: A, p: Purchase) {
    const bpp: Participant | undefined = p.bppId !== null ? { id: p.bppId, uri: p.bppUri } : undefined;
    return buildContext({ action, bap: cfg.bap, ...(bpp ? { bpp } : {}), transactionId: p.transactionId, messageId: ctx.newId(), nowMs: ctx.now(), domain: cfg.domain });
  }

  function onStress(d: StressData, s: GridOperatorState, ctx: AgentContext): Decision[] {
    if (s.purchases.has(d.stressId)) return [];
    const startMs = Date.parse(d.windowStart);
    const endMs = Date.parse(d.windowEnd);
    const nowMs = ctx.now();
    const p0 = { purchaseId: d.stressId, transactionId: null };
    if (startMs - nowMs < cfg.minLeadMin * 60_000) return [declined(p0, null, null, `the window starts in ${Math.round((startMs - nowMs) / 60_000)} min, less than the ${cfg.minLeadMin} min needed to buy`)];
    const transactionId = ctx.newId();
    const peak = d.kind === 'carbon-peak' ? d.peakCarbonGPerKwh : d.peakPriceGbpPerMwh;
    // A refused search is declined when its answer comes back (onOutcome).
    return search(ctx, { purchaseId: d.stressId, stressId: d.stressId, kind: d.kind, windowStartMs: startMs, windowEndMs: endMs, peak, transactionId }, 'search');
  }

  /** Ask the BPP for flexibility in a stress window (again, for a purchase already open). */
  function search(
    ctx: AgentContext,
    p: { purchaseId: string; stressId: string; kind: string; windowStartMs: number; windowEndMs: number; peak: number; transactionId: string },
    purpose: 'search' | 'search-again',
  ): Decision[] {
    const messageId = ctx.newId();
    const context = buildContext({ action: 'search', bap: cfg.bap, transactionId: p.transactionId, messageId, nowMs: ctx.now(), domain: cfg.domain });
    const body = searchRequest(context, { windowStartMs: p.windowStartMs, windowEndMs: p.windowEndMs, minKw: Math.min(cfg.wantKw, 100), location: cfg.location });
    return [
      {
        stream: streamOf(p.purchaseId),
        events: [
          {
            type: 'market.purchase.searched',
            data: {
              purchaseId: p.purchaseId,
              stressId: p.stressId,
              kind: p.kind,
              windowStart: iso(p.windowStartMs),
              windowEnd: iso(p.windowEndMs),
              peak: p.peak,
              wantKw: cfg.wantKw,
              transactionId: p.transactionId,
              messageId,
              bppUri: cfg.bppUri,
            },
          },
          request(cfg.bppUri, 'search', body, { purpose, purchaseId: p.purchaseId }),
        ],
      },
    ];
  }

  /** No search after this one would still leave `minLeadMin` before the window. */
  const lastChance = (p: Purchase, nowMs: number): boolean => nowMs + cfg.researchEveryMin * 60_000 > p.windowStartMs - cfg.minLeadMin * 60_000;

  function onSearch(body: BecknBody<'on_search'>, p: Purchase, s: GridOperatorState, ctx: AgentContext): Decision[] {
    if (p.answered) return [];
    if (body.error) return [declined(p, null, body.error.code, `on_search error: ${body.error.message ?? body.error.code}`)];
    const offers = offersFromCatalog(body.message.catalog);
    const spent = committedGbp(s, p.windowStartMs);
    const budget = Math.max(0, Math.min(cfg.budgetGbpPerDay - spent.day, cfg.budgetGbpPerWeek - spent.week));
    const already = coverage(s, p);
    const choices = chooseOffers(offers, { windowStartMs: p.windowStartMs, windowEndMs: p.windowEndMs, wantKw: p.wantKw, maxPriceGbpPerMwh: cfg.maxPriceGbpPerMwh }, budget, already);
    if (choices.length === 0) {
      // The plan may still change (new jobs, a longer horizon): say so only when out of time.
      if (!lastChance(p, ctx.now()) || already.length > 0) return [];
      const why = offers.length === 0 ? 'no offer in the window' : budget <= 0 ? 'the budget is spent' : `none of ${offers.length} offers fits the price cap of £${cfg.maxPriceGbpPerMwh}/MWh and the £${Math.round(budget)} left`;
      return [declined(p, null, null, why)];
    }
    const withBpp: Purchase = { ...p, bppId: body.context.bpp_id ?? null, bppUri: body.context.bpp_uri ?? p.bppUri };
    const events: EventToAppend[] = [
      {
        type: 'market.purchase.selected',
        data: {
          purchaseId: p.purchaseId,
          transactionId: p.transactionId,
          bppId: withBpp.bppId ?? 'unknown',
          bppUri: withBpp.bppUri,
          offersSeen: offers.length,
          items: choices.map((c) => ({
            itemId: c.offer.itemId,
            kw: c.kw,
            priceGbpPerMwh: c.offer.priceGbpPerMwh,
            windowStart: iso(c.offer.windowStartMs),
            windowEnd: iso(c.offer.windowEndMs),
            estimatedGbp: c.estimatedGbp,
            minKw: c.offer.minKw,
            cancelGate: iso(c.offer.windowStartMs - c.offer.noticeMin * 60_000),
          })),
        },
      },
    ];
    for (const c of choices) {
      const body = selectRequest(ctxFor(ctx, 'select', withBpp), { providerId: c.offer.providerId, itemId: c.offer.itemId, kw: c.kw, ...(c.offer.fulfillmentId ? { fulfillmentId: c.offer.fulfillmentId } : {}) });
      events.push(request(withBpp.bppUri, 'select', body, { purpose: 'select', purchaseId: p.purchaseId, itemId: c.offer.itemId }));
    }
    return [{ stream: streamOf(p.purchaseId), events }];
  }

  type OrderMsg = BecknBody<'on_select'>['message']['order'];
  const itemOf = (o: OrderMsg) => o.items?.[0];
  const choiceOf = (o: OrderMsg, p: Purchase) => {
    const item = itemOf(o);
    const sel = item ? p.items.get(item.id) : undefined;
    return item && sel ? { providerId: o.provider?.id ?? '', itemId: item.id, kw: sel.kw, fulfillmentId: o.fulfillments?.[0]?.id ?? fulfillmentIdOf(item.id) } : undefined;
  };

  function onQuote(action: 'on_select' | 'on_init', body: BecknBody<'on_select'>, p: Purchase, ctx: AgentContext): Decision[] {
    const order = body.message.order;
    const choice = choiceOf(order, p);
    const itemId = itemOf(order)?.id ?? null;
    if (body.error || !choice) return [declined(p, itemId, body.error?.code ?? null, `${action} ${body.error ? `error: ${body.error.message ?? body.error.code}` : 'names no item we selected'}`)];
    if (p.items.get(choice.itemId)?.status !== 'pending') return [];
    if (action === 'on_select') {
      // Quoted once the BPP has taken the init (onOutcome), as before the reactor.
      const meta = { purpose: 'init', purchaseId: p.purchaseId, itemId: choice.itemId, kw: choice.kw, quoteGbp: Number(order.quote?.price.value ?? 0) };
      return [{ stream: streamOf(p.purchaseId), events: [request(p.bppUri, 'init', initRequest(ctxFor(ctx, 'init', p), { ...choice, billing: cfg.billing }), meta)] }];
    }
    const body2 = confirmRequest(ctxFor(ctx, 'confirm', p), { ...choice, billing: cfg.billing, ...(order.quote ? { quote: order.quote } : {}), ...(order.payments ? { payments: order.payments } : {}) });
    return [{ stream: streamOf(p.purchaseId), events: [request(p.bppUri, 'confirm', body2, { purpose: 'confirm', purchaseId: p.purchaseId, itemId: choice.itemId })] }];
  }

  function onConfirm(body: BecknBody<'on_confirm'>, p: Purchase): Decision[] {
    const order = body.message.order;
    const itemId = itemOf(order)?.id ?? null;
    const sel = itemId ? p.items.get(itemId) : undefined;
    if (body.error || !order.id || !sel) return [declined(p, itemId, body.error?.code ?? null, body.error ? `on_confirm error: ${body.error.message ?? body.error.code}` : 'on_confirm without an order id or our item')];
    if (sel.status !== 'pending') return [];
    return [
      {
        stream: streamOf(p.purchaseId),
        events: [
          {
            type: 'market.purchase.ordered',
            data: {
              purchaseId: p.purchaseId,
              transactionId: p.transactionId,
              orderId: order.id,
              itemId: sel.itemId,
              kw: sel.kw,
              priceGbpPerMwh: sel.priceGbpPerMwh,
              windowStart: iso(sel.windowStartMs),
              windowEnd: iso(sel.windowEndMs),
              committedGbp: Number(order.quote?.price.value ?? sel.estimatedGbp),
              cancelGate: iso(sel.cancelGateMs),
            },
          },
        ],
      },
    ];
  }

  function onStatus(body: BecknBody<'on_status'>, s: GridOperatorState, ctx: AgentContext): Decision[] {
    const order = body.message.order;
    const o = order.id ? s.orders.get(order.id) : undefined;
    if (!o || body.error) return [];
    const p = s.purchases.get(o.purchaseId)!;
    const ful = order.fulfillments?.[0];
    const state = ful?.state?.descriptor?.code ?? order.status ?? 'UNKNOWN';
    const t = (code: string) => num(tagValue(ful?.tags, 'telemetry', code));
    const net = num(tagValue(order.tags, 'settlement', 'net-gbp'));
    const events: EventToAppend[] = [
      {
        type: 'market.delivery.reported',
        data: {
          purchaseId: o.purchaseId,
          orderId: o.orderId,
          state,
          settlementDate: tagValue(ful?.tags, 'telemetry', 'settlement-date') ?? null,
          settlementPeriod: t('settlement-period'),
          baselineKw: t('baseline-kw'),
          meteredKw: t('metered-kw'),
          deliveredKw: t('delivered-kw'),
          deliveredKwhToDate: t('delivered-kwh-to-date'),
          settledGbp: net,
        },
      },
    ];
    if (state === 'COMPLETED' && !o.rated && !rating.has(o.orderId)) {
      const contracted = num(tagValue(order.tags, 'settlement', 'contracted-mwh')) ?? 0;
      const delivered = num(tagValue(order.tags, 'settlement', 'delivered-mwh')) ?? 0;
      const share = contracted > 0 ? delivered / contracted : 0;
      const value = ratingFor(share);
      rating.add(o.orderId);
      const body2 = ratingRequest(ctxFor(ctx, 'rating', p), [{ rating_category: 'Order', id: o.orderId, value: String(value) }]);
      // Rated once the BPP has taken it (onOutcome).
      events.push(request(p.bppUri, 'rating', body2, { purpose: 'rating', purchaseId: o.purchaseId, orderId: o.orderId, value, deliveredShare: Math.round(share * 1000) / 1000 }));
    }
    return [{ stream: streamOf(o.purchaseId), events }];
  }

  function onChange(action: 'on_update' | 'on_cancel', body: BecknBody<'on_update'>, s: GridOperatorState, ctx: AgentContext): Decision[] {
    const order = body.message.order;
    const o = order.id ? s.orders.get(order.id) : undefined;
    if (!o) return [];
    const reason = asked.get(o.orderId) ?? 'changed by the grid operator';
    asked.delete(o.orderId);
    if (body.error) {
      ctx.log.warn({ orderId: o.orderId, error: body.error }, `${action} refused the change`);
      return [];
    }
    const q = order.items?.[0]?.quantity as { selected?: { measure?: { unit: 'kW' | 'MW'; value: string } } } | undefined;
    const kw = action === 'on_cancel' ? 0 : q?.selected?.measure ? measureToKw(q.selected.measure) : o.kw;
    if (action === 'on_update' && kw === o.kw) return [];
    return [{ stream: streamOf(o.purchaseId), events: [{ type: 'market.purchase.changed', data: { purchaseId: o.purchaseId, orderId: o.orderId, change: action === 'on_cancel' ? 'cancelled' : 'updated', kw, previousKw: o.kw, reason } }] }];
  }

  /** Re-judge every order still changeable against a newer forecast. */
  function onForecast(d: ForecastData, s: GridOperatorState, ctx: AgentContext): Decision[] {
    const nowMs = ctx.now();
    const startsAtMs = Date.parse(d.startsAt);
    // Each order is reduced at most once; a reduced one may still be cancelled.
    const out: Decision[] = [];
    const open = [...s.orders.values()].filter((o: BoughtOrder) => (o.phase === 'ordered' || o.phase === 'updated') && nowMs < o.cancelGateMs && !asked.has(o.orderId));
    for (const o of open.sort((a, b) => a.windowStartMs - b.windowStartMs || (a.orderId < b.orderId ? -1 : 1))) {
      const p = s.purchases.get(o.purchaseId);
      if (!p) continue;
      const series = p.kind === 'carbon-peak' ? d.carbonGPerKwh : d.priceGbpPerMwh;
      const forecastPeak = peakIn({ startsAtMs, p50: series.points.map((x) => x.p50) }, o.windowStartMs, o.windowEndMs);
      const v = judge({ announcedPeak: p.peak, forecastPeak, kw: o.kw, minKw: o.minKw, cancelBelow: cfg.cancelBelow, updateBelow: cfg.updateBelow, easedShare: cfg.easedShare });
      if (v.kind === 'keep' || (v.kind === 'reduce' && o.phase === 'updated')) continue;
      const why = `forecast peak ${forecastPeak!.toFixed(1)} is ${Math.round(v.level * 100)} % of the ${p.peak.toFixed(1)} announced`;
      const ev =
        v.kind === 'cancel'
          ? request(p.bppUri, 'cancel', cancelRequest(ctxFor(ctx, 'cancel', p), { orderId: o.orderId, reasonId: 'stress-passed', reason: `stress passed: ${why}` }), { purpose: 'cancel', purchaseId: p.purchaseId, orderId: o.orderId })
          : request(p.bppUri, 'update', updateRequest(ctxFor(ctx, 'update', p), { orderId: o.orderId, itemId: o.itemId, kw: v.kw }), { purpose: 'update', purchaseId: p.purchaseId, orderId: o.orderId });
      // Asked now; forgotten again if the BPP refuses (onOutcome).
      asked.set(o.orderId, v.kind === 'cancel' ? `stress passed: ${why}` : `stress eased: ${why}`);
      out.push({ stream: streamOf(p.purchaseId), events: [ev] });
    }
    // Windows still short of flexibility: search again, now and then, while there is time.
    const purchases = [...s.purchases.values()].sort((a, b) => a.windowStartMs - b.windowStartMs || (a.purchaseId < b.purchaseId ? -1 : 1));
    for (const p of purchases) {
      if (p.closed || p.windowStartMs - nowMs < cfg.minLeadMin * 60_000 || nowMs - p.lastSearchMs < cfg.researchEveryMin * 60_000) continue;
      const changed = [...s.orders.values()].some((o) => o.purchaseId === p.purchaseId && (o.phase === 'cancelled' || o.phase === 'updated'));
      if (changed || fullyCovered({ windowStartMs: p.windowStartMs, windowEndMs: p.windowEndMs, wantKw: p.wantKw }, coverage(s, p))) continue;
      out.push(...search(ctx, p, 'search-again'));
    }
    return out;
  }

  /** The BPP's answer to one of our requests, fed back as an input once the reactor has it. */
  function onOutcome(e: Envelope, s: GridOperatorState, ctx: AgentContext): Decision[] {
    const d = e.data as { scheduledBy: string; effectType: string; meta?: Meta; ack?: 'ACK' | 'NACK' | null; detail?: string | null; reason?: string };
    if (d.scheduledBy !== GRID_OPERATOR_AGENT || d.effectType !== 'beckn.request.scheduled' || !d.meta) return [];
    const m = d.meta;
    const p = s.purchases.get(String(m['purchaseId']));
    if (!p) return [];
    const ok = e.type === 'outbox.effect.sent' && d.ack === 'ACK';
    const why = truncateText(e.type === 'outbox.effect.failed' ? (d.reason ?? 'not sent') : (d.detail ?? `answered ${d.ack ?? 'without an ACK'}`), 512);
    const item = typeof m['itemId'] === 'string' ? m['itemId'] : null;
    const orderId = String(m['orderId']);
    switch (m['purpose']) {
      case 'search':
        return ok ? [] : [declined(p, null, null, 'the BPP refused the search')];
      case 'search-again':
        if (!ok) ctx.log.warn({ purchaseId: p.purchaseId, refused: why }, 'search refused');
        return [];
      case 'select':
      case 'confirm':
        return ok ? [] : [declined(p, item, null, `${m['purpose']} refused: ${why}`)];
      case 'init':
        if (!ok) return [declined(p, item, null, `init refused: ${why}`)];
        return [{ stream: streamOf(p.purchaseId), events: [{ type: 'market.purchase.quoted', data: { purchaseId: p.purchaseId, transactionId: p.transactionId, itemId: item, kw: m['kw'], quoteGbp: m['quoteGbp'] } }] }];
      case 'rating':
        rating.delete(orderId);
        if (!ok) {
          ctx.log.warn({ orderId, refused: why }, 'rating refused');
          return [];
        }
        return [{ stream: streamOf(p.purchaseId), events: [{ type: 'market.delivery.rated', data: { purchaseId: p.purchaseId, orderId, value: m['value'], deliveredShare: m['deliveredShare'] } }] }];
      case 'cancel':
      case 'update':
        if (!ok) {
          asked.delete(orderId);
          ctx.log.warn({ orderId, change: m['purpose'], refused: why }, 'change refused');
        }
        return [];
      default:
        return [];
    }
  }

  return defineAgent<GridOperatorState>({
    name: GRID_OPERATOR_AGENT,
    version: '1.0.0',
    categories: ['purchase'],
    subscriptions: ['grid.stress.expected', 'grid.forecast.published', 'outbox.effect.sent', 'outbox.effect.failed'],
    commands: { callback: 'market.callback.handle' },
    initialState: () => INITIAL_GRID_OPERATOR_STATE,
    evolve: evolveGridOperator,
    effects: {
      'beckn.request.scheduled': {
        key: (e) => (e.data as { target: string }).target,
        perform: (e, a) => deliver(e, a.nowMs, a.idempotencyKey),
      },
    },
    async onStart(ctx) {
      const intake = new CallbackIntake({
        bapId: cfg.bap.id,
        keys: deps.keyDirectory,
        nowMs: () => ctx.now(),
        log: ctx.log,
        enqueue: (action, body) => {
          const r = deps.runtime.enqueue(GRID_OPERATOR_AGENT, 'callback', { action, body }, { id: `beckn-cb:${body.context.message_id}:${action}`, correlationId: body.context.transaction_id, source: body.context.bpp_id ?? 'bpp', sign: false });
          if (r.accepted) void r.outcome.then((o) => (o.ok ? undefined : ctx.log.error({ action, reason: o.error.reason }, 'handling a callback failed')));
          return r.accepted;
        },
      });
      const s = await deps.transport.listen({ actions: CALLBACK_ACTIONS, pathPrefix: new URL(cfg.bap.uri).pathname, handler: (req) => intake.handle(req) });
      deps.transport.announce?.(cfg.bap.uri, s.origin);
      server = s;
    },
    async onStop() {
      deps.transport.withdraw?.(cfg.bap.uri);
      await server?.close();
      server = undefined;
    },
    async decide(input, s, ctx) {
      if (input.kind === 'event') {
        if (input.event.type === 'grid.stress.expected') return onStress(input.event.data as StressData, s, ctx);
        if (input.event.type === 'grid.forecast.published') return onForecast(input.event.data as ForecastData, s, ctx);
        if (input.event.type === 'outbox.effect.sent' || input.event.type === 'outbox.effect.failed') return onOutcome(input.event, s, ctx);
        return [];
      }
      if (input.kind !== 'command' || input.command.type !== 'market.callback.handle') return [];
      const { action, body } = input.command.data as CallbackData;
      const purchaseId = s.byTransaction.get(body.context.transaction_id);
      const p = purchaseId !== undefined ? s.purchases.get(purchaseId) : undefined;
      if (!p) {
        ctx.log.warn({ action, transactionId: body.context.transaction_id }, 'callback for a transaction we did not start');
        return [];
      }
      switch (action) {
        case 'on_search':
          return onSearch(body as BecknBody<'on_search'>, p, s, ctx);
        case 'on_select':
        case 'on_init':
          return onQuote(action, body as BecknBody<'on_select'>, p, ctx);
        case 'on_confirm':
          return onConfirm(body as BecknBody<'on_confirm'>, p);
        case 'on_status':
          return onStatus(body as BecknBody<'on_status'>, s, ctx);
        case 'on_update':
        case 'on_cancel':
          return onChange(action, body as BecknBody<'on_update'>, s, ctx);
        default:
          return [];
      }
    },
  });
}
