import { defineAgent, type AgentContext, type AgentDefinition, type Decision, type EffectResult, type EventToAppend } from '../../core/runtime/agent.ts';
import type { Runtime } from '../../core/runtime/runtime.ts';
import type { Envelope } from '../../core/envelope.ts';
import { bppSubject, isNatsUri, marketSubject, natsBppUri, type BecknSigningKey, type KeyDirectory } from '../../beckn/index.ts';
import type { Bus } from '../../core/bus/bus.ts';
import { settlementPeriodOf, HALF_HOUR_MS } from '../../core/time/index.ts';
import { orderStatement } from '../../projections/settlement/index.ts';
import { REQUEST_ACTIONS, type BecknBody, type BecknRequestAction } from '../../schemas/beckn/index.ts';
import { postSigned, startBecknHttpServer, type BecknHttpServer, type LoopbackResolver, type RawRequest, type RefusedHttp } from './beckn-http.ts';
import { requestSigned, startBecknNatsServer, type BecknNatsServer } from './beckn-nats.ts';
import { checkRequest } from './checks.ts';
import { coordinationConfig, type CoordinationConfig } from './config.ts';
import { BppIntake, type RejectionData } from './intake.ts';
import { offersToPublish } from './offers.ts';
import {
  errorCallback,
  onCancelBody,
  onConfirmBody,
  onInitBody,
  onRatingBody,
  onSearchBody,
  onSelectBody,
  onStatusBody,
  onSupportBody,
  onUpdateBody,
  statusPushBody,
} from './responses.ts';
import { evolveCoordination, INITIAL_COORDINATION_STATE, type CoordinationState, type OrderRecord, type PublishedOffer } from './state.ts';
import { boundRejection } from './bounded-rejection.ts';

export const COORDINATION_AGENT = 'coordination';

export interface CoordinationDeps {
  /** The runtime hosting this agent: the HTTP server reads its state and queues work on it. */
  readonly runtime: Pick<Runtime, 'host' | 'enqueue' | 'effectBacklog'>;
  readonly signingKey: BecknSigningKey;
  /** Public keys of the BAPs allowed to trade. */
  readonly keyDirectory: KeyDirectory;
  readonly config?: Partial<CoordinationConfig>;
  /** Simulation: where logical URIs really are; this BPP registers its own there. */
  readonly resolver?: LoopbackResolver;
  /** Where the HTTP server listens; default 127.0.0.1 on a free port. `false`: no HTTP (NATS only). */
  readonly listen?: { readonly host?: string; readonly port?: number } | false;
  readonly onListening?: (server: BecknHttpServer) => void;
  /**
   * The NATS binding (docs/beckn.md "Beckn over NATS"): requests on `beckn.<domain>.<action>`
   * through the same intake as HTTP, and callbacks to `nats:` bap_uris. Needs a NATS bus to
   * reach anyone outside this process.
   */
  readonly nats?: { readonly bus: Bus; readonly onListening?: (server: BecknNatsServer) => void };
}

type HandleData = { readonly action: BecknRequestAction; readonly body: BecknBody<BecknRequestAction> };

const iso = (ms: number): string => new Date(ms).toISOString();
const OFFERS_STREAM = 'flex-offers';
/** Callbacks that answer without changing an order (search, status, support, refusals). */
const CALLBACKS_STREAM = 'beckn-callbacks';
const REJECTIONS_STREAM = 'beckn-rejected';
const orderStream = (orderId: string): string => `flex-${orderId}`;

/**
 * The coordination agent: the site's Beckn BPP. It turns the compute agent's flexibility into
 * catalog offers, answers Beckn requests over signed HTTP (ACK at once, on_* callback later),
 * records the order lifecycle, activates orders when their window starts, reports telemetry
 * each metered half-hour and settles each order after its window from the meter reads.
 */
