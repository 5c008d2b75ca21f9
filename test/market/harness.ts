import { Schema } from 'effect';
import { Runtime } from '../../core/runtime/runtime.ts';
import { defineAgent } from '../../core/runtime/agent.ts';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { StaticKeyDirectory, publicKeyToBase64, type BecknSigningKey } from '../../beckn/index.ts';
import { settlementPeriodOf } from '../../core/time/index.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { defineCommand } from '../../schemas/registry.ts';
import { NonEmpty } from '../../schemas/common.ts';
import { advanceAndSettle } from '../../sim/clock-driver.ts';
import { embeddedStack } from '../support/embedded.ts';
import {
  COORDINATION_AGENT,
  createCoordinationAgent,
  loopbackTransport,
  LoopbackResolver,
  natsTransport,
  seededSigningKey,
  startBecknHttpServer,
  type CoordinationConfig,
  type CoordinationState,
} from '../../agents/coordination/index.ts';
import { createGridOperatorAgent, GRID_OPERATOR_AGENT, natsAddresses, SIM_BAP, type BecknTransport, type GridOperatorConfig, type GridOperatorState } from '../../agents/grid-operator/index.ts';
import { NatsBus } from '../../core/bus/nats-bus.ts';
import { DEFAULT_DOMAIN } from '../../beckn/index.ts';

/**
 * A market on one simulated clock: a feeder agent that puts chosen facts on the ledger (the
 * compute and grid agents' events, with numbers a test can check by hand), the coordination
 * agent (BPP) and, optionally, the grid-operator agent (BAP), talking signed HTTP on loopback.
 */

const FeedEmit = defineCommand('test.feed.emit', 1, 'Append a fact chosen by a test', Schema.Struct({ type: NonEmpty, data: Schema.Unknown }));

export const T0 = Date.parse('2026-01-15T10:00:00Z');
export const HOUR = 3_600_000;
export const BPP_ID = 'bpp.caco.local';
export const BAP_ID = 'grid-operator.caco.local';
export const TEST_BAP = { id: 'test-bap.caco.local', uri: 'http://test-bap.caco.local/beckn' };

export interface Recorded {
  readonly direction: 'sent' | 'received';
  readonly action: string;
  readonly body: unknown;
}

export interface MarketOptions {
  readonly seed?: string;
  readonly gridOperator?: boolean;
  readonly coordination?: Partial<CoordinationConfig>;
  readonly gridOperatorConfig?: Partial<GridOperatorConfig>;
  /**
   * How the grid operator and the BPP talk: signed HTTP on loopback (default), or the NATS
   * binding through a NATS server at `natsUrl` (the ledger's bus stays the embedded one).
   */
  readonly transport?: 'http' | 'nats';
  readonly natsUrl?: string;
}

export async function startMarket(opts: MarketOptions = {}) {
  const seed = opts.seed ?? 'market';
  const s = embeddedStack(seed, T0);
  const runtime = new Runtime({ ...s, site: 'test', checkpoints: s.store, registry: cacoRegistry([FeedEmit]), delivery: 'lockstep' });
  const resolver = new LoopbackResolver();
  const bppKey = seededSigningKey(seed, BPP_ID);
  const bapKey = seededSigningKey(seed, BAP_ID);
  const testBapKey = seededSigningKey(seed, TEST_BAP.id);
  const entry = (k: BecknSigningKey, url: string) => ({ subscriber_id: k.subscriberId, key_id: k.uniqueKeyId, signing_public_key: publicKeyToBase64(k.privateKey), url });
  const overNats = opts.transport === 'nats';
  const nats = overNats ? await NatsBus.connect({ servers: opts.natsUrl ?? '127.0.0.1:4222', name: `caco-test-market-${seed}` }) : undefined;
  const bapConfig: Partial<GridOperatorConfig> = overNats ? { ...natsAddresses(DEFAULT_DOMAIN, BAP_ID), ...opts.gridOperatorConfig } : (opts.gridOperatorConfig ?? {});
  const keys = new StaticKeyDirectory([entry(bppKey, 'http://bpp.caco.local/beckn'), entry(bapKey, bapConfig.bap?.uri ?? SIM_BAP.uri), entry(testBapKey, TEST_BAP.uri)]);
  let feedN = 0;
  runtime.add(
    defineAgent<null>({
      name: 'feeder',
      version: '1.0.0',
      categories: ['feed'],
      commands: { emit: 'test.feed.emit' },
      initialState: () => null,
      evolve: (st) => st,
      decide: (input) => {
        if (input.kind !== 'command') return [];
        const d = input.command.data as { type: string; data: unknown };
        return [{ stream: `feed-${d.type.replace(/\./g, '_')}`, events: [{ type: d.type, data: d.data }] }];
      },
    }),
  );
  // Inline callbacks by default: on one simulated clock the BAP must get each callback before the step ends.
  runtime.add(createCoordinationAgent({ runtime, signingKey: bppKey, keyDirectory: keys, resolver, config: { callbackDelivery: 'inline', ...opts.coordination }, ...(nats ? { nats: { bus: nats } } : {}) }));
  const recorded: Recorded[] = [];
  const base: BecknTransport = nats ? natsTransport(nats) : loopbackTransport(resolver);
  // The grid operator's transport, recording every body it sends and receives.
  const transport: BecknTransport = {
    ...base,
    post: async (o) => {
      recorded.push({ direction: 'sent', action: o.action, body: JSON.parse(JSON.stringify(o.body)) });
      return base.post(o);
    },
    listen: (o) =>
      base.listen({
        ...o,
        handler: async (req) => {
          try {
            recorded.push({ direction: 'received', action: req.action, body: JSON.parse(req.body.toString('utf8')) });
          } catch {
            /* not JSON: the intake says so */
          }
          return o.handler(req);
        },
      }),
  };
  if (opts.gridOperator ?? true) runtime.add(createGridOperatorAgent({ runtime, signingKey: bapKey, keyDirectory: keys, transport, config: bapConfig }));

  // A bare BAP for hand-made requests: its callbacks are only recorded.
  const testBapInbox: Recorded[] = [];
  const testBapServer = await startBecknHttpServer({
    actions: ['on_search', 'on_select', 'on_init', 'on_confirm', 'on_status', 'on_update', 'on_cancel', 'on_rating', 'on_support'],
    pathPrefix: '/beckn',
    handler: async (req) => {
      testBapInbox.push({ direction: 'received', action: req.action, body: JSON.parse(req.body.toString('utf8')) });
      return { statusCode: 200, headers: {}, body: { message: { ack: { status: 'ACK' } } } };
    },
  });
  resolver.register(TEST_BAP.uri, testBapServer.origin);

  await runtime.start();
  await runtime.settle();

  const m = {
    ...s,
    runtime,
    resolver,
    keys,
    bppKey,
    bapKey,
    testBapKey,
    recorded,
    testBapInbox,
    coordination: () => runtime.host(COORDINATION_AGENT)!.state as CoordinationState,
    gridOperator: () => runtime.host(GRID_OPERATOR_AGENT)?.state as GridOperatorState | undefined,
    async emit(type: string, data: unknown): Promise<void> {
      const r = await runtime.send('feeder', 'emit', { type, data }, { id: `feed-${++feedN}` });
      if (!r.ok) throw new Error(`feed ${type}: ${JSON.stringify(r.error)}`);
      await runtime.settle();
    },
    advanceTo: (ms: number) => advanceAndSettle(s.clock, runtime, ms),
    async events(): Promise<Envelope[]> {
      const out: Envelope[] = [];
      for await (const e of s.store.readAll()) out.push(e);
      return out;
    },
    async close(): Promise<void> {
      await runtime.stop();
      await testBapServer.close();
      await nats?.close();
      await s.close();
    },
  };
  return m;
}

