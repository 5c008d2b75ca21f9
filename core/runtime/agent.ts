import type { Envelope, Message } from '../envelope/envelope.ts';
import type { DataOf, MessageDef, MessageOf } from '../../schemas/index.ts';
import type { ExpectedRevision } from '../store/event-store.ts';
import type { Logger } from '../log/logger.ts';
import type { Principal } from '../identity/key-entry.ts';
import type { SnapshotOptions } from './snapshot.ts';
import { CacoError } from '../errors/errors.ts';

/**
 * The Promise-based agent API. A third party writes an agent as a plain object: no Effect,
 * no knowledge of the bus or the store. The runtime feeds it one input at a time.
 */

/** A request addressed to one agent (`caco.<site>.cmd.<agent>.<name>`). */
export interface CommandFields {
  readonly id: string;
  readonly version: number;
  readonly time: string;
  readonly source: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  /**
   * Who sent it, as authenticated by the runtime (never read from the wire): the registered
   * key whose signature checked out. Absent only for in-process commands queued without one.
   */
  readonly principal?: Principal;
}

/** A command; generic over a union of command messages, it narrows on `type` like `Envelope`. */
export type CommandMessage<M extends Message = Message> = M extends Message ? CommandFields & { readonly type: M['type']; readonly data: M['data'] } : never;

export type AgentInput<In extends Message = Message, Cmd extends Message = Message> =
  /** A fact appended to the ledger by another agent, matching one of `subscriptions`. */
  | { readonly kind: 'event'; readonly id: string; readonly correlationId: string; readonly event: Envelope<In> }
  /** A command sent to this agent. */
  | { readonly kind: 'command'; readonly id: string; readonly correlationId: string; readonly command: CommandMessage<Cmd> }
  /** A timer the agent set with `ctx.setTimer`, now due. */
  | { readonly kind: 'timer'; readonly id: string; readonly correlationId: string; readonly name: string; readonly data: unknown; readonly atMs: number };

/** An event a decider wants appended; generic over the union of messages the agent emits. */
export type EventToAppend<M extends Message = Message> = M extends Message
  ? {
      readonly type: M['type'];
      /** Defaults to the latest registered version of the type. */
      readonly version?: number;
      readonly data: M['data'];
    }
  : never;

/**
 * The typed way to build an event: `eventOf(JobPlanned, { jobId, ... })` checks the payload
 * against the schema's type at compile time and pins the definition's version.
 */
export function eventOf<const D extends MessageDef>(def: D, data: DataOf<D>): EventToAppend<MessageOf<D>> {
  return { type: def.type, version: def.version, data } as EventToAppend<MessageOf<D>>;
}

/** What a decider returns: events for one stream, appended atomically. */
/**
 * Thrown by `decide` to answer a command with a refusal that is not recorded on the ledger:
 * nothing is appended, nothing is retried, and the sender gets `code: "refused"` with the
 * problems. For admission (how much a sender may have recorded), like the command rate; a
 * refusal worth auditing is an event instead.
 */
export class CommandRefused extends CacoError {
  override readonly _tag = 'CommandRefused';
  constructor(
    reason: string,
    readonly problems: ReadonlyArray<{ readonly path: string; readonly reason: string }> = [],
  ) {
    super(reason);
  }
}

export interface Decision<Out extends Message = Message> {
  readonly stream: string;
  /** Defaults to 'any'. */
  readonly expected?: ExpectedRevision;
  readonly events: ReadonlyArray<EventToAppend<Out>>;
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

/**
 * An agent: a decider over its own streams. `In` is the union of messages it evolves and
 * decides on (its own events and those it observes or subscribes to), `Out` what it emits,
 * `Cmd` the commands it accepts; all default to any message, so an untyped agent still works.
 * Build `In`/`Out`/`Cmd` from the schema definitions: `MessageOf<typeof JobPlanned | …>`.
 */
export interface AgentDefinition<S, In extends Message = Message, Out extends Message = Message, Cmd extends Message = Message> {
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
   * Names among `commands` that only in-process callers queue (`Runtime.enqueue`): callers that
   * authenticate the sender their own way (the Beckn doors check a Beckn signature, the signer,
   * its registered address) and hand the agent what they checked. On the bus, where any
   * registered key may send commands, these are refused (`forbidden`) and nothing is decided.
   */
  readonly internalCommands?: ReadonlyArray<string>;
  /**
   * Effects this agent schedules, by the event type that carries them (registered types whose
   * data has `messageId`). Sent after the event is stored, from the ledger, once per event.
   */
  readonly effects?: Readonly<Record<string, EffectDeclaration>>;
  /** A new initial state for each rebuild, so a state `evolve` updates in place is never shared. */
  initialState(): S;
  evolve(state: S, event: Envelope<In>): S;
  /**
   * Opt in to snapshots (docs/writing-an-agent.md): every `every` events the runtime stores
   * the state, and a restore loads it and replays only what came after. Bump `version`
   * whenever the state's shape or `evolve` changes. Needs a snapshot store in the runtime.
   */
  readonly snapshot?: SnapshotOptions<S>;
  decide(input: AgentInput<In, Cmd>, state: S, ctx: AgentContext): ReadonlyArray<Decision<Out>> | Promise<ReadonlyArray<Decision<Out>>>;
  /**
   * Called once every decision of a `decide` is stored (after none, when it decided nothing):
   * where an agent keeps memory beside its ledger state, it moves it on here, not in `decide`.
   * An append that fails leaves it as it was, so the input tried again is decided afresh.
   */
  decided?(input: AgentInput<In, Cmd>): void;
  /** Called once after state is restored: set the first timers, open servers. */
  onStart?(ctx: AgentContext, state: S): void | Promise<void>;
  onStop?(): void | Promise<void>;
}

/** Identity helper that gives `defineAgent({...})` full type inference of the state. */
export function defineAgent<S, In extends Message = Message, Out extends Message = Message, Cmd extends Message = Message>(def: AgentDefinition<S, In, Out, Cmd>): AgentDefinition<S, In, Out, Cmd> {
  return def;
}
