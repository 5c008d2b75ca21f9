import { createHash } from 'node:crypto';
import { defineAgent, type AgentContext, type AgentDefinition, type AgentInput } from '../../core/runtime/index.ts';
import type { Runtime } from '../../core/runtime/index.ts';
import type { BecknSigningKey, KeyDirectory } from '../../beckn/index.ts';
import { CALLBACK_ACTIONS, type BecknCallbackAction } from '../../schemas/beckn/index.ts';
import { gridOperatorConfig, type GridOperatorConfig } from './config.ts';
import { decideCallback } from './decide/callback.ts';
import { decided, type Decided, type GridOperatorDecideDeps, type Now } from './decide/deps.ts';
import { decideForecast } from './decide/forecast.ts';
import { decideOutcome } from './decide/outcome.ts';
import { decideStress } from './decide/stress.ts';
import { requestDelivery } from './effects.ts';
import { CallbackIntake } from './intake.ts';
import { actionCallbackOf, type GridOperatorCmd, type GridOperatorIn, type GridOperatorOut } from './messages.ts';
import { NOTHING_PENDING, type Pending } from './pending.ts';
import { evolveGridOperator, initialGridOperatorState, type GridOperatorState } from './state.ts';
import type { BecknTransport } from './transport.ts';

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

/** One input to the decider that handles its kind (decide/*.ts), each a pure function of (deps, state, pending, input). */
export function decideGridOperator(deps: GridOperatorDecideDeps, input: AgentInput<GridOperatorIn, GridOperatorCmd>, s: GridOperatorState, pending: Pending, now: Now): Decided {
  switch (input.kind) {
    case 'event': {
      const e = input.event;
      switch (e.type) {
        case 'grid.stress.expected':
          return decideStress(deps, s, pending, e.data, now);
        case 'grid.forecast.published':
          return decideForecast(deps, s, pending, e.data, now);
        case 'outbox.effect.sent':
        case 'outbox.effect.failed':
          return decideOutcome(GRID_OPERATOR_AGENT, s, pending, e);
        // Its own events are folded by `evolve`, never decided on.
        case 'market.purchase.searched':
        case 'market.purchase.selected':
        case 'market.purchase.quoted':
        case 'market.purchase.ordered':
        case 'market.purchase.declined':
        case 'market.purchase.changed':
        case 'market.delivery.reported':
        case 'market.delivery.rated':
        case 'beckn.request.scheduled':
          return decided(pending);
        default: {
          const _never: never = e;
          return decided(pending);
        }
      }
    }
    case 'command': {
      const c = input.command;
      switch (c.type) {
        case 'market.callback.handle':
          return decideCallback(deps, s, pending, actionCallbackOf(c.data.body), now);
        default: {
          const _never: never = c.type;
          return decided(pending);
        }
      }
    }
    case 'timer':
      return decided(pending);
  }
}

/** An envelope id or source is 1 to 128 printable ASCII characters; a BPP id need not be. */
const TOKEN = /^[!-~]{1,128}$/u;
const envelopeToken = (s: string): string => (TOKEN.test(s) ? s : `sha256:${createHash('sha256').update(s).digest('hex')}`);

/**
 * The id a BPP's callback is handled under, which is what makes a repeat a duplicate. Every BPP
 * answers a search under the search's own message id, so the id names the BPP (the intake has
 * checked that it signed): by message id alone, a second BPP's catalogue was dropped as the
 * first's repeat.
 */
const callbackCommandId = (action: BecknCallbackAction, context: { readonly message_id: string; readonly bpp_id?: string | undefined }): string =>
  envelopeToken(`beckn-cb:${context.bpp_id ?? ''}:${context.message_id}:${action}`);

/**
 * A simulated grid operator, a Beckn BAP speaking the same signed HTTP as anyone else: it buys
 * flexibility for each announced stress window within a price cap and budget (search → select
 * → init → confirm), takes delivery telemetry, cancels or reduces orders when newer forecasts
 * say the stress passed or eased, and rates each completed delivery.
 *
 * This is the wiring: the callback door (intake.ts through the transport) and the request
 * effect (effects.ts) are the I/O; every decision is made by a pure decider in decide/.
 */
export function createGridOperatorAgent(deps: GridOperatorDeps): AgentDefinition<GridOperatorState, GridOperatorIn, GridOperatorOut, GridOperatorCmd> {
  const cfg = gridOperatorConfig(deps.config);
  const decideDeps: GridOperatorDecideDeps = { config: cfg };
  let server: { close(): Promise<void> } | undefined;
  /** Requests asked of the BPP and not yet answered (pending.ts): the one memory beside the ledger state. */
  let pending: Pending = NOTHING_PENDING;
  /** What the last `decide` would make it, taken once its events are stored. */
  let decidedPending: Pending | undefined;

  const now = (ctx: AgentContext): Now => ({ nowMs: ctx.now(), newId: () => ctx.newId() });

  return defineAgent<GridOperatorState, GridOperatorIn, GridOperatorOut, GridOperatorCmd>({
    name: GRID_OPERATOR_AGENT,
    version: '1.0.0',
    categories: ['purchase'],
    subscriptions: ['grid.stress.expected', 'grid.forecast.published', 'outbox.effect.sent', 'outbox.effect.failed'],
    commands: { callback: 'market.callback.handle' },
    // Queued by the callback intake once the BPP's Beckn signature is checked; never from the bus.
    internalCommands: ['callback'],
    initialState: initialGridOperatorState,
    evolve: evolveGridOperator,
    effects: { 'beckn.request.scheduled': requestDelivery({ transport: deps.transport, signingKey: deps.signingKey, timeoutMs: cfg.requestTimeoutMs }) },
    async onStart(ctx) {
      const intake = new CallbackIntake({
        bapId: cfg.bap.id,
        keys: deps.keyDirectory,
        nowMs: () => ctx.now(),
        log: ctx.log,
        enqueue: (action, body) => {
          const r = deps.runtime.enqueue(GRID_OPERATOR_AGENT, 'callback', { action, body }, { id: callbackCommandId(action, body.context), correlationId: body.context.transaction_id, source: envelopeToken(body.context.bpp_id ?? 'bpp'), sign: false });
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
    decide(input, s, ctx) {
      const out = decideGridOperator(decideDeps, input, s, pending, now(ctx));
      decidedPending = out.pending;
      for (const n of out.notes) ctx.log.warn(n.fields, n.message);
      return out.decisions;
    },
    // Only once the requests are on the ledger: set in `decide`, a rating whose append failed
    // stayed "asked", and no later COMPLETED rated the order until a restart (a helper's review).
    decided() {
      if (decidedPending !== undefined) pending = decidedPending;
      decidedPending = undefined;
    },
  });
}
