import type { Logger } from '../log/logger.ts';
import { categoryOf, type Envelope, type NewEvent } from '../envelope/envelope.ts';
import { ConcurrencyError, DecodeError } from '../errors/errors.ts';
import type { Clock } from '../clock/clock.ts';
import type { Bus } from '../bus/bus.ts';
import type { CheckpointStore, EventStore } from '../store/event-store.ts';
import { derivedUuid7, type IdGenerator } from '../ids/ids.ts';
import type { MessageRegistry } from '../../schemas/index.ts';
import { subjectMatches } from '../bus/subject.ts';
import { CommandRefused, type AgentContext, type AgentDefinition, type AgentInput, type Decision } from './agent.ts';
import type { Keyring } from '../ledger/keyring.ts';
import { hashEvent } from '../ledger/seal.ts';
import { VerifiedEventStore } from '../store/verified-store.ts';
import { CorruptCommitError } from '../store/jetstream-commit.ts';
import { checkSnapshotOptions, judgeSnapshot, sealSnapshot, type AgentSnapshot, type CoveredEvent, type SnapshotStore } from './snapshot.ts';
import { readerCheckpoint, type CheckpointTagging, type ReaderCheckpoint } from './tagged-checkpoint.ts';
import { metricsHooks } from '../observability/hooks.ts';
import { ATTR, contextOf, endSpan, eventContext, rememberEventContext, startSpan, tracingEnabled, type TraceContext } from '../observability/tracing.ts';

export interface HostDeps {
  readonly site: string;
  readonly store: EventStore;
  readonly checkpoints: CheckpointStore;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly registry: MessageRegistry;
  readonly log: Logger;
  /** Hand an input to whoever serialises this agent's work (its mailbox or the lockstep scheduler). */
  readonly submit: (host: AgentHost<unknown>, input: AgentInput) => void;
  /** Report an input given up on after repeated failures. */
  readonly deadLetter: (agent: string, reason: string, payload: unknown) => Promise<void>;
  /** Attempts before an input is dead-lettered; default 5. */
  readonly maxAttempts?: number;
  /** First back-off in ms, doubled per attempt; default 50. */
  readonly backoffMs?: number;
  /**
   * Where agents that opt in (`AgentDefinition.snapshot`) keep their snapshots, and the
   * keyring that signs them with the agent's key. Without it no agent snapshots.
   */
  readonly snapshots?: { readonly store: SnapshotStore; readonly keyring: Keyring };
  /**
   * The tag of a checkpoint position, signed with the agent's key (TaggedCheckpoint). Without
   * it the checkpoint is taken as stored: whoever can write the checkpoint table could move it
   * past inputs the agent then never decides on.
   */
  readonly checkpointTag?: CheckpointTagging;
}

/** What a restore did, for tests and the logs. */
export interface RestoreReport {
  /** Position the loaded snapshot covered, or null when none was loaded. */
  readonly fromSnapshot: number | null;
  /** Why a stored snapshot was not loaded (a version change, a failed check), if one was refused. */
  readonly refused?: string;
  /** Events folded into the state by replay (after the snapshot, or all). */
  readonly replayed: number;
  /** Whether a new snapshot was taken at the end. */
  readonly snapshotTaken: boolean;
}

export interface HandleOutcome {
  readonly events: ReadonlyArray<Envelope>;
  readonly duplicate: boolean;
  readonly error?: string;
  /** The agent refused the command without recording it (CommandRefused). */
  readonly refused?: { readonly reason: string; readonly problems: ReadonlyArray<{ readonly path: string; readonly reason: string }> };
}

const CHECKPOINT_EVERY = 200;

/** What `decide` threw, told apart from a failure to append what it decided. */
class DecideFailure {
  constructor(readonly cause: unknown) {}
}

/** A command whose sender the runtime authenticated as a third party (an outside key). */
function isThirdPartyCommand(input: AgentInput): boolean {
  return input.kind === 'command' && input.command.principal?.role === 'third-party';
}

/**
 * Runs one agent instance: restores its state from its streams, turns ledger events, commands
 * and timers into inputs, runs `decide`, appends the decisions, evolves the state, remembers
 * which inputs it has handled, checkpoints, and retries a failing input with back-off.
 */
