import { Result, Schema } from 'effect';
import type { EnvelopeFields, Message } from '../core/envelope/index.ts';
import { cacoUpcasters, decodeWith, type MessageDef, type MessageOf, type Upcasters } from '../schemas/index.ts';

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

/**
 * An event a projection would read by its type but does not fold: its version is not one the
 * projection handles (after upcasting), or its payload does not decode with that version's
 * schema. Verification checks who wrote an event, not its shape: an event of a newer release
 * sharing the ledger, or of any party able to write the type, reaches the folds as it was
 * written, and folding it as if it had the shape `evolve` expects would throw or fold junk.
 */
export class Skipped {
  constructor(
    readonly type: string,
    readonly version: number,
    readonly eventId: string | null,
    readonly projection: string,
    readonly reason: string,
  ) {}

  /** `type@version`, what skips are counted by. */
  get key(): string {
    return `${this.type}@${this.version}`;
  }
}

/** What a projection makes of one event: the event to fold (upcast when it had to be), `null` when it does not read the type, or why it skipped it. */
type Reader = (e: FoldEvent) => FoldEvent | Skipped | null;

const readers = new WeakMap<object, Reader>();
/** Projections that check each event themselves (`combine`'s: each part checks what it reads). */
const selfChecking = new WeakSet<object>();

let upcasters: Upcasters | undefined;

/**
 * What one event is, checked once however many projections read it (a combined fold hands the
 * same event to every part): upcast, and its payload decoded per definition.
 */
let memo: { readonly e: FoldEvent; up: FoldEvent | Error | undefined; readonly decoded: Map<MessageDef, string | null> } | undefined;

function memoOf(e: FoldEvent): NonNullable<typeof memo> {
  if (memo?.e !== e) memo = { e, up: undefined, decoded: new Map() };
  return memo;
}

function upcastOf(e: FoldEvent & { readonly version: number }): FoldEvent | Error {
  const m = memoOf(e);
  if (m.up === undefined) {
    try {
      upcasters ??= cacoUpcasters();
      m.up = upcasters.upcastEnvelope(e);
    } catch (err) {
      m.up = err instanceof Error ? err : new Error(String(err));
    }
  }
  return m.up;
}

const decoders = new WeakMap<MessageDef, (data: unknown) => boolean>();

/**
 * `null` when `e.data` decodes with `def`'s schema, else the first problem. Fields the schema
 * does not name are let through: no fold reads them (the registry refuses them on append, and
 * checking for them here would treble the cost of the check).
 */
function problemOf(def: MessageDef, e: FoldEvent): string | null {
  const m = memoOf(e);
  const known = m.decoded.get(def);
  if (known !== undefined) return known;
  let ok = decoders.get(def);
  if (!ok) {
    const decode = Schema.decodeUnknownResult(def.data);
    ok = (data) => Result.isSuccess(decode(data));
    decoders.set(def, ok);
  }
  let problem: string | null = null;
  if (!ok(e.data)) {
    const r = decodeWith(def.data, e.data, 'data');
    const first = r.ok ? undefined : r.problems.find((x) => !/excess|unexpected/i.test(x.reason)) ?? r.problems[0];
    problem = `does not decode as v${def.version}: ${first ? `${first.path || 'data'}: ${first.reason}` : 'refused'}`;
  }
  m.decoded.set(def, problem);
  return problem;
}

/**
 * How a projection reads an event. By type first; then an event with a `version` (every
 * stored envelope) is folded only at a (type, version) the projection handles — upcast to the
 * latest version when its own is not one — and only when its payload decodes with that
 * version's schema; anything else is `Skipped`, with why. A plain `{ type, data }` with no
 * version (what tests and tools fold) is the caller's to vouch for, and is folded as it is.
 */
function readerOf(p: Pick<Projection<unknown>, 'name' | 'handles'>): Reader {
  let reader = readers.get(p);
  if (reader) return reader;
  const handles = p.handles;
  if (handles === 'all') reader = (e) => e;
  else {
    const byType = new Map<string, Map<number, MessageDef>>();
    for (const d of handles) {
      const vs = byType.get(d.type) ?? new Map<number, MessageDef>();
      vs.set(d.version, d);
      byType.set(d.type, vs);
    }
    const name = p.name;
    const checks = !selfChecking.has(p);
    reader = (e) => {
      const versions = byType.get(e.type);
      if (versions === undefined) return null;
      const version = e.version;
      if (!checks || version === undefined) return e;
      let read: FoldEvent = e;
      let def = versions.get(version);
      if (def === undefined) {
        const up = upcastOf(e as FoldEvent & { readonly version: number });
        if (up instanceof Error) return new Skipped(e.type, version, e.id ?? null, name, up.message);
        def = versions.get(up.version!);
        if (def === undefined) return new Skipped(e.type, version, e.id ?? null, name, `${name} reads ${e.type} at ${[...versions.keys()].map((v) => `v${v}`).join(', ')}, not v${version}`);
        read = up;
      }
      const problem = problemOf(def, read);
      return problem === null ? read : new Skipped(e.type, version, e.id ?? null, name, problem);
    };
  }
  readers.set(p, reader);
  return reader;
}

/** The event `p` folds for `e` (`e` itself, or upcast), `null` when `p` does not read its type, or why `p` skips it. */
export function readOf<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>, e: FoldEvent & Needs<F>): (FoldEvent<E> & Needs<F>) | Skipped | null {
  return readerOf(p)(e) as (FoldEvent<E> & Needs<F>) | Skipped | null;
}

