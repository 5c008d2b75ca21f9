import { defineAgent, type AgentContext, type AgentDefinition, type AgentInput } from '../../core/runtime/index.ts';
import type { Runtime } from '../../core/runtime/index.ts';
import { natsBppUri, type BecknSigningKey, type KeyDirectory } from '../../beckn/index.ts';
import type { Bus } from '../../core/bus/index.ts';
import type { BecknHttpServer, LoopbackResolver } from './beckn-http.ts';
import type { BecknNatsServer } from './beckn-nats.ts';
import { coordinationConfig, type CoordinationConfig } from './config.ts';
import { ACTIVATE_TIMER, activationData, activationOf, decideActivation } from './decide/activation.ts';
import { decided, type CoordinationDecideDeps, type Decided, type Now } from './decide/deps.ts';
import { decideFlexibility } from './decide/flexibility.ts';
import { decideMeterRead } from './decide/meter-read.ts';
import { decideRejection } from './decide/rejection.ts';
import { decideRequest } from './decide/request.ts';
import { openDoors, type Doors } from './doors.ts';
import { callbackDelivery } from './effects.ts';
import { actionRequestOf, type CoordinationCmd, type CoordinationIn, type CoordinationOut } from './messages.ts';
import { evolveCoordination, initialCoordinationState, INITIAL_COORDINATION_STATE, isCoordinationState, type CoordinationState } from './state.ts';

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

/** One input to the decider that handles its kind (decide/*.ts), each a pure function of (deps, state, input). */
export function decideCoordination(deps: CoordinationDecideDeps, input: AgentInput<CoordinationIn, CoordinationCmd>, s: CoordinationState, now: Now): Decided {
  switch (input.kind) {
    case 'event': {
      const e = input.event;
      switch (e.type) {
        case 'compute.flexibility.available':
          return decideFlexibility(deps, s, now.nowMs);
        case 'site.meter.read':
          return decideMeterRead(deps, s, e.data.periodStart, now);
        // Its own events are folded by `evolve`, never decided on.
        case 'flex.offer.published':
        case 'flex.order.selected':
        case 'flex.order.initialized':
        case 'flex.order.confirmed':
        case 'flex.order.activated':
        case 'flex.order.updated':
        case 'flex.order.fulfilled':
        case 'flex.order.cancelled':
        case 'flex.order.rated':
        case 'beckn.request.rejected':
        case 'beckn.callback.scheduled':
          return decided([]);
        default: {
          const _never: never = e;
          return decided([]);
        }
      }
    }
    case 'command': {
      const c = input.command;
      switch (c.type) {
        case 'flex.request.handle':
          return decideRequest(deps, s, actionRequestOf(c.data.body), now);
        case 'flex.request.reject':
          return decideRejection(c.data);
        default: {
          const _never: never = c;
          return decided([]);
        }
      }
    }
    case 'timer': {
      const orderId = activationOf(input.name, input.data);
      return orderId === undefined ? decided([]) : decideActivation(deps, s, orderId, now);
    }
  }
}

/**
 * The coordination agent: the site's Beckn BPP. It turns the compute agent's flexibility into
 * catalog offers, answers Beckn requests over signed HTTP or NATS (ACK at once, on_* callback
 * later), records the order lifecycle, activates orders when their window starts, reports
 * telemetry each metered half-hour and settles each order after its window from the meter reads.
 *
 * This is the wiring: the doors (doors.ts) and the callback effect (effects.ts) are the I/O;
 * every decision is made by a pure decider in decide/.
 */
export function createCoordinationAgent(deps: CoordinationDeps): AgentDefinition<CoordinationState, CoordinationIn, CoordinationOut, CoordinationCmd> {
  const cfg = coordinationConfig(deps.config);
  const decideDeps: CoordinationDecideDeps = { config: cfg, natsConfig: deps.nats ? { ...cfg, bpp: { id: cfg.bpp.id, uri: natsBppUri(cfg.domain, cfg.bpp.id) } } : undefined };
  let doors: Doors | undefined;
  /** The state the intake checks a request against: the host's, as of its latest event. */
  const stateNow = (): CoordinationState => {
    const hosted = deps.runtime.host(COORDINATION_AGENT)?.state;
    return isCoordinationState(hosted) ? hosted : INITIAL_COORDINATION_STATE;
  };

  const now = (ctx: AgentContext): Now => ({ nowMs: ctx.now(), newId: () => ctx.newId() });

  return defineAgent<CoordinationState, CoordinationIn, CoordinationOut, CoordinationCmd>({
    name: COORDINATION_AGENT,
    version: '1.0.0',
    categories: ['flex', 'beckn'],
    subscriptions: ['compute.flexibility.available', 'site.meter.read'],
    observes: ['compute.flexibility.available', 'site.meter.read'],
    commands: { handle: 'flex.request.handle', reject: 'flex.request.reject' },
    // Queued by the doors once a Beckn request is authenticated (or refused); never from the bus.
    internalCommands: ['handle', 'reject'],
    initialState: initialCoordinationState,
    evolve: evolveCoordination,
    effects: {
      // Inline by default: on one simulated clock the BAP gets each callback before the step ends.
      'beckn.callback.scheduled': callbackDelivery({
        signingKey: deps.signingKey,
        timeoutMs: cfg.callbackTimeoutMs,
        ...(deps.resolver ? { resolver: deps.resolver } : {}),
        ...(deps.nats ? { natsBus: deps.nats.bus } : {}),
        background: cfg.callbackDelivery === 'background',
      }),
    },
    async onStart(ctx, restored) {
      doors = await openDoors(
        {
          agent: COORDINATION_AGENT,
          config: cfg,
          runtime: deps.runtime,
          keyDirectory: deps.keyDirectory,
          state: stateNow,
          ...(deps.resolver ? { resolver: deps.resolver } : {}),
          ...(deps.listen !== undefined ? { listen: deps.listen } : {}),
          ...(deps.onListening ? { onListening: deps.onListening } : {}),
          ...(deps.nats ? { nats: deps.nats } : {}),
        },
        ctx,
      );
      // Orders confirmed before a restart still need activating.
      for (const o of restored.orders.values()) if (o.phase === 'confirmed') ctx.setTimer(Math.max(ctx.now(), o.windowStartMs), ACTIVATE_TIMER, { orderId: o.orderId });
    },
    async onStop() {
      await doors?.close();
      doors = undefined;
    },
    decide(input, s, ctx) {
      const out = decideCoordination(decideDeps, input, s, now(ctx));
      for (const t of out.timers) ctx.setTimer(t.atMs, ACTIVATE_TIMER, activationData(t));
      return out.decisions;
    },
  });
}