export class AgentHost<S> {
  state: S;
  /** Position of the last ledger event this agent has accepted (handled or skipped). */
  position = 0;
  private restoredHead = 0;
  /** Ids of inputs whose effects are on the ledger (the causationIds of our own events). */
  private readonly handled = new Set<string>();
  /** Our own appends not yet seen on the ledger subscription: evolved already, skip there. */
  private readonly applied = new Set<string>();
  private sinceCheckpoint = 0;
  private lastGaveUp: string | undefined;
  private readonly cats: Set<string>;
  // For snapshots (only kept up when the agent opts in): what a restore from the ledger
  // would have built — the causations of our own folded events, each folded stream's last
  // event, the last folded event — and how many events were folded.
  private ledgerHandled = new Set<string>();
  private readonly heads = new Map<string, { revision: number; hash: string }>();
  private lastFolded: CoveredEvent | null = null;
  private folded = 0;
  private sinceSnapshot = 0;
  /** Position of our own latest append (folded at once, seen on the ledger later). */
  private ownAhead = 0;
  private lastRestore: RestoreReport | undefined;
  readonly log: Logger;
  private stopped = false;
  private readonly cancelTimers = new Set<() => void>();
  private readonly checkpoint: ReaderCheckpoint;
  readonly ctx: AgentContext;

  constructor(readonly def: AgentDefinition<S>, private readonly deps: HostDeps) {
    this.state = def.initialState();
    this.cats = new Set(def.categories);
    this.log = deps.log.child({ agent: def.name });
    if (def.snapshot) checkSnapshotOptions(def.name, def.snapshot);
    const name = `agent:${def.name}`;
    this.checkpoint = readerCheckpoint(
      deps.checkpoints,
      name,
      deps.checkpointTag && {
        ...deps.checkpointTag,
        log: this.log,
        fallback: {
          position: () => this.lastHandledPosition(),
          means: 'the ledger events after it that led to no decision of this agent are decided again on its state now (those with one are not)',
        },
      },
    );
    this.ctx = {
      site: deps.site,
      agent: def.name,
      now: () => deps.clock.now(),
      nowIso: () => new Date(deps.clock.now()).toISOString(),
      log: this.log,
      newId: () => deps.ids.next(),
      setTimer: (atMs, name, data) => this.setTimer(atMs, name, data),
      publish: async (subject, data) => deps.bus.publish(subject, Buffer.from(JSON.stringify(data))),
    };
  }

  get name(): string {
    return this.def.name;
  }

  /**
   * Rebuild state from the agent's own streams and load its checkpoint. An agent that opts
   * in to snapshots starts from its snapshot when every check passes (see
   * core/runtime/snapshot.ts) and replays only the events after it; a refused snapshot means
   * a full replay, after which it is taken again.
   */
  async restore(how: { readonly checkpoint?: boolean } = {}): Promise<void> {
    let state = this.def.initialState();
    this.handled.clear();
    this.applied.clear();
    this.heads.clear();
    const head = await this.deps.store.headPosition();
    const loaded = await this.loadSnapshot(head);
    let from = 0;
    let last: CoveredEvent | null = null;
    let folded = 0;
    if ('snapshot' in loaded) {
      const snap = loaded.snapshot;
      state = loaded.state;
      for (const id of snap.handled) this.handled.add(id);
      for (const h of snap.heads) this.heads.set(h.stream, { revision: h.revision, hash: h.hash });
      from = snap.position;
      last = snap.covered;
      folded = snap.events;
    }
    const observes = (this.def.observes ?? []).length > 0;
    const opts = { from, ...(observes ? {} : { categories: [...this.cats] }) };
    const store = this.deps.store;
    const events = from > 0 && store instanceof VerifiedEventStore ? store.readAllSeeded(opts, [...this.heads].map(([stream, h]) => ({ stream, ...h }))) : store.readAll(opts);
    // What only a snapshot needs is kept only for an agent that takes them.
    const snapshotting = this.def.snapshot !== undefined && this.deps.snapshots !== undefined;
    let replayed = 0;
    for await (const e of events) {
      if (e.position > head) break;
      if (!this.cats.has(categoryOf(e.stream)) && !this.observesType(e.type)) continue;
      state = this.def.evolve(state, e);
      replayed++;
      if (snapshotting) {
        last = { position: e.position, id: e.id, hash: e.hash };
        this.heads.set(e.stream, { revision: e.revision, hash: e.hash });
      }
      if (e.source === this.def.name && e.causationId) this.handled.add(e.causationId);
    }
    this.state = state;
    this.restoredHead = head;
    this.ledgerHandled = snapshotting ? new Set(this.handled) : new Set();
    this.lastFolded = last;
    this.folded = folded + replayed;
    this.sinceSnapshot = replayed;
    // A restore to retry an input keeps the position it had: the checkpoint is only read at start.
    if (how.checkpoint !== false) this.position = await this.checkpoint.get();
    // A refused snapshot is replaced at once; otherwise one is due after `every` events.
    const due = snapshotting && ('refused' in loaded || replayed >= this.def.snapshot!.every);
    const taken = due ? await this.takeSnapshot(head) : false;
    this.lastRestore = { fromSnapshot: 'snapshot' in loaded ? loaded.snapshot.position : null, ...('refused' in loaded ? { refused: loaded.refused } : {}), replayed, snapshotTaken: taken };
    this.log.debug({ head, checkpoint: this.position, handled: this.handled.size, ...this.lastRestore }, 'restored');
  }

