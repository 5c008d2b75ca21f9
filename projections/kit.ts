import type { EnvelopeFields, Message } from '../core/envelope/index.ts';
import type { MessageDef, MessageOf } from '../schemas/index.ts';

/**
 * A projection is a pure fold from events to a read model: its name, the event definitions it
 * reads, its initial state and `evolve`. `fold` and `combine` are the only loops; each
 * projection writes only what one event does to its state.
 */

/**
 * An event as a fold reads it: the message (`type`, `data`, typed by the schema of `type`) and
 * whichever envelope fields the caller has. Stored envelopes are fold events; so are the plain
 * `{ type, data }` messages tests and tools fold.
 */
export type FoldEvent<M extends Message = Message> = M extends Message ? Partial<EnvelopeFields> & { readonly type: M['type']; readonly data: M['data'] } : never;

/** Envelope fields a projection needs on every event it folds (the audit fold reads the chain). */
export type Needs<F extends keyof EnvelopeFields> = Pick<EnvelopeFields, F>;

export interface Projection<S, E extends Message = Message, F extends keyof EnvelopeFields = never> {
  readonly name: string;
  /** The definitions whose events it folds; `'all'` folds every event, whatever its type (then E is `Message`: the payload is not typed). */
  readonly handles: ReadonlyArray<MessageDef> | 'all';
  readonly initial: S;
  /** What one event does to the state; called only with the events `handles` names. */
  evolve(state: S, event: FoldEvent<E> & Needs<F>): S;
}

/** Any event a projection may be handed: those it does not handle leave its state as it is. */
export type InputOf<P> = P extends Projection<unknown, Message, infer F> ? FoldEvent & Needs<F> : never;
export type StateOf<P> = P extends Projection<infer S, Message, never> ? S : never;

/** A projection over the events of `handles`, its `evolve` typed by their schemas. */
export function projection<S, const Defs extends ReadonlyArray<MessageDef>, F extends keyof EnvelopeFields = never>(p: {
  readonly name: string;
  readonly handles: Defs;
  readonly initial: S;
  readonly evolve: (state: S, event: FoldEvent<MessageOf<Defs[number]>> & Needs<F>) => S;
}): Projection<S, MessageOf<Defs[number]>, F> {
  return { name: p.name, handles: p.handles, initial: p.initial, evolve: p.evolve };
}

const typeTests = new WeakMap<object, (e: FoldEvent) => boolean>();

/**
 * The type guard of a projection's handled definitions, as `isOneOf` (core/envelope/envelope.ts) is for
 * envelopes: by type name only, which is sound because events are verified and were
 * schema-checked on append before any fold sees them.
 */
function handlesOf<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>): (e: FoldEvent & Needs<F>) => e is FoldEvent<E> & Needs<F> {
  let test = typeTests.get(p);
  if (!test) {
    const handles = p.handles;
    if (handles === 'all') test = () => true;
    else {
      const types = new Set<string>(handles.map((d) => d.type));
      test = (e) => types.has(e.type);
    }
    typeTests.set(p, test);
  }
  const handled = test;
  return (e: FoldEvent & Needs<F>): e is FoldEvent<E> & Needs<F> => handled(e);
}

/** One event folded into one state: the projection's `evolve` if it handles the event, else the state as it was. */
export function step<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>, state: S, event: FoldEvent & Needs<F>): S {
  return handlesOf(p)(event) ? p.evolve(state, event) : state;
}

/** Fold events into a state, from the projection's initial state or from `from`. */
export function fold<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>, events: Iterable<FoldEvent & Needs<F>>, from: S = p.initial): S {
  const handles = handlesOf(p);
  let s = from;
  for (const e of events) if (handles(e)) s = p.evolve(s, e);
  return s;
}

/** Fold an asynchronous stream (a store's `readAll()`). */
export async function foldAsync<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>, events: AsyncIterable<FoldEvent & Needs<F>>, from: S = p.initial): Promise<S> {
  const handles = handlesOf(p);
  let s = from;
  for await (const e of events) if (handles(e)) s = p.evolve(s, e);
  return s;
}

/** `evolve` as a plain function of any event, for callers that fold one event at a time. */
export function evolverOf<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>): (state: S, event: FoldEvent & Needs<F>) => S {
  const handles = handlesOf(p);
  return (state, event) => (handles(event) ? p.evolve(state, event) : state);
}

// Parts differ in state and event types; `evolve` is a method, so its parameters compare bivariantly and any projection fits.
type AnyProjection = Projection<unknown, Message, never>;
type PartsEvent<P extends Record<string, AnyProjection>> = { [K in keyof P]: P[K] extends Projection<unknown, infer E, never> ? E : never }[keyof P];
type PartsNeeds<P extends Record<string, AnyProjection>> = { [K in keyof P]: P[K] extends Projection<unknown, Message, infer F> ? F : never }[keyof P];
type PartsState<P extends Record<string, AnyProjection>> = { readonly [K in keyof P]: StateOf<P[K]> };

const handledDefs = (p: AnyProjection): ReadonlyArray<MessageDef> => (p.handles === 'all' ? [] : p.handles);

/**
 * Several projections as one, whose state is the record of theirs: each part folds exactly the
 * events it would fold alone. A state no part changes is returned as it was.
 */
export function combine<P extends Record<string, AnyProjection>>(parts: P, name = `combine(${Object.keys(parts).join(', ')})`): Projection<PartsState<P>, PartsEvent<P>, PartsNeeds<P>> {
  const keys: Array<keyof P & string> = Object.keys(parts);
  const evolvers = keys.map((k) => [k, evolverOf(parts[k]!)] as const);
  const all = keys.some((k) => parts[k]!.handles === 'all');
  const handles = all ? 'all' : [...new Set(keys.flatMap((k) => handledDefs(parts[k]!)))];
  const initial = Object.fromEntries(keys.map((k) => [k, parts[k]!.initial])) as PartsState<P>;
  return {
    name,
    handles,
    initial,
    evolve(state, event) {
      let next: Record<string, unknown> | undefined;
      for (const [k, evolve] of evolvers) {
        const before = state[k];
        const after = evolve(before, event);
        if (after !== before) (next ??= { ...state })[k] = after;
      }
      return (next ?? state) as PartsState<P>;
    },
  };
}
