import type { Envelope } from '../envelope.ts';
import type { ExpectedRevision } from '../store/event-store.ts';
import type { Logger } from '../log/logger.ts';
import type { Principal } from '../identity/key-entry.ts';
import type { SnapshotOptions } from './snapshot.ts';

/**
 * The Promise-based agent API. A third party writes an agent as a plain object: no Effect,
 * no knowledge of the bus or the store. The runtime feeds it one input at a time.
 */

/** A request addressed to one agent (`caco.<site>.cmd.<agent>.<name>`). */
export interface CommandMessage<D = unknown> {
  readonly id: string;
  readonly type: string;
  readonly version: number;
  readonly time: string;
  readonly source: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly data: D;
  /**
   * Who sent it, as authenticated by the runtime (never read from the wire): the registered
   * key whose signature checked out. Absent only for in-process commands queued without one.
   */
  readonly principal?: Principal;
}

export type AgentInput =
  /** A fact appended to the ledger by another agent, matching one of `subscriptions`. */
  | { readonly kind: 'event'; readonly id: string; readonly correlationId: string; readonly event: Envelope }
  /** A command sent to this agent. */
  | { readonly kind: 'command'; readonly id: string; readonly correlationId: string; readonly command: CommandMessage }
  /** A timer the agent set with `ctx.setTimer`, now due. */
  | { readonly kind: 'timer'; readonly id: string; readonly correlationId: string; readonly name: string; readonly data: unknown; readonly atMs: number };

export interface EventToAppend<D = unknown> {
  readonly type: string;
  /** Defaults to the latest registered version of the type. */
  readonly version?: number;
  readonly data: D;
}

/** What a decider returns: events for one stream, appended atomically. */
export interface Decision {
  readonly stream: string;
  /** Defaults to 'any'. */
  readonly expected?: ExpectedRevision;
  readonly events: ReadonlyArray<EventToAppend>;
}

export interface AgentContext {
  readonly site: string;
  readonly agent: string;
  /** The clock's time in ms; agents read time only from here. */
  now(): number;
  nowIso(): string;
  readonly log: Logger;
  /** A fresh id (UUIDv7, seeded in simulation). */
  newId(): string;
  /** Ask the runtime to hand this agent `{ kind: 'timer', name, data }` at `atMs`. */
  setTimer(atMs: number, name: string, data?: unknown): void;
  /** Publish a JSON message on the bus (not the ledger): for integrations, never for facts. */
  publish(subject: string, data: unknown): Promise<void>;
}

/**
 * How to carry out one kind of effect outside the ledger (a Beckn callback, an HTTP request).
 * The decider never performs it: it appends an event of the declared type carrying the exact
 * message, and the runtime's effects reactor performs it from the committed ledger, retries it,
 * and records `outbox.effect.sent` or `outbox.effect.failed`.
 */
export interface EffectDeclaration {
  /** Effects with the same key go out one at a time, in ledger order (one receiver, say). */
  key(event: Envelope): string;
  /**
   * Send it once. `idempotencyKey` is the same on every attempt and after a restart: the
   * receiver drops repeats by it (a Beckn message id). Throw, or answer `{ ok: false }`, to be
   * tried again with back-off.
   */
  perform(event: Envelope, attempt: EffectAttempt): Promise<EffectResult>;
  /**
   * Under the lockstep scheduler an effect is awaited before the next ledger event, so a
   * simulation stays deterministic. `true` sends it through the fair queue instead (a live BPP
   * whose slow BAPs must not hold up the rest).
   */
  readonly background?: boolean;
}

export interface EffectAttempt {
  readonly number: number;
  readonly idempotencyKey: string;
  /** The clock's time now (the send time, not the decision time). */
  readonly nowMs: number;
}

export type EffectResult =
  /** The receiver answered; a refusal (a NACK) is an answer, not a reason to retry. */
  | { readonly ok: true; readonly httpStatus: number; readonly ack: 'ACK' | 'NACK' | null; readonly detail: string | null }
  | { readonly ok: false; readonly reason: string };

export interface AgentDefinition<S> {
  readonly name: string;
  readonly version: string;
  /** Categories of the streams this agent owns (`job` owns `job-42`); its state is rebuilt from them. */
  readonly categories: ReadonlyArray<string>;
  /** Event-type patterns (NATS wildcards over dot-separated types) this agent reacts to. */
  readonly subscriptions?: ReadonlyArray<string>;
  /**
   * Event-type patterns of other agents' facts that also feed `evolve` (on restore and live),
   * so the state can hold what the agent has learnt (the latest forecast, orders confirmed).
   * An event both observed and subscribed is evolved first, then decided on.
   */
  readonly observes?: ReadonlyArray<string>;
  /** Command names accepted on `caco.<site>.cmd.<agent>.<name>`; each must be a registered command type. */
  readonly commands?: Readonly<Record<string, string>>;
  /**
   * Effects this agent schedules, by the event type that carries them (registered types whose
   * data has `messageId`). Sent after the event is stored, from the ledger, once per event.
   */
  readonly effects?: Readonly<Record<string, EffectDeclaration>>;
  readonly initialState: S;
  /**
   * For a state that `evolve` updates in place: a new initial state for each rebuild. Without
   * it the runtime starts every rebuild from `initialState`, which must then never be mutated.
   */
  readonly freshState?: () => S;
  evolve(state: S, event: Envelope): S;
  /**
   * Opt in to snapshots (docs/writing-an-agent.md): every `every` events the runtime stores
   * the state, and a restore loads it and replays only what came after. Bump `version`
   * whenever the state's shape or `evolve` changes. Needs a snapshot store in the runtime.
   */
  readonly snapshot?: SnapshotOptions<S>;
  decide(input: AgentInput, state: S, ctx: AgentContext): ReadonlyArray<Decision> | Promise<ReadonlyArray<Decision>>;
  /** Called once after state is restored: set the first timers, open servers. */
  onStart?(ctx: AgentContext, state: S): void | Promise<void>;
  onStop?(): void | Promise<void>;
}

/** Identity helper that gives `defineAgent({...})` full type inference of the state. */
export function defineAgent<S>(def: AgentDefinition<S>): AgentDefinition<S> {
  return def;
}