  /** The stored snapshot and its decoded state, when it passes every check; else why not. */
  private async loadSnapshot(head: number): Promise<{ snapshot: AgentSnapshot; state: S } | { refused: string } | { none: true }> {
    const o = this.def.snapshot;
    const deps = this.deps.snapshots;
    if (!o || !deps) return { none: true };
    let snap: AgentSnapshot | undefined;
    try {
      snap = await deps.store.load(this.def.name);
    } catch (err) {
      return this.refuseSnapshot(`it cannot be read (${errorText(err)})`);
    }
    if (!snap) return { none: true };
    // The covered event as the store holds it now, its hash recomputed from its content:
    // read without verify-on-read, which would verify the stream's whole history first.
    let held: CoveredEvent | undefined;
    if (snap.covered) {
      const raw = this.deps.store instanceof VerifiedEventStore ? this.deps.store.inner : this.deps.store;
      // A row there that cannot be read, or whose content cannot be hashed, refuses the snapshot
      // (a full replay, which quarantines the row), not the start: it threw out of restore.
      let unreadable: number | undefined;
      try {
        for await (const e of raw.readAll({ from: snap.covered.position - 1, limit: 1, onUnreadable: (u) => void (unreadable ??= u.position) })) {
          if (unreadable === undefined) held = { position: e.position, id: e.id, hash: hashEvent(e) };
        }
      } catch (err) {
        return this.refuseSnapshot(`the ledger's event at position ${snap.covered.position} cannot be read (${errorText(err)})`);
      }
      if (unreadable !== undefined) return this.refuseSnapshot(`the ledger's event at position ${unreadable} cannot be read`);
    }
    const reason = judgeSnapshot(snap, { agent: this.def.name, version: o.version, head, keys: deps.keyring }, held);
    if (reason) return this.refuseSnapshot(reason);
    try {
      return { snapshot: snap, state: o.decode ? o.decode(snap.state) : (JSON.parse(snap.state) as S) };
    } catch (err) {
      return this.refuseSnapshot(`its state does not decode (${errorText(err)})`);
    }
  }

  private refuseSnapshot(reason: string): { refused: string } {
    this.log.info({ reason }, 'snapshot not used: replaying the whole history, and taking it again');
    return { refused: reason };
  }