export type Market = Awaited<ReturnType<typeof startMarket>>;

const iso = (ms: number) => new Date(ms).toISOString();

/** A `compute.flexibility.available` with the given hour-long windows. */
export function flexibility(planId: string, windows: ReadonlyArray<{ startMs: number; kw: number; costGbpPerMwh: number; baselineKw: number; lengthMs?: number }>) {
  return {
    planId,
    windows: windows.map((w) => ({ windowStart: iso(w.startMs), windowEnd: iso(w.startMs + (w.lengthMs ?? HOUR)), kw: w.kw, marginalCostGbpPerMwh: w.costGbpPerMwh, baselineKw: w.baselineKw })),
  };
}

/** A `site.meter.read` for the half-hour from `periodStartMs` with an average import of `kw`. */
export function meterRead(periodStartMs: number, kw: number) {
  const sp = settlementPeriodOf(periodStartMs);
  return {
    periodStart: iso(periodStartMs),
    settlementDate: sp.settlementDate,
    settlementPeriod: sp.settlementPeriod,
    itKwh: (kw / 1.15) * 0.5,
    importKwh: kw * 0.5,
    batteryChargeKwh: 0,
    batteryDischargeKwh: 0,
    batterySocKwh: 2500,
    carbonGPerKwh: 180,
    priceGbpPerMwh: 95,
    byClassKwh: { training: 0, 'batch-inference': 0, serving: 0 },
    signals: 'observed' as const,
    jobs: [],
  };
}

export function stress(startMs: number, endMs: number, kind: 'price-peak' | 'carbon-peak' = 'price-peak', peak = 180) {
  return {
    stressId: `stress-${kind}-${iso(startMs).slice(0, 16)}Z`,
    forecastId: 'fc-test-1',
    windowStart: iso(startMs),
    windowEnd: iso(endMs),
    kind,
    peakCarbonGPerKwh: kind === 'carbon-peak' ? peak : 150,
    peakPriceGbpPerMwh: kind === 'price-peak' ? peak : 90,
    severity: 0.5,
  };
}

/** A `grid.forecast.published` from `startsAtMs` whose price P50 is `price` everywhere. */
export function flatForecast(startsAtMs: number, price: number, carbon = 150) {
  return forecast(startsAtMs, () => price, carbon);
}

/** A `grid.forecast.published` from `startsAtMs` with the price P50 of each half-hour given by `priceAt`. */
export function forecast(startsAtMs: number, priceAt: (halfHourStartMs: number) => number, carbon = 150) {
  const band = (v: number) => ({ p10: v - 5, p50: v, p90: v + 5 });
  return {
    forecastId: `fc-${startsAtMs}`,
    issuedAt: iso(startsAtMs),
    startsAt: iso(startsAtMs),
    slotMinutes: 30,
    inputsHash: '0'.repeat(64),
    carbonGPerKwh: { modelId: 'test', modelVersion: '1', points: Array.from({ length: 96 }, () => band(carbon)) },
    priceGbpPerMwh: { modelId: 'test', modelVersion: '1', points: Array.from({ length: 96 }, (_, i) => band(priceAt(startsAtMs + i * 1_800_000))) },
  };
}

export const ofType = (events: ReadonlyArray<Envelope>, type: string) => events.filter((e) => e.type === type);
export const dataOf = <T>(e: Envelope) => e.data as T;
