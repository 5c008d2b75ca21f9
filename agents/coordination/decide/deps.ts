import { isNatsUri } from '../../../beckn/index.ts';
import type { Decision } from '../../../core/runtime/index.ts';
import type { CoordinationConfig } from '../config.ts';
import type { CoordinationOut } from '../messages.ts';

/** What every decider of the coordination agent is given besides its state and input. */
export interface CoordinationDecideDeps {
  readonly config: CoordinationConfig;
  /** With the NATS binding on: the config a BAP at a `nats:` address is answered with (this BPP's `nats:` bpp_uri). */
  readonly natsConfig: CoordinationConfig | undefined;
}

/** Answered in kind: a BAP at a `nats:` address is told this BPP's `nats:` address. */
export const configFor = (deps: CoordinationDecideDeps, bapUri: string): CoordinationConfig => (deps.natsConfig && isNatsUri(bapUri) ? deps.natsConfig : deps.config);

/** The time of the decision and a source of fresh ids (seeded in a simulation, so the order of calls matters). */
export interface Now {
  readonly nowMs: number;
  newId(): string;
}

/** A confirmed order's window start, when the agent must activate it. */
export interface ActivationTimer {
  readonly atMs: number;
  readonly orderId: string;
}

/** What a decider returns: the decisions, and the activations to set. */
export interface Decided {
  readonly decisions: ReadonlyArray<Decision<CoordinationOut>>;
  readonly timers: ReadonlyArray<ActivationTimer>;
}

export const decided = (decisions: ReadonlyArray<Decision<CoordinationOut>>, timers: ReadonlyArray<ActivationTimer> = []): Decided => ({ decisions, timers });

export const OFFERS_STREAM = 'flex-offers';
/** Callbacks that answer without changing an order (search, status, support, refusals). */
export const CALLBACKS_STREAM = 'beckn-callbacks';
export const REJECTIONS_STREAM = 'beckn-rejected';
export const orderStream = (orderId: string): string => `flex-${orderId}`;

export const iso = (ms: number): string => new Date(ms).toISOString();