  /**
   * Store the state as of `position`: the caller makes sure every event up to it, and none
   * after, is folded in. A failure is logged and costs only the next restore's time.
   */
  private async takeSnapshot(position: number): Promise<boolean> {
    const o = this.def.snapshot!;
    const deps = this.deps.snapshots!;
    try {
      const snap = sealSnapshot(
        {
          agent: this.def.name,
          stateVersion: o.version,
          position,
          covered: this.lastFolded,
          events: this.folded,
          state: o.encode ? o.encode(this.state) : JSON.stringify(this.state),
          handled: [...this.ledgerHandled],
          heads: [...this.heads].map(([stream, h]) => ({ stream, revision: h.revision, hash: h.hash })),
        },
        deps.keyring,
      );
      await deps.store.save(snap);
      this.sinceSnapshot = 0;
      return true;
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'could not take a snapshot; the next restore replays more');
      return false;
    }
  }

  /** What the last restore did. */
  get restoreReport(): RestoreReport | undefined {
    return this.lastRestore;
  }

  /** Fold one event into the state, keeping what a snapshot of it must record. */
  private fold(e: Envelope): void {
    this.state = this.def.evolve(this.state, e);
    if (this.def.snapshot === undefined || this.deps.snapshots === undefined) return;
    this.folded++;
    this.sinceSnapshot++;
    if (!this.lastFolded || e.position > this.lastFolded.position) this.lastFolded = { position: e.position, id: e.id, hash: e.hash };
    this.heads.set(e.stream, { revision: e.revision, hash: e.hash });
    if (e.source === this.def.name && e.causationId) this.ledgerHandled.add(e.causationId);
  }

  async start(): Promise<void> {
    await this.def.onStart?.(this.ctx, this.state);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.cancelTimers) c();
    this.cancelTimers.clear();
    await this.def.onStop?.();
    await this.saveCheckpoint();
  }

  async saveCheckpoint(): Promise<void> {
    if (this.sinceCheckpoint === 0) return;
    this.sinceCheckpoint = 0;
    await this.checkpoint.put(this.position);
  }

  /**
   * Where to resume when the checkpoint is not one this agent wrote (or holds none though the
   * agent decided before): right after the last ledger event it decided on, the newest cause of
   * its own events among the events it takes as input, found by one read of the ledger up to the
   * head restored. Inputs are decided one at a time in ledger order, so every event before that
   * one was decided too; those after it led to no event of the agent's and are decided again
   * (an input with a decision on the ledger never is: its id is `handled`). Not the start of
   * the ledger: the agent would decide again, on today's state, on every event of its history
   * that led to no decision (an upgraded site's untagged checkpoint is such a case, once). An
   * agent that takes no ledger events as input has nothing to skip: it resumes at the head.
   */
  private async lastHandledPosition(): Promise<number> {
    if ((this.def.subscriptions ?? []).length === 0) return this.restoredHead;
    if (this.handled.size === 0) return 0;
    let found = 0;
    for await (const e of this.deps.store.readAll({ from: 0 })) {
      if (e.position > this.restoredHead) break;
      if (this.handled.has(e.id) && e.source !== this.def.name && this.wantsType(e.type)) found = e.position;
    }
    return found;
  }

  observesType(type: string): boolean {
    return (this.def.observes ?? []).some((p) => subjectMatches(p, type));
  }

  wantsType(type: string): boolean {
    return (this.def.subscriptions ?? []).some((p) => subjectMatches(p, type));
  }

  /**
   * Look at the next ledger event (in position order) and return the input to handle, if any.
   * Keeps the state in step with events in our categories written by others.
   */
  accept(e: Envelope): AgentInput | null {
    if (e.position <= this.position) return null;
    this.position = e.position;
    this.sinceCheckpoint++;
    if (this.cats.has(categoryOf(e.stream))) {
      if (this.applied.delete(e.id)) return null;
      if (e.position > this.restoredHead) this.fold(e);
    } else if (e.position > this.restoredHead && this.observesType(e.type)) {
      this.fold(e);
    }
    if (e.source === this.def.name) return null;
    if (!this.wantsType(e.type)) return null;
    if (this.handled.has(e.id)) return null;
    return { kind: 'event', id: e.id, correlationId: e.correlationId, event: e };
  }

  /** After a ledger input was handled: write the checkpoint now and then. */
  async afterLedgerInput(): Promise<void> {
    if (this.sinceCheckpoint >= CHECKPOINT_EVERY) await this.saveCheckpoint();
    // A snapshot only when no append of ours lies beyond this position: then the state holds
    // exactly the events up to here (own appends are folded before the ledger hands them back).
    const o = this.def.snapshot;
    if (o && this.deps.snapshots && this.sinceSnapshot >= o.every) {
      const upTo = Math.max(this.position, this.restoredHead);
      if (this.ownAhead <= upTo) await this.takeSnapshot(upTo);
    }
  }

  /**
   * Why the ledger refused this agent's appends until it gave up on its last input, until an
   * input succeeds: an agent on a head that does not verify gives up on every input while its
   * subscription stays alive, so the health check must ask.
   */
  get gaveUp(): string | undefined {
    return this.lastGaveUp;
  }

  hasHandled(inputId: string): boolean {
    return this.handled.has(inputId);
  }

  /** Run `decide` for one input and append its decisions; retries with back-off on failure. */
  async handle(input: AgentInput): Promise<HandleOutcome> {
    if (this.handled.has(input.id)) return { events: [], duplicate: true };
    if (!tracingEnabled()) return this.handleInput(input, undefined);
    const parent = contextOf(input) ?? (input.kind === 'event' ? eventContext(input.event.id) : undefined);
    const s = startSpan(`agent ${this.def.name} handle ${inputType(input)}`, parent, { [ATTR.agent]: this.def.name, [ATTR.site]: this.deps.site, [ATTR.messageId]: input.id, [ATTR.correlationId]: input.correlationId, [ATTR.type]: inputType(input), ...(input.kind === 'event' && input.event.causationId ? { [ATTR.causationId]: input.event.causationId } : {}), ...(input.kind === 'command' && input.command.causationId ? { [ATTR.causationId]: input.command.causationId } : {}) });
    const outcome = await this.handleInput(input, s?.ctx);
    endSpan(s, outcome.error);
    return outcome;
  }

  private async handleInput(input: AgentInput, trace: TraceContext | undefined): Promise<HandleOutcome> {
    const max = this.deps.maxAttempts ?? 5;
    let lastError: unknown;
    for (let attempt = 1; attempt <= max && !this.stopped; attempt++) {
      try {
        const events = await this.attempt(input, trace);
        this.handled.add(input.id);
        this.lastGaveUp = undefined;
        return { events, duplicate: false };
      } catch (thrown) {
        const fromDecide = thrown instanceof DecideFailure;
        const err = fromDecide ? thrown.cause : thrown;
        // An answer, not a failure: not retried, not dead-lettered, and not marked handled
        // (nothing of it is on the ledger, so the same command sent later is decided afresh).
        if (err instanceof CommandRefused && input.kind === 'command') return { events: [], duplicate: false, refused: { reason: err.message, problems: err.problems } };
        lastError = err;
        if (fromDecide && isThirdPartyCommand(input)) return this.giveUpOnOutsider(input, err);
        const log = this.log.child({ type: inputType(input), correlationId: input.correlationId });
        if (err instanceof ConcurrencyError) {
          // Someone else wrote our stream: rebuild state from the ledger and decide again.
          log.info({ err: err.message, attempt }, 'concurrency conflict; restoring and retrying');
        } else {
          log.error({ err: errorText(err), attempt }, 'agent failed handling input; restarting with back-off');
          await sleep((this.deps.backoffMs ?? 50) * 2 ** (attempt - 1));
        }
        await this.restore({ checkpoint: false });
      }
    }
    const reason = errorText(lastError);
    // Only the ledger refusing our appends is the agent's health: one poison input is a dead
    // letter and the agent goes on, but a head that does not verify refuses every append.
    if (lastError instanceof CorruptCommitError && !this.stopped) this.lastGaveUp = `gave up after ${max} attempts: ${reason}`;
    await this.deps.deadLetter(this.def.name, `gave up after ${max} attempts: ${reason}`, input);
    return { events: [], duplicate: false, error: reason };
  }

  /**
   * A third party's command on which `decide` threw: dead-lettered at once, not retried. The
   * same command fails the same way, and each retry (a back-off, then the state restored from
   * the ledger) held every other input of the agent: one tenant's malformed command every
   * 1.6 s kept the compute agent busy for everyone. The reply does not carry the error's text,
   * which is the site's (the dead letter and the log keep it).
   */
  private async giveUpOnOutsider(input: AgentInput, err: unknown): Promise<HandleOutcome> {
    const reason = errorText(err);
    this.log.error({ type: inputType(input), correlationId: input.correlationId, err: reason }, "agent failed deciding a third party's command; dead-lettered without retrying");
    await this.deps.deadLetter(this.def.name, `decide failed on a third party's command (not retried): ${reason}`, input);
    return { events: [], duplicate: false, error: `agent "${this.def.name}" failed on this command; it was not retried (the site's log and dead letters say why)` };
  }

  private async attempt(input: AgentInput, trace: TraceContext | undefined): Promise<Envelope[]> {
    const decideSpan = trace ? startSpan(`agent ${this.def.name} decide`, trace, { [ATTR.agent]: this.def.name, [ATTR.correlationId]: input.correlationId }) : undefined;
    let decisions: ReadonlyArray<Decision>;
    try {
      decisions = await this.def.decide(input, this.state, this.ctx);
    } catch (err) {
      endSpan(decideSpan, err);
      throw new DecideFailure(err);
    }
    endSpan(decideSpan);
    const out: Envelope[] = [];
    const inputMs = inputTimeMs(input, this.deps.clock);
    for (let d = 0; d < decisions.length; d++) {
      const decision = decisions[d]!;
      if (decision.events.length === 0) continue;
      const events = this.toNewEvents(decision, input, inputMs, d);
      const appendSpan = trace ? startSpan(`agent ${this.def.name} append`, trace, { [ATTR.agent]: this.def.name, [ATTR.stream]: decision.stream, [ATTR.correlationId]: input.correlationId, [ATTR.causationId]: input.id, 'caco.events': events.map((e) => `${e.type} ${e.id}`) }) : undefined;
      let res: Awaited<ReturnType<EventStore['append']>>;
      try {
        res = await this.deps.store.append(decision.stream, events, decision.expected ?? 'any');
      } catch (err) {
        endSpan(appendSpan, err);
        throw err;
      }
      endSpan(appendSpan);
      metricsHooks.appended(this.deps.site, res.events);
      for (const e of res.events) {
        rememberEventContext(e.id, appendSpan?.ctx);
        this.fold(e);
        if (e.position > this.position) this.applied.add(e.id);
        if (e.position > this.ownAhead) this.ownAhead = e.position;
        out.push(e);
      }
    }
    this.def.decided?.(input);
    return out;
  }

  private toNewEvents(decision: Decision, input: AgentInput, inputMs: number, d: number): NewEvent[] {
    const time = new Date(this.deps.clock.now()).toISOString();
    return decision.events.map((e, i) => {
      const version = e.version ?? this.deps.registry.latestVersion(e.type);
      if (version === undefined) throw new DecodeError(e.type, [{ path: 'type', reason: `agent "${this.def.name}" emitted an unregistered event type "${e.type}"` }]);
      const decoded = this.deps.registry.decode(e.type, version, e.data);
      if (!decoded.ok) throw new DecodeError(e.type, decoded.problems);
      return {
        id: derivedUuid7(inputMs, `${this.def.name}|${input.id}|${d}|${i}`),
        type: e.type,
        version,
        time,
        source: this.def.name,
        correlationId: input.correlationId,
        causationId: input.id,
        data: e.data,
      };
    });
  }

  private setTimer(atMs: number, name: string, data: unknown): void {
    if (this.stopped) return;
    const cancel = this.deps.clock.setTimer(atMs, () => {
      this.cancelTimers.delete(cancel);
      if (this.stopped) return;
      const id = this.deps.ids.next();
      this.deps.submit(this as AgentHost<unknown>, { kind: 'timer', id, correlationId: id, name, data: data ?? null, atMs });
    });
    this.cancelTimers.add(cancel);
  }
}

function inputType(input: AgentInput): string {
  return input.kind === 'event' ? input.event.type : input.kind === 'command' ? input.command.type : `timer:${input.name}`;
}

function inputTimeMs(input: AgentInput, clock: Clock): number {
  if (input.kind === 'timer') return input.atMs;
  const t = Date.parse(input.kind === 'event' ? input.event.time : input.command.time);
  return Number.isFinite(t) ? t : clock.now();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