export function createCoordinationAgent(deps: CoordinationDeps): AgentDefinition<CoordinationState> {
  const cfg = coordinationConfig(deps.config);
  let server: BecknHttpServer | undefined;
  let natsServers: BecknNatsServer[] = [];
  /** Answered in kind: a BAP at a `nats:` address is told this BPP's `nats:` address. */
  const natsCfg: CoordinationConfig | undefined = deps.nats ? { ...cfg, bpp: { id: cfg.bpp.id, uri: natsBppUri(cfg.domain, cfg.bpp.id) } } : undefined;
  const cfgFor = (bapUri: string): CoordinationConfig => (natsCfg && isNatsUri(bapUri) ? natsCfg : cfg);

  const stateNow = (): CoordinationState => (deps.runtime.host(COORDINATION_AGENT)?.state as CoordinationState | undefined) ?? INITIAL_COORDINATION_STATE;

  /** Requests from each BAP accepted by the server and not yet handled by the agent. */
  const accepted = new Map<string, number>();
  const bump = (key: string, by: number) => {
    const n = (accepted.get(key) ?? 0) + by;
    if (n > 0) accepted.set(key, n);
    else accepted.delete(key);
  };

  /**
   * A callback is a fact first: appended with the decision it answers, sent by the runtime's
   * effects reactor once stored (see `effects` below), never from inside `decide`.
   */
  function callback(baseUri: string, action: string, body: { context: { message_id: string } }): EventToAppend {
    return { type: 'beckn.callback.scheduled', data: { target: baseUri, action, messageId: body.context.message_id, body } };
  }
  /** A decision that only answers: the callback on its own stream. */
  const only = (...events: EventToAppend[]): Decision[] => [{ stream: CALLBACKS_STREAM, events }];

  async function deliver(e: Envelope, nowMs: number, idempotencyKey: string): Promise<EffectResult> {
    const d = e.data as { target: string; action: string; body: { context: { ttl?: string; message_id: string } } };
    // Signed when it leaves, not when it was decided: the signature's lifetime starts then.
    if (isNatsUri(d.target)) {
      // A NATS callback is an effect like an HTTP one: same body, same signature, same outcome.
      if (!deps.nats) return { ok: false, reason: `no NATS binding here for ${d.target.slice(0, 200)}` };
      return answerOf(await requestSigned({ bus: deps.nats.bus, baseUri: d.target, action: d.action, body: d.body, key: deps.signingKey, nowMs, idempotencyKey, timeoutMs: cfg.callbackTimeoutMs }));
    }
    const r = await postSigned({ baseUri: d.target, action: d.action, body: d.body, key: deps.signingKey, nowMs, idempotencyKey, ...(deps.resolver ? { resolve: deps.resolver.resolve } : {}), timeoutMs: cfg.callbackTimeoutMs });
    return answerOf(r);
  }

  function terms(o: { orderId: string; offer: PublishedOffer; kw: number; transactionId: string; bapId: string; bapUri: string }) {
    const first = settlementPeriodOf(o.offer.windowStartMs);
    const last = settlementPeriodOf(o.offer.windowEndMs - 1);
    return {
      orderId: o.orderId,
      offerId: o.offer.offerId,
      transactionId: o.transactionId,
      bapId: o.bapId,
      bapUri: o.bapUri,
      windowStart: iso(o.offer.windowStartMs),
      windowEnd: iso(o.offer.windowEndMs),
      settlementDate: first.settlementDate,
      firstSettlementPeriod: first.settlementPeriod,
      lastSettlementPeriod: last.settlementPeriod,
      kw: o.kw,
      priceGbpPerMwh: o.offer.priceGbpPerMwh,
      penaltyGbpPerMwh: o.offer.penaltyGbpPerMwh,
      baselineMethod: o.offer.baselineMethod,
      baselineKw: o.offer.baselineKw,
      cancelGate: iso(o.offer.validUntilMs),
    };
  }

  function recordOf(t: ReturnType<typeof terms>, phase: OrderRecord['phase'], nowMs: number, prev: OrderRecord | undefined): OrderRecord {
    return {
      orderId: t.orderId,
      offerId: t.offerId,
      transactionId: t.transactionId,
      bapId: t.bapId,
      bapUri: t.bapUri,
      kw: t.kw,
      priceGbpPerMwh: t.priceGbpPerMwh,
      penaltyGbpPerMwh: t.penaltyGbpPerMwh,
      baselineMethod: t.baselineMethod,
      baselineKw: t.baselineKw,
      windowStartMs: Date.parse(t.windowStart),
      windowEndMs: Date.parse(t.windowEnd),
      cancelGateMs: Date.parse(t.cancelGate),
      phase,
      quotedAtMs: prev?.quotedAtMs ?? nowMs,
      createdMs: prev?.createdMs ?? nowMs,
      updatedMs: nowMs,
      cancelledAtMs: null,
      rating: null,
      fulfilled: null,
    };
  }

  const rejected = (r: RejectionData): Decision => ({ stream: REJECTIONS_STREAM, events: [{ type: 'beckn.request.rejected', data: boundRejection(r) }] });

  function handleRequest(d: HandleData, s: CoordinationState, ctx: AgentContext): Decision[] {
    const nowMs = ctx.now();
    const { action, body } = d;
    // The context's action is `action` (the schema of that action decoded it); the builders
    // are typed per action, hence the cast.
    const req = { request: body.context as never, nowMs };
    const bap = body.context.bap_uri;
    const rcfg = cfgFor(bap);
    // The state may have moved since the server said ACK; check again.
    const check = checkRequest(action, body, s, nowMs, cfg);
    if (!check.ok) {
      const c = body.context;
      const r = rejected({ action, messageId: c.message_id, transactionId: c.transaction_id, bapId: c.bap_id, httpStatus: 200, code: check.fault.code, reason: `refused in the on_${action} callback: ${check.fault.message}`, path: check.fault.path ?? null });
      return [{ ...r, events: [...r.events, callback(bap, `on_${action}`, errorCallback(rcfg, req, body, check.fault))] }];
    }
    const plan = check.plan;
    const who = { transactionId: body.context.transaction_id, bapId: body.context.bap_id, bapUri: body.context.bap_uri };
    switch (plan.action) {
      case 'search':
        return only(callback(bap, 'on_search', onSearchBody(rcfg, s, req, plan.intent)));
      case 'select':
      case 'init':
      case 'confirm': {
        const offer = s.offers.get(plan.offerId)!;
        const orderId = plan.draftOrderId ?? `ord-${ctx.newId()}`;
        const t = terms({ orderId, offer, kw: plan.kw, ...who });
        const type = plan.action === 'select' ? 'flex.order.selected' : plan.action === 'init' ? 'flex.order.initialized' : 'flex.order.confirmed';
        let cb: EventToAppend;
        if (plan.action === 'select') cb = callback(bap, 'on_select', onSelectBody(rcfg, req, offer, plan.kw));
        else if (plan.action === 'init') cb = callback(bap, 'on_init', onInitBody(rcfg, req, offer, plan.kw, (body as BecknBody<'init'>).message.order.billing));
        else {
          const record = recordOf(t, 'confirmed', nowMs, s.orders.get(orderId));
          ctx.setTimer(Math.max(nowMs, offer.windowStartMs), 'activate', { orderId });
          cb = callback(bap, 'on_confirm', onConfirmBody(rcfg, s, req, record, (body as BecknBody<'confirm'>).message.order.billing));
        }
        // The order's fact and its callback in one append: both stored, or neither.
        return [{ stream: orderStream(orderId), events: [{ type, data: t }, cb] }];
      }
      case 'status':
        return only(callback(bap, 'on_status', onStatusBody(rcfg, s, req, s.orders.get(plan.orderId)!)));
      case 'update': {
        const o = s.orders.get(plan.orderId)!;
        const events: EventToAppend[] = plan.kw === o.kw ? [] : [{ type: 'flex.order.updated', data: { orderId: o.orderId, kw: plan.kw, previousKw: o.kw, at: iso(nowMs) } }];
        events.push(callback(bap, 'on_update', onUpdateBody(rcfg, s, req, { ...o, kw: plan.kw, updatedMs: nowMs })));
        return [{ stream: orderStream(o.orderId), events }];
      }
      case 'cancel': {
        const o = s.orders.get(plan.orderId)!;
        const cb = callback(bap, 'on_cancel', onCancelBody(rcfg, s, req, { ...o, phase: 'cancelled', cancelledAtMs: nowMs, updatedMs: nowMs }));
        return [{ stream: orderStream(o.orderId), events: [{ type: 'flex.order.cancelled', data: { orderId: o.orderId, at: iso(nowMs), reason: plan.reason, by: 'buyer' } }, cb] }];
      }
      case 'rating':
        return [{ stream: orderStream(plan.orderId), events: [{ type: 'flex.order.rated', data: { orderId: plan.orderId, value: plan.value } }, callback(bap, 'on_rating', onRatingBody(rcfg, req))] }];
      case 'support':
        return only(callback(bap, 'on_support', onSupportBody(rcfg, req, plan.refId)));
    }
  }

  /** An unsolicited on_status (delivery news): a new message id in the order's transaction. */
  function pushStatus(ctx: AgentContext, s: CoordinationState, o: OrderRecord): EventToAppend {
    return callback(o.bapUri, 'on_status', statusPushBody(cfgFor(o.bapUri), s, o, ctx.now(), ctx.newId()));
  }

  function activate(orderId: string, s: CoordinationState, ctx: AgentContext): Decision[] {
    const o = s.orders.get(orderId);
    if (!o || o.phase !== 'confirmed') return [];
    const nowMs = ctx.now();
    const push = pushStatus(ctx, s, { ...o, phase: 'active', updatedMs: nowMs });
    return [{ stream: orderStream(orderId), events: [{ type: 'flex.order.activated', data: { orderId, at: iso(nowMs), capKw: Math.max(0, o.baselineKw - o.kw) } }, push] }];
  }

  function meterRead(e: Envelope, s: CoordinationState, ctx: AgentContext): Decision[] {
    const periodStartMs = Date.parse((e.data as { periodStart: string }).periodStart);
    const out: Decision[] = [];
    for (const o of [...s.orders.values()].sort((a, b) => a.windowStartMs - b.windowStartMs || (a.orderId < b.orderId ? -1 : 1))) {
      if (o.phase !== 'active' && o.phase !== 'confirmed') continue;
      if (periodStartMs + HALF_HOUR_MS <= o.windowStartMs) continue;
      const st = orderStatement(s.settlement, o.orderId);
      const done = periodStartMs + HALF_HOUR_MS >= o.windowEndMs && st !== undefined && st.totals.periodsPending === 0;
      if (!done) {
        if (o.phase === 'active' && periodStartMs < o.windowEndMs) out.push({ stream: orderStream(o.orderId), events: [pushStatus(ctx, s, o)] });
        continue;
      }
      const t = st.totals;
      const data = {
        orderId: o.orderId,
        deliveredMwh: t.deliveredMwh,
        contractedMwh: t.contractedMwh,
        paymentGbp: t.paymentGbp,
        penaltyGbp: t.penaltyGbp,
        netGbp: t.netGbp,
        periods: st.lines.map((l) => ({
          settlementDate: l.settlementDate,
          settlementPeriod: l.settlementPeriod,
          baselineKwh: round3((l.baselineKw ?? 0) * 0.5 * l.activeFraction),
          meteredKwh: round3((l.meteredKw ?? 0) * 0.5 * l.activeFraction),
          deliveredKwh: round3(l.deliveredMwh * 1000),
        })),
      };
      const push = pushStatus(ctx, s, { ...o, phase: 'fulfilled', updatedMs: ctx.now(), fulfilled: { deliveredMwh: t.deliveredMwh, contractedMwh: t.contractedMwh, paymentGbp: t.paymentGbp, penaltyGbp: t.penaltyGbp, netGbp: t.netGbp } });
      out.push({ stream: orderStream(o.orderId), events: [{ type: 'flex.order.fulfilled', data }, push] });
    }
    return out;
  }

  return defineAgent<CoordinationState>({
    name: COORDINATION_AGENT,
    version: '1.0.0',
    categories: ['flex', 'beckn'],
    subscriptions: ['compute.flexibility.available', 'site.meter.read'],
    observes: ['compute.flexibility.available', 'site.meter.read'],
    commands: { handle: 'flex.request.handle', reject: 'flex.request.reject' },
    initialState: () => INITIAL_COORDINATION_STATE,
    evolve: evolveCoordination,
    effects: {
      'beckn.callback.scheduled': {
        key: (e) => bapKeyOf((e.data as { target: string }).target),
        perform: (e, a) => deliver(e, a.nowMs, a.idempotencyKey),
        // Inline: on one simulated clock the BAP gets each callback before the step ends.
        background: cfg.callbackDelivery === 'background',
      },
    },
    async onStart(ctx, state) {
      const intake = new BppIntake({
        config: cfg,
        keys: deps.keyDirectory,
        nowMs: () => ctx.now(),
        state: stateNow,
        log: ctx.log,
        backlog: (bapUri) => {
          const key = bapKeyOf(bapUri);
          return (accepted.get(key) ?? 0) + deps.runtime.effectBacklog(key);
        },
        enqueueRequest: (action, body) => {
          const r = deps.runtime.enqueue(COORDINATION_AGENT, 'handle', { action, body }, { id: `beckn:${body.context.message_id}`, correlationId: body.context.transaction_id, source: body.context.bap_id, sign: false });
          if (r.accepted) {
            const key = bapKeyOf(body.context.bap_uri);
            bump(key, 1);
            void r.outcome.then((o) => {
              bump(key, -1);
              if (!o.ok) ctx.log.error({ action, reason: o.error.reason }, 'handling an accepted request failed');
            });
          }
          return r.accepted;
        },
        enqueueRejection: (raw) => {
          const data = boundRejection(raw);
          const r = deps.runtime.enqueue(COORDINATION_AGENT, 'reject', data, { source: data.bapId ?? 'beckn', sign: false, ...(data.transactionId ? { correlationId: data.transactionId } : {}) });
          if (!r.accepted) ctx.log.error({ data, error: r.error }, 'could not record a rejection');
        },
      });
      const onRefused = (r: RefusedHttp) => {
        const last = r.method === 'NATS' ? (r.urlPath.split('.').pop() ?? '') : (r.urlPath.split('/').pop() ?? '');
        const data: RejectionData = {
          action: (REQUEST_ACTIONS as ReadonlyArray<string>).includes(last) ? last : '(none)',
          messageId: null,
          transactionId: null,
          bapId: null,
          httpStatus: r.httpStatus,
          code: r.httpStatus >= 500 ? '40000' : '30000',
          reason: r.reason,
          path: null,
          request: { method: r.method, urlPath: r.urlPath, sizeBytes: r.sizeBytes, sha256: r.sha256 },
        };
        const q = deps.runtime.enqueue(COORDINATION_AGENT, 'reject', data, { source: 'beckn', sign: false });
        if (!q.accepted) ctx.log.error({ data, error: q.error }, 'could not record a rejection');
      };
      if (deps.nats) {
        // One intake, two doors: the NATS requests meet exactly the checks the HTTP ones do.
        // The market's subject (several BPPs may share it: a request naming another bpp_id is
        // not ours) and this BPP's own, the bpp_uri its NATS callbacks give.
        const common = { bus: deps.nats.bus, actions: REQUEST_ACTIONS, handler: (req: RawRequest) => intake.handle(req), queue: `beckn-bpp-${cfg.bpp.id}`.replace(/[^A-Za-z0-9_-]/g, '_'), onRefused };
        natsServers = [
          await startBecknNatsServer({ ...common, prefix: marketSubject(cfg.domain), addressedHere: (body) => namesBpp(body, cfg.bpp.id) }),
          await startBecknNatsServer({ ...common, prefix: bppSubject(cfg.domain, cfg.bpp.id) }),
        ];
        for (const s of natsServers) deps.nats.onListening?.(s);
        ctx.log.info({ subjects: natsServers.map((s) => s.subject), uri: natsBppUri(cfg.domain, cfg.bpp.id) }, 'BPP listening on NATS');
      }
      if (deps.listen !== false) {
        server = await startBecknHttpServer({
          actions: REQUEST_ACTIONS,
          pathPrefix: new URL(cfg.bpp.uri).pathname,
          handler: (req) => intake.handle(req),
          onRefused,
          ...(deps.listen?.host !== undefined ? { host: deps.listen.host } : {}),
          ...(deps.listen?.port !== undefined ? { port: deps.listen.port } : {}),
        });
        deps.resolver?.register(cfg.bpp.uri, server.origin);
        deps.onListening?.(server);
        ctx.log.info({ origin: server.origin, uri: cfg.bpp.uri }, 'BPP listening');
      }
      // Orders confirmed before a restart still need activating.
      for (const o of state.orders.values()) if (o.phase === 'confirmed') ctx.setTimer(Math.max(ctx.now(), o.windowStartMs), 'activate', { orderId: o.orderId });
    },
    async onStop() {
      deps.resolver?.unregister(cfg.bpp.uri);
      for (const s of natsServers) await s.close();
      natsServers = [];
      await server?.close();
      server = undefined;
    },
    async decide(input, s, ctx) {
      if (input.kind === 'event') {
        if (input.event.type === 'compute.flexibility.available') {
          const offers = offersToPublish(s, ctx.now(), cfg);
          return offers.length ? [{ stream: OFFERS_STREAM, events: offers.map((data) => ({ type: 'flex.offer.published', data })) }] : [];
        }
        if (input.event.type === 'site.meter.read') return meterRead(input.event, s, ctx);
        return [];
      }
      if (input.kind === 'command') {
        if (input.command.type === 'flex.request.handle') return handleRequest(input.command.data as HandleData, s, ctx);
        if (input.command.type === 'flex.request.reject') return [rejected(input.command.data as RejectionData)];
        return [];
      }
      if (input.name === 'activate') return activate((input.data as { orderId: string }).orderId, s, ctx);
      return [];
    },
  });
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Routing only, before any check: does a request on the market's shared subject name this BPP
 * (or no BPP, as a search does)? Unreadable bodies are ours, so the intake refuses them on the record.
 */
function namesBpp(body: Uint8Array, bppId: string): boolean {
  try {
    const named = (JSON.parse(Buffer.from(body).toString('utf8')) as { context?: { bpp_id?: unknown } }).context?.bpp_id;
    return typeof named !== 'string' || named === bppId;
  } catch {
    return true;
  }
}

/**
 * Callbacks are queued per BAP endpoint: the origin of its bap_uri (what is slow is a server),
 * or over NATS its subject prefix (a `nats:` URI has no origin: all would share one queue).
 */
function bapKeyOf(bapUri: string): string {
  if (isNatsUri(bapUri)) return bapUri;
  try {
    return new URL(bapUri).origin;
  } catch {
    return bapUri;
  }
}

/**
 * What the BAP said. An ACK or NACK is an answer (a NACK is its loss, not a fact about the
 * order); no answer, a timeout, 429 or a server error is tried again by the reactor.
 */
const retryable = (httpStatus: number): boolean => httpStatus === 0 || httpStatus >= 500 || httpStatus === 408 || httpStatus === 429;

function answerOf(r: { httpStatus: number; ack: 'ACK' | 'NACK' | null; error: { code: string; message?: string } | null; problem: string | null }): EffectResult {
  const detail = r.error ? `${r.error.code}${r.error.message ? ` ${r.error.message}` : ''}` : r.problem;
  // Busy or broken, whatever the body says: try again later.
  if (retryable(r.httpStatus)) return { ok: false, reason: `HTTP ${r.httpStatus}${detail ? `: ${detail}` : ''}` };
  if (r.ack !== null) return { ok: true, httpStatus: r.httpStatus, ack: r.ack, detail: detail === null ? null : detail.slice(0, 512) };
  return { ok: true, httpStatus: r.httpStatus, ack: null, detail: (detail ?? `HTTP ${r.httpStatus}`).slice(0, 512) };
}