/** What one event did to one state: the state after it, and why the event was skipped when it was. */
export interface Stepped<S> {
  readonly state: S;
  readonly skipped: Skipped | null;
}

/** One event folded into one state, saying whether the projection skipped it (see `readOf`). */
export function stepChecked<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>, state: S, event: FoldEvent & Needs<F>): Stepped<S> {
  const r = readOf(p, event);
  if (r === null) return { state, skipped: null };
  if (r instanceof Skipped) return { state, skipped: r };
  return { state: p.evolve(state, r), skipped: null };
}

/** One event folded into one state: the projection's `evolve` if it handles the event, else the state as it was. */
export function step<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>, state: S, event: FoldEvent & Needs<F>): S {
  return evolverOf(p)(state, event);
}

/** Fold events into a state, from the projection's initial state or from `from`. */
export function fold<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>, events: Iterable<FoldEvent & Needs<F>>, from: S = p.initial): S {
  const evolve = evolverOf(p);
  let s = from;
  for (const e of events) s = evolve(s, e);
  return s;
}

/** Fold an asynchronous stream (a store's `readAll()`). */
export async function foldAsync<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>, events: AsyncIterable<FoldEvent & Needs<F>>, from: S = p.initial): Promise<S> {
  const evolve = evolverOf(p);
  let s = from;
  for await (const e of events) s = evolve(s, e);
  return s;
}

/** `evolve` as a plain function of any event, for callers that fold one event at a time: an event the projection does not read, or skips (`readOf`), leaves the state as it was. */
export function evolverOf<S, E extends Message, F extends keyof EnvelopeFields>(p: Projection<S, E, F>): (state: S, event: FoldEvent & Needs<F>) => S {
  const read = readerOf(p);
  return (state, event) => {
    const r = read(event);
    return r === null || r instanceof Skipped ? state : p.evolve(state, r as FoldEvent<E> & Needs<F>);
  };
}

// Parts differ in state and event types; `evolve` is a method, so its parameters compare bivariantly and any projection fits.
type AnyProjection = Projection<unknown, Message, never>;
type PartsEvent<P extends Record<string, AnyProjection>> = { [K in keyof P]: P[K] extends Projection<unknown, infer E, never> ? E : never }[keyof P];
type PartsNeeds<P extends Record<string, AnyProjection>> = { [K in keyof P]: P[K] extends Projection<unknown, Message, infer F> ? F : never }[keyof P];
type PartsState<P extends Record<string, AnyProjection>> = { readonly [K in keyof P]: StateOf<P[K]> };

const handledDefs = (p: AnyProjection): ReadonlyArray<MessageDef> => (p.handles === 'all' ? [] : p.handles);

export interface CombineOptions<S> {
  /**
   * What an event some part skipped (`readOf`) does to the combined state, once per event
   * however many parts skipped it (the first part's reason is given), after the parts that
   * read it folded it. Default: nothing.
   */
  readonly onSkip?: (state: S, skipped: Skipped) => S;
  /**
   * The last ledger position the combined state has folded: an event at or below it (a
   * redelivery, a resume from an overlapping position) is passed over whole. Without it, totals
   * stayed right but counts that add up (plans published, Beckn refusals, job starts) doubled.
   */
  readonly lastFolded?: (state: S) => number;
}

/**
 * Several projections as one, whose state is the record of theirs: each part folds exactly the
 * events it would fold alone. A state no part changes is returned as it was.
 */
export function combine<P extends Record<string, AnyProjection>>(parts: P, name = `combine(${Object.keys(parts).join(', ')})`, o: CombineOptions<PartsState<P>> = {}): Projection<PartsState<P>, PartsEvent<P>, PartsNeeds<P>> {
  const keys: Array<keyof P & string> = Object.keys(parts);
  const readers = keys.map((k) => [k, parts[k]!, readerOf(parts[k]!)] as const);
  const all = keys.some((k) => parts[k]!.handles === 'all');
  const handles = all ? 'all' : [...new Set(keys.flatMap((k) => handledDefs(parts[k]!)))];
  const initial = Object.fromEntries(keys.map((k) => [k, parts[k]!.initial])) as PartsState<P>;
  const onSkip = o.onSkip;
  const lastFolded = o.lastFolded;
  const combined: Projection<PartsState<P>, PartsEvent<P>, PartsNeeds<P>> = {
    name,
    handles,
    initial,
    evolve(state, event) {
      if (lastFolded && 'position' in event && typeof event.position === 'number' && event.position > 0 && event.position <= lastFolded(state)) return state;
      let next: Record<string, unknown> | undefined;
      let skipped: Skipped | undefined;
      for (const [k, part, read] of readers) {
        const r = read(event);
        if (r === null) continue;
        if (r instanceof Skipped) {
          skipped ??= r;
          continue;
        }
        const before = state[k];
        const after = part.evolve(before, r);
        if (after !== before) (next ??= { ...state })[k] = after;
      }
      const out = (next ?? state) as PartsState<P>;
      return skipped && onSkip ? onSkip(out, skipped) : out;
    },
  };
  // Its parts check what they read: the combined projection passes on every event of a type one of them reads.
  selfChecking.add(combined);
  return combined;
}
