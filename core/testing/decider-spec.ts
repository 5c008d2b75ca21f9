import { deepStrictEqual } from 'node:assert/strict';
import type { Envelope, Message } from '../envelope/envelope.ts';
import { GENESIS_HASH } from '../envelope/envelope.ts';
import { derivedUuid7 } from '../ids/index.ts';
import { silentLogger } from '../log/index.ts';
import type { AgentContext, AgentDefinition, AgentInput, CommandMessage, Decision } from '../runtime/agent.ts';

/**
 * Given-when-then tests for an agent's decider, in the spirit of Emmett's
 * `DeciderSpecification`: no store, no bus, no runtime, just `initialState`, `evolve` and
 * `decide` with a context whose clock and ids are fixed.
 *
 *   const spec = DeciderSpec.for(createComputeAgent(deps));
 *   (await spec.given([submitted]).at('2023-07-03T10:00:00Z').when(tick)).expectEvents([{ type: 'compute.job.planned' }]);
 *
 * `given` takes the agent's past events as `{ type, data }` (stream, revision, ids and hashes
 * are filled in: a decider must not depend on them) or as full envelopes.
 */

/** An event of the agent's history: its message, and optionally its stream or other fields. */
export type GivenEvent<In extends Message> = In extends Message ? { readonly type: In['type']; readonly data: In['data'] } & Partial<Omit<Envelope<In>, 'type' | 'data'>> : never;

/** What `when` recorded besides the decisions: timers set and bus messages published. */
export interface SideEffects {
  readonly timers: ReadonlyArray<{ readonly atMs: number; readonly name: string; readonly data: unknown }>;
  readonly published: ReadonlyArray<{ readonly subject: string; readonly data: unknown }>;
}

export interface Outcome<S, Out extends Message> extends SideEffects {
  readonly state: S;
  readonly decisions: ReadonlyArray<Decision<Out>>;
}

/** An outcome with its assertions (named `expect…`, not `then`, so it is not a thenable). */
export interface Checked<S, Out extends Message> extends Outcome<S, Out> {
  /** The decisions, exactly (streams, expected revisions, events in order). */
  expectDecisions(expected: ReadonlyArray<Decision<Out>>): void;
  /** The events of every decision in order, by type, and by data where an entry gives it. */
  expectEvents(expected: ReadonlyArray<{ readonly type: Out['type']; readonly data?: unknown }>): void;
}

export class DeciderSpec<S, In extends Message, Out extends Message, Cmd extends Message> {
  private constructor(
    private readonly agent: AgentDefinition<S, In, Out, Cmd>,
    private readonly history: ReadonlyArray<GivenEvent<In>> = [],
    private readonly nowMs: number = Date.parse('2023-07-03T00:00:00Z'),
    private readonly site: string = 'test',
  ) {}

  static for<S, In extends Message, Out extends Message, Cmd extends Message>(agent: AgentDefinition<S, In, Out, Cmd>): DeciderSpec<S, In, Out, Cmd> {
    return new DeciderSpec(agent);
  }

  /** The agent's past: folded with `evolve`, in order, onto `initialState()`. */
  given(events: ReadonlyArray<GivenEvent<In>>): DeciderSpec<S, In, Out, Cmd> {
    return new DeciderSpec(this.agent, [...this.history, ...events], this.nowMs, this.site);
  }

  /** The clock's time when the input is handled (ISO 8601 or ms). */
  at(time: string | number): DeciderSpec<S, In, Out, Cmd> {
    const ms = typeof time === 'number' ? time : Date.parse(time);
    if (!Number.isFinite(ms)) throw new Error(`DeciderSpec.at: "${String(time)}" is not a time`);
    return new DeciderSpec(this.agent, this.history, ms, this.site);
  }

  /** The state after the history, without deciding anything. */
  state(): S {
    let s = this.agent.initialState();
    this.history.forEach((g, i) => {
      s = this.agent.evolve(s, this.envelope(g, i));
    });
    return s;
  }

  /** Hand the agent one input and return what it decided, the timers it set and what it published. */
  async when(input: AgentInput<In, Cmd>): Promise<Checked<S, Out>> {
    const state = this.state();
    const timers: Array<SideEffects['timers'][number]> = [];
    const published: Array<SideEffects['published'][number]> = [];
    let n = 0;
    const ctx: AgentContext = {
      site: this.site,
      agent: this.agent.name,
      now: () => this.nowMs,
      nowIso: () => new Date(this.nowMs).toISOString(),
      log: silentLogger(),
      newId: () => derivedUuid7(this.nowMs, `${this.agent.name}|spec|${n++}`),
      setTimer: (atMs, name, data) => void timers.push({ atMs, name, data }),
      publish: async (subject, data) => void published.push({ subject, data }),
    };
    const decisions = await this.agent.decide(input, state, ctx);
    // As the runtime does once the decisions are stored: a spec's decisions count as stored.
    this.agent.decided?.(input);
    const outcome: Outcome<S, Out> = { state, decisions, timers, published };
    return {
      ...outcome,
      expectDecisions(expected) {
        deepStrictEqual(decisions, expected);
      },
      expectEvents(expected) {
        const got = decisions.flatMap((d) => d.events.map((e) => ({ type: e.type, data: e.data })));
        deepStrictEqual(
          got.map((e, i) => (expected[i] && 'data' in expected[i]! ? e : { type: e.type })),
          expected.map((e) => ('data' in e ? { type: e.type, data: e.data } : { type: e.type })),
        );
      },
    };
  }

  /** The decider's input for a fact of another agent. */
  static event<In extends Message>(e: GivenEvent<In>, id = 'input-1'): AgentInput<In, never> {
    const env = { ...DeciderSpec.fill(e, 0) } as Envelope<In>;
    return { kind: 'event', id, correlationId: env.correlationId, event: env };
  }

  /** The decider's input for a command (signed by `principal` if given). */
  static command<Cmd extends Message>(c: { readonly type: Cmd['type']; readonly data: Cmd['data'] } & Partial<Omit<CommandMessage<Cmd>, 'type' | 'data'>>, id = 'command-1'): AgentInput<never, Cmd> {
    const cmd = { id, version: 1, time: new Date(0).toISOString(), source: 'spec', correlationId: id, causationId: null, ...c } as CommandMessage<Cmd>;
    return { kind: 'command', id: cmd.id, correlationId: cmd.correlationId, command: cmd };
  }

  /** The decider's input for a timer that is due. */
  static timer(name: string, atMs: number, data: unknown = undefined, id = `timer-${name}-${atMs}`): AgentInput<never, never> {
    return { kind: 'timer', id, correlationId: id, name, data, atMs };
  }

  private envelope(g: GivenEvent<In>, i: number): Envelope<In> {
    return DeciderSpec.fill(g, i) as Envelope<In>;
  }

  private static fill<In extends Message>(g: GivenEvent<In>, i: number): Envelope {
    const id = g.id ?? `given-${i}`;
    return {
      id,
      version: 1,
      stream: 'given',
      revision: i,
      position: i + 1,
      time: new Date(0).toISOString(),
      source: 'given',
      correlationId: id,
      causationId: null,
      prevHash: GENESIS_HASH,
      hash: GENESIS_HASH,
      sig: '',
      ...g,
    } as Envelope;
  }
}
