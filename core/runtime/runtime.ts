import { LoopTurns } from './loop-turns.ts';
import { createHash } from 'node:crypto';
import type { Bus, BusMessage, Subscription } from '../bus/bus.ts';
import type { Clock } from '../clock/clock.ts';
import { ENVELOPE_ID, type Envelope } from '../envelope/envelope.ts';
import type { IdGenerator } from '../ids/ids.ts';
import type { Keyring } from '../ledger/keyring.ts';
import type { SnapshotStore } from './snapshot.ts';
import type { KeyResolver } from '../ledger/key-resolver.ts';
import type { Logger } from '../log/logger.ts';
import type { CheckpointStore, EventStore, QuarantineStore, StoreSubscription, SubscriptionErrorHandler, SubscriptionStatus } from '../store/event-store.ts';
import { VerifiedEventStore, type QuarantineCounters, type VerifiedCursor } from '../store/verified-store.ts';
import { MemoryQuarantineStore, quarantineOf } from '../store/memory-quarantine.ts';
import { InvalidArgumentError, TimeoutError } from '../errors/errors.ts';
import type { MessageRegistry } from '../../schemas/index.ts';
import type { Upcasters } from '../../schemas/index.ts';
import { cacoUpcasters } from '../../schemas/index.ts';
import type { AgentDefinition, AgentInput, CommandMessage } from './agent.ts';
import { AgentHost, type HandleOutcome } from './agent-host.ts';
import { DeadLetters } from './dead-letter.ts';
import { claimedKeyId, commandTypeOfSubject, intakeEvent, intakeParsedCommand, parseCommandJson, UNAUTHENTICATED } from './intake.ts';
import { CallbackQueue } from './fair-queue.ts';
import { CommandAdmission } from './command-admission.ts';
import { CommandBudgets, type CommandPartyBudget } from './command-budget.ts';
import { DEFAULT_REFUSAL_RECORDS, RefusalRecords, type RefusalRecordLimit } from './refusal-records.ts';
import { SiteIdentity, type CommandIdentity } from '../identity/site-identity.ts';
import type { Principal } from '../identity/key-entry.ts';
import { DEFAULT_COMMAND_LIFETIME_MS, type CommandBinding } from '../identity/command-binding.ts';
import { Mailbox } from './mailbox.ts';
import { Relay } from './relay.ts';
import { EffectsReactor } from './effects-reactor.ts';
import { clashesWithTagSlots, siteCheckpointTag, storedHashAt, type CheckpointTagging } from './tagged-checkpoint.ts';
import { subjects } from './subjects.ts';
import { LiveSignal } from '../store/catch-up.ts';
import { DEFAULT_COMMAND_LIMITS, summarizePayload, type InputLimits } from './input-limits.ts';
import type { RateLimit } from './rate-limit.ts';
import { ATTR, SpanKind, attachContext, contextFromHeaders, endSpan, envelopeAttributes, startSpan, traceHeaders, type TraceContext } from '../observability/tracing.ts';
import { judgeHealth, type RuntimeHealth as SubscriptionsHealth, type SubscriptionProbe } from '../observability/health.ts';
import { metricsHooks } from '../observability/hooks.ts';

/** What GET /health reports: the subscriptions judged with their lag, plus every reader's state and the quarantine counters. */
export type RuntimeHealth = SubscriptionsHealth & Omit<ReaderHealth, 'ok'>;

export interface RuntimeOptions {
  readonly site: string;
  readonly store: EventStore;
  readonly checkpoints: CheckpointStore;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly registry: MessageRegistry;
  /**
   * How events of an older version of their type are read at its latest (schemas/upcasters.ts):
   * every event the agents read, from the store or the bus, is upgraded after it was verified.
   * Default: CACO's upcasters for the registry's types, checked against it at construction.
   */
  readonly upcasters?: Upcasters;
  readonly keyring: Keyring;
  readonly log: Logger;
  /**
   * `lockstep`: one input at a time across all agents, ledger events before queued inputs;
   * with a simulated clock the same inputs give the same ledger. `independent`: each agent
   * has its own mailbox and ledger subscription (live operation).
   */
  readonly delivery: 'lockstep' | 'independent';
  /** Publish every stored event on the bus (default true). */
  readonly relay?: boolean;
  /**
   * Signs the commands this runtime sends and authenticates the ones it receives. Every
   * command on the bus must be signed by a registered key; without this option the runtime
   * keeps a registry in memory and registers its own parties in it on first use.
   */
  readonly identity?: CommandIdentity;
  /** Size and nesting bounds on commands from the bus (default 64 KB, 32 levels). */
  readonly commandLimits?: InputLimits;
  /**
   * Commands from the bus that may wait to be checked, per agent (DEFAULT_COMMAND_BACKLOG: 1,000
   * commands, 64 MiB). Each agent's intake takes one command at a time; one that arrives while
   * this much waits is not queued but refused `busy` at once (answered, when it asked for an
   * answer) and counted (`commandIntake`), so a flood cannot hold a real command back behind
   * more than this, nor fill the process's memory.
   */
  readonly commandBacklog?: { readonly maxPending?: number; readonly maxPendingBytes?: number; readonly maxPendingPerKey?: number };
  /**
   * Commands refused at intake are dead-lettered (and logged) one by one up to this rate, then
   * counted and summed up in one dead letter per agent per `summaryEveryMs` (default
   * DEFAULT_REFUSAL_RECORDS: 50 at once, then 5 a second; a summary every 10 s). The sender is
   * answered each time.
   */
  readonly refusalRecords?: RefusalRecordLimit;
  /**
   * Token buckets on commands from the bus, per verified key, per claimed key id and one shared
   * (core/runtime/command-admission.ts; default none: a simulation submits in bursts).
   */
  readonly rateLimit?: RateLimit;
  /**
   * What one party may have taken from the bus in a sliding window (core/runtime/command-budget.ts):
   * commands that passed intake and their messages' bytes, charged to the verified key's party
   * unless its role is an operator's or admin's. Past it a command is refused `rate-limited`
   * with `retryAfterMs`, before the agent sees it. Counted in memory, by party, across this
   * runtime's agents; a restart starts every party afresh. Default none (a simulation submits a
   * season of jobs); the site sets `CACO_COMMAND_PARTY_BUDGET` (20,000 commands or 64 MiB a day).
   */
  readonly commandPartyBudget?: CommandPartyBudget;
  /**
   * Refuse commands from the bus that do not name this site (`site`) or carry an expiry
   * (`expiresAt`); see core/identity/command-binding.ts. Either field, when a command carries
   * it, is checked whatever this says. Default false: outside agents written before the fields
   * existed still get through.
   */
  readonly requireBoundCommands?: boolean;
  readonly maxAttempts?: number;
  readonly backoffMs?: number;
  /**
   * Who may sign ledger events, for verify-on-read (default: the keyring). Every event the
   * agents, the relay and the lockstep scheduler read is verified against it first.
   */
  readonly keys?: KeyResolver;
  /** Where refused events are recorded (default: the store's own quarantine, else memory). */
  readonly quarantine?: QuarantineStore;
  /** How long a failing ledger subscription retries before it is reported dead (default 120 s). */
  readonly subscriptionGiveUpMs?: number;
  /** Where agents that opt in (`AgentDefinition.snapshot`) keep snapshots, signed with the keyring (default: none). */
  readonly snapshots?: SnapshotStore;
  /** How the effects reactor sends what agents schedule (see `AgentDefinition.effects`). */
  readonly effects?: { readonly maxInFlight?: number; readonly maxQueuedPerKey?: number; readonly maxAttempts?: number; readonly backoffMs?: number; readonly maxBackoffMs?: number };
}

/** Whether the runtime's ledger readers are alive (synchronous, for a watchdog): `ok: false` once any gave up. */
export interface ReaderHealth {
  readonly ok: boolean;
  /** Each ledger reader (`relay`, `agent:<name>`, `lockstep`) and its state. */
  readonly readers: ReadonlyArray<{ readonly name: string } & SubscriptionStatus>;
  readonly quarantine: QuarantineCounters;
}

/** What may wait for an agent's command intake (RuntimeOptions.commandBacklog). */
export const DEFAULT_COMMAND_BACKLOG = { maxPending: 1000, maxPendingBytes: 64 * 1024 * 1024, maxPendingPerKey: 100 } as const;

/** Commands from the bus for one agent: taken by its intake (accepted or refused), and shed `busy` before it. */
export interface CommandIntakeCounts {
  readonly taken: number;
  readonly refused: number;
  readonly shed: number;
}

/** A command reply on the bus. */
export type CommandReply =
  | { readonly ok: true; readonly duplicate: boolean; readonly events: ReadonlyArray<{ id: string; type: string; stream: string; revision: number; position: number; data: unknown }> }
  | {
      readonly ok: false;
      readonly error: {
        readonly reason: string;
        readonly problems?: ReadonlyArray<{ path: string; reason: string }>;
        readonly code?: string;
        /** For `rate-limited`: the wait the limit names; POST /jobs sends it as Retry-After. */
        readonly retryAfterMs?: number;
      };
    };

/** What a command's sender is told of how it was handled. */
function replyOf(o: HandleOutcome): CommandReply {
  if (o.refused) return { ok: false, error: { reason: o.refused.reason, code: 'refused', ...(o.refused.problems.length ? { problems: o.refused.problems } : {}) } };
  if (o.error) return { ok: false, error: { reason: o.error } };
  return { ok: true, duplicate: o.duplicate, events: o.events.map((e) => ({ id: e.id, type: e.type, stream: e.stream, revision: e.revision, position: e.position, data: e.data })) };
}

export interface SendOptions {
  readonly source?: string;
  readonly correlationId?: string;
  readonly causationId?: string | null;
  readonly id?: string;
  readonly version?: number;
  readonly timeoutMs?: number;
  /** Sign the command with the keyring as `source`. Default true. */
  readonly sign?: boolean;
  /** The span this command is sent under (an HTTP request's), when tracing. */
  readonly trace?: TraceContext;
  /**
   * `enqueue` only: who the caller authenticated (a Beckn signature, say). In-process
   * commands skip the bus and its signature check, so the caller vouches for the sender.
   */
  readonly principal?: Principal;
}

interface HostSlot {
  readonly host: AgentHost<unknown>;
  readonly mailbox: Mailbox;
  sub?: StoreSubscription;
  busSubs: Subscription[];
  /** Its commands from the bus waiting to be checked, in turns by the key id they claim (listenForCommands). */
  intake?: CallbackQueue;
  /** `bus`: this agent hears other agents' events from the relay instead of the store. */
  readonly input: 'store' | 'bus';
}

/** Hosts a set of agents on one bus, store and clock. */
export class Runtime {
  /** The store as every reader here sees it: verified on read (see VerifiedEventStore). */
  readonly store: VerifiedEventStore;
  private readonly slots: HostSlot[] = [];
  private readonly healthChecks = new Map<string, () => string | undefined>();
  private readonly intakeCounts = new Map<string, { taken: number; refused: number; shed: number }>();
  private cursor: VerifiedCursor | undefined;
  private readonly dlq: DeadLetters;
  private readonly refusals: RefusalRecords;
  /** Command checks give the event loop a turn every 5 ms (not in lockstep: see LoopTurns). */
  private readonly yieldEvery: LoopTurns;
  private relay: Relay | undefined;
  private effects: EffectsReactor | undefined;
  /** The lockstep loop hands events to the reactor only once the agents' servers are up. */
  private effectsReady: Promise<void> = Promise.resolve();
  private readonly admission: CommandAdmission | undefined;
  private readonly budgets: CommandBudgets | undefined;
  /** What a command's `site` and `expiresAt` are checked against. */
  private readonly binding: CommandBinding;
  private started = false;
  private stopping = false;
  // Lockstep scheduler state.
  private readonly queue: Array<{ slot: HostSlot; input: AgentInput; done: (o: HandleOutcome) => void }> = [];
  private dispatchPos = 0;
  private busy = false;
  private readonly wake = new LiveSignal();
  private idleWaiters: Array<() => void> = [];
  private loop: Promise<void> | undefined;
  private loopError: unknown;
  readonly identity: CommandIdentity;
  /** Checked against the registry at construction: a type with versions and no upcaster between them is an error here. */
  readonly upcasters: Upcasters;

  constructor(readonly o: RuntimeOptions) {
    this.upcasters = o.upcasters ?? cacoUpcasters(o.registry);
    this.dlq = new DeadLetters(o.bus, o.site, o.clock, o.log);
    this.yieldEvery = new LoopTurns(o.delivery === 'lockstep' ? 0 : 5);
    this.refusals = new RefusalRecords(o.refusalRecords ?? DEFAULT_REFUSAL_RECORDS, o.clock, this.dlq);
    this.identity = o.identity ?? SiteIdentity.ephemeral(o.keyring, o.clock, o.log);
    this.admission = o.rateLimit ? new CommandAdmission(o.rateLimit, () => o.clock.now()) : undefined;
    this.budgets = o.commandPartyBudget ? new CommandBudgets(o.commandPartyBudget, () => o.clock.now()) : undefined;
    this.binding = { site: o.site, now: () => o.clock.now(), require: o.requireBoundCommands ?? false };
    this.store =
      o.store instanceof VerifiedEventStore
        ? o.store
        : new VerifiedEventStore(o.store, { keys: o.keys ?? o.keyring, quarantine: o.quarantine ?? quarantineOf(o.store) ?? new MemoryQuarantineStore(), log: o.log.child({ component: 'verify-on-read' }), upcasters: this.upcasters });
  }

  get site(): string {
    return this.o.site;
  }

  /** How a reader's checkpoint is tagged here: signed with `signer`'s key (default: the checkpoint's name), bound to the ledger as stored. */
  private checkpointTagging(signer?: string): CheckpointTagging {
    return { tagOf: siteCheckpointTag(this.o.keyring, this.o.site, signer), hashAt: storedHashAt(this.o.store) };
  }

  /** Add an agent before `start()`. `input: 'bus'` makes it a remote-style agent fed by the relay. */
  add<S>(def: AgentDefinition<S>, opts: { input?: 'store' | 'bus' } = {}): AgentHost<S> {
    if (this.started) throw new Error('add agents before start()');
    if (this.slots.some((s) => s.host.name === def.name)) throw new Error(`agent "${def.name}" is added twice`);
    if (clashesWithTagSlots(def.name)) throw new InvalidArgumentError('agent name', `"${def.name}" ends in ".tag" or ".next", which would share its checkpoint's key with another agent's checkpoint tag: choose another name`);
    const host = new AgentHost(def, {
      site: this.o.site,
      store: this.store,
      checkpoints: this.o.checkpoints,
      bus: this.o.bus,
      clock: this.o.clock,
      ids: this.o.ids,
      registry: this.o.registry,
      log: this.o.log,
      submit: (h, input) => void this.submit(this.slotOf(h), input),
      deadLetter: (agent, reason, payload) => this.dlq.send({ agent, reason, payload }),
      ...(this.o.maxAttempts !== undefined ? { maxAttempts: this.o.maxAttempts } : {}),
      ...(this.o.backoffMs !== undefined ? { backoffMs: this.o.backoffMs } : {}),
      ...(this.o.snapshots ? { snapshots: { store: this.o.snapshots, keyring: this.o.keyring } } : {}),
      // Signed with the agent's own key, which every process running the agent holds.
      checkpointTag: this.checkpointTagging(def.name),
    });
    this.slots.push({ host: host as AgentHost<unknown>, mailbox: new Mailbox(), busSubs: [], input: opts.input ?? 'store' });
    return host;
  }

  /** The names of the agents hosted here, in the order they were added. */
  get agentNames(): string[] {
    return this.slots.map((s) => s.host.name);
  }

  host(name: string): AgentHost<unknown> | undefined {
    return this.slots.find((s) => s.host.name === name)?.host;
  }

  private slotOf(h: AgentHost<unknown>): HostSlot {
    const s = this.slots.find((x) => x.host === h);
    if (!s) throw new Error(`agent "${h.name}" is not hosted here`);
    return s;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const s of this.slots) await s.host.restore();
    for (const s of this.slots) await this.listenForCommands(s);
    if (this.o.relay ?? true) {
      // Its checkpoint's tag is signed by the gateway's key: the site's voice to the outside
      // agents it publishes for (the relay writes no events of its own).
      this.relay = new Relay({ store: this.store, checkpoints: this.o.checkpoints, bus: this.o.bus, site: this.o.site, log: this.o.log, checkpointTag: this.checkpointTagging('gateway'), ...(this.o.subscriptionGiveUpMs !== undefined ? { giveUpAfterMs: this.o.subscriptionGiveUpMs } : {}) });
      await this.relay.start();
    }
    const declared = new Map(this.slots.filter((s) => s.host.def.effects).map((s) => [s.host.name, s.host.def.effects!] as const));
    let effectsUp = (): void => undefined;
    if (declared.size > 0) {
      // Its checkpoint carries a tag signed with the reactor's own key (the source of its outcome events).
      const checkpointTag = this.checkpointTagging();
      this.effects = new EffectsReactor({ store: this.store, checkpoints: this.o.checkpoints, clock: this.o.clock, log: this.o.log.child({ component: 'effects' }), declarations: declared, mode: this.o.delivery === 'lockstep' ? 'lockstep' : 'live', checkpointTag, onError: this.subscriptionErrors('effects'), ...this.o.effects });
      await this.effects.prepare();
      this.effectsReady = new Promise<void>((r) => (effectsUp = r));
    }
    for (const s of this.slots) if (s.input === 'bus') await this.listenForEvents(s);
    const storeFed = this.slots.filter((s) => s.input === 'store');
    if (this.o.delivery === 'lockstep') {
      this.dispatchPos = storeFed.length ? Math.min(...storeFed.map((s) => s.host.position)) : await this.store.headPosition();
      this.cursor = this.store.cursor(this.dispatchPos);
      this.loop = this.runLockstep().catch((err: unknown) => {
        this.loopError = err;
        this.o.log.fatal({ err: err instanceof Error ? err.stack : String(err) }, 'lockstep scheduler stopped');
        this.releaseIdle();
      });
    } else {
      for (const s of storeFed) {
        s.sub = await this.store.subscribeAll(
          async (e) => {
            const input = s.host.accept(e);
            if (input) await s.mailbox.run(() => s.host.handle(input));
            await s.host.afterLedgerInput();
          },
          { from: s.host.position, handlerFailures: 'retry', onError: this.subscriptionErrors(`agent:${s.host.name}`), ...(this.o.subscriptionGiveUpMs !== undefined ? { giveUpAfterMs: this.o.subscriptionGiveUpMs } : {}) },
        );
      }
    }
    for (const s of this.slots) await s.host.start();
    // After the agents' onStart: an effect owed from before a crash may be addressed to a server they open.
    await this.effects?.run();
    effectsUp();
  }

  /** Resolves when every effect read so far is sent or given up on (settle() does not wait for sends in the background). */
  async effectsSettled(): Promise<void> {
    await this.effects?.idle();
  }

  /** Effects waiting or in flight for `key` (the key an effect declaration gives, a BAP's origin say). */
  effectBacklog(key: string): number {
    return this.effects?.pendingFor(key) ?? 0;
  }

  /** Queue an input for an agent; resolves with the outcome once handled. */
  submit(slot: HostSlot, input: AgentInput): Promise<HandleOutcome> {
    if (this.o.delivery === 'lockstep') {
      return new Promise((done) => {
        this.queue.push({ slot, input, done });
        this.wake.notify();
      });
    }
    return slot.mailbox.run(() => slot.host.handle(input));
  }

  private async runLockstep(): Promise<void> {
    const hosts = this.slots.filter((s) => s.input === 'store').map((s) => s.host);
    while (!this.stopping) {
      // Ledger events first: every reaction to what happened is handled before the next
      // command or timer, so the order of work does not depend on timing.
      const cursor = this.cursor!;
      const before = cursor.position;
      for (const e of await cursor.next(500)) {
        this.busy = true;
        await this.dispatch(hosts, e);
        this.dispatchPos = e.position;
      }
      // Refused events move the cursor too: passing them over is progress.
      if (cursor.position > before) {
        this.dispatchPos = cursor.position;
        continue;
      }
      const next = this.queue.shift();
      if (next) {
        this.busy = true;
        const outcome = await next.slot.host.handle(next.input);
        next.done(outcome);
        continue;
      }
      this.busy = false;
      this.releaseIdle();
      await this.wake.wait(50);
    }
  }

  private async dispatch(hosts: ReadonlyArray<AgentHost<unknown>>, e: Envelope): Promise<void> {
    for (const h of hosts) {
      const input = h.accept(e);
      if (input) await h.handle(input);
      await h.afterLedgerInput();
    }
    // After the fact is stored and seen by every agent: its effect, awaited, so the order of work stays fixed.
    if (this.effects) {
      await this.effectsReady;
      await this.effects.onEvent(e);
    }
  }

  /** Logs a ledger reader's failures: each retry as an error, giving up as fatal. */
  private subscriptionErrors(name: string): SubscriptionErrorHandler {
    return (err, info) => {
      const fields = { reader: name, attempt: info.attempt, position: info.position, err: err instanceof Error ? err.message : String(err) };
      if (info.fatal) this.o.log.fatal(fields, 'ledger reader gave up: it delivers nothing more (health check fails)');
      else this.o.log.error(fields, 'ledger reader failed; resuming from its position after a back-off');
    };
  }

  /**
   * Are the ledger readers alive? `ok` is false once any has given up (or the lockstep
   * scheduler stopped): the process should then exit non-zero or its health check fail,
   * rather than run on without acting on the ledger.
   */
  readerHealth(): ReaderHealth {
    const readers: Array<{ name: string } & SubscriptionStatus> = [];
    const relay = this.relay?.status();
    if (relay) readers.push({ name: 'relay', ...relay });
    for (const s of this.slots) {
      const st = s.sub?.status?.();
      if (st) readers.push({ name: `agent:${s.host.name}`, ...st });
    }
    const effects = this.effects?.status();
    if (effects) readers.push({ name: 'effects', ...effects });
    if (this.o.delivery === 'lockstep' && this.started) {
      readers.push({ name: 'lockstep', state: this.loopError ? 'failed' : this.stopping ? 'closed' : 'running', position: this.dispatchPos, attempts: 0, ...(this.loopError ? { error: errorText(this.loopError) } : {}) });
    }
    return { ok: readers.every((r) => r.state !== 'failed'), readers, quarantine: this.store.counters };
  }

  private releaseIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  /**
   * Resolves when the system is quiet: no queued or running input, every agent and the relay
   * caught up with the ledger, and the bus has delivered what was published.
   */
  async settle(): Promise<void> {
    for (let stable = 0; stable < 2; ) {
      if (this.loopError) throw this.loopError;
      // Commands from the bus still waiting for their turn to be checked (listenForCommands).
      for (const s of this.slots) await s.intake?.idle();
      const headBefore = await this.store.headPosition();
      if (this.o.delivery === 'lockstep') {
        if (this.busy || this.queue.length || this.dispatchPos < headBefore) {
          this.wake.notify();
          await new Promise<void>((r) => this.idleWaiters.push(r));
        }
      } else {
        for (const s of this.slots) {
          await s.sub?.caughtUp();
          await s.mailbox.idle();
        }
      }
      // Effects read and queued (lockstep awaits those not declared `background`); a send to a
      // receiver that never answers must not hold up settling.
      await this.effects?.caughtUp();
      await this.relay?.caughtUp();
      await this.o.bus.flush();
      const idle = this.o.delivery === 'lockstep' ? !this.busy && this.queue.length === 0 && this.dispatchPos >= headBefore : this.slots.every((s) => s.mailbox.size === 0);
      const headAfter = await this.store.headPosition();
      stable = idle && headAfter === headBefore ? stable + 1 : 0;
    }
  }

  private async listenForCommands(slot: HostSlot): Promise<void> {
    const names = slot.host.def.commands ?? {};
    if (Object.keys(names).length === 0) return;
    const accepts = new Set(Object.values(names));
    const internal = new Set((slot.host.def.internalCommands ?? []).flatMap((n) => (Object.hasOwn(names, n) ? [names[n]!] : [])));
    const counts = { taken: 0, refused: 0, shed: 0 };
    this.intakeCounts.set(slot.host.name, counts);
    const backlog = { ...DEFAULT_COMMAND_BACKLOG, ...this.o.commandBacklog };
    const busy: CommandReply = { ok: false, error: { code: 'busy', reason: `busy: ${backlog.maxPending} commands (or ${backlog.maxPendingBytes} bytes) for agent "${slot.host.name}" are waiting to be checked; this one was not queued: send it again later` } };
    const busyBytes = Buffer.from(JSON.stringify(busy));
    const limits = this.o.commandLimits ?? DEFAULT_COMMAND_LIMITS;
    const check = async (msg: BusMessage, json: ReturnType<typeof parseCommandJson>): Promise<void> => {
      // Checks never wait on I/O but for a registry read, so back to back they ran in one
      // stretch of microtasks while NATS kept the rest in its socket buffer, where no turn or
      // bound applies (a review: a signed submit waited 2–6 s behind a forged flood). A turn for
      // the event loop every few ms of checks lets the socket be read and the bounds act.
      await this.yieldEvery.turn();
      counts.taken++;
      metricsHooks.command(this.o.site, slot.host.name, 'taken');
      const subjectType = commandTypeOfSubject(msg.subject, this.o.site, slot.host.name, names);
      let result = await intakeParsedCommand(msg, json, { registry: this.o.registry, identity: this.identity, accepts, limits, subjectType, internal, binding: this.binding, ...(this.admission ? { admission: this.admission } : {}) });
      // Last, once the command is known good: only what the agent would decide and record is
      // charged. A re-send of one it has handled records nothing: answered `duplicate` as ever.
      const over = result.ok && result.value.principal && !slot.host.hasHandled(commandInputId(result.value)) ? this.budgets?.take(result.value.principal, msg.data.byteLength) : undefined;
      if (over) result = { ok: false, reason: over.reason, code: 'rate-limited', retryAfterMs: over.retryAfterMs };
      if (!result.ok) {
        counts.refused++;
        metricsHooks.command(this.o.site, slot.host.name, 'refused', result.code ?? 'refused');
        const problems = result.problems ? { problems: result.problems.slice(0, 20) } : {};
        // Dead-lettered one by one up to a rate; past it counted and summed up (RefusalRecords).
        if (this.refusals.admit(slot.host.name, result.code ?? 'refused')) {
          // Within the size limit the dead letter keeps the bytes to debug with (bad JSON or
          // envelope, a type or data the schemas refuse), except for a sender we could not
          // authenticate or admit, or a command refused for where it came: its reason, and its
          // bytes cut to 1 KB, without their signature unless it was missing or wrong. A signed
          // command refused for a while (rate-limited, busy) was kept whole, and anyone who may
          // read the DLQ (an auditor) re-sent it later in its signer's name (a helper's
          // review). Beyond the limit, only their size and hash.
          const kept = result.code === undefined || result.code === 'bad-request' || result.code === 'schema';
          const unsigned = result.code === 'unsigned' || result.code === 'bad-signature';
          const payload =
            msg.data.byteLength > limits.maxBytes
              ? { refused: result.payload ?? summarizePayload(msg.data) }
              : kept
                ? Buffer.from(msg.data).toString('utf8')
                : boundedText(unsigned ? msg.data : withoutSignature(json.ok ? json.value : undefined, msg.data));
          await this.dlq.send({ agent: slot.host.name, subject: msg.subject, reason: result.reason, ...problems, payload, headers: msg.headers });
        }
        await this.reply(msg, { ok: false, error: { reason: result.reason, ...problems, ...(result.code ? { code: result.code } : {}), ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}) } });
        return;
      }
      const cmd = result.value;
      const input: AgentInput = { kind: 'command', id: commandInputId(cmd), correlationId: cmd.correlationId, command: cmd };
      const span = startSpan(`command intake ${cmd.type}`, contextFromHeaders(msg.headers), { ...envelopeAttributes(cmd), [ATTR.agent]: slot.host.name, [ATTR.site]: this.o.site }, SpanKind.CONSUMER);
      attachContext(input, span?.ctx);
      endSpan(span);
      // Answer without waiting for the mailbox: the outcome comes when the input is handled.
      void this.submit(slot, input).then((outcome) =>
        this.reply(
          msg,
          replyOf(outcome),
        ),
      );
    };
    const shed = (msg: BusMessage, reply: Uint8Array = busyBytes): void => {
      counts.shed++;
      metricsHooks.command(this.o.site, slot.host.name, 'shed', 'busy');
      this.refusals.shed(slot.host.name);
      if (msg.reply) this.o.bus.respond(msg, reply).catch(() => undefined);
    };
    // Commands are checked one at a time, in turns by the key id they claim (each key's own in
    // order): checking one costs up to a few ms (a 64 KB command's canonical form and signature),
    // and a registered key's id is checked whatever arrives under it, so a flood forged under
    // one (the site's own key ids are public) held every other sender behind it in one queue
    // (review: a third party's signed submit timed out during 1,600 forged commands in 6 s).
    // Now it waits for at most one of them. What waits is bounded in all (maxPending, bytes:
    // past them a command is shed before it is parsed) and per key id (maxPendingPerKey).
    const turns = new CallbackQueue({ maxInFlight: 1, maxQueuedPerBap: backlog.maxPendingPerKey });
    slot.intake = turns;
    let waitingBytes = 0;
    const sub = await this.o.bus.subscribe(
      subjects.commands(this.o.site, slot.host.name),
      (msg) => {
        const bytes = msg.data.byteLength;
        // Waiting: all but the one being checked (one at a time, so the queue holds one in flight whenever it holds any).
        const waiting = Math.max(0, turns.size - 1);
        if (waiting >= backlog.maxPending || (waiting > 0 && waitingBytes + bytes > backlog.maxPendingBytes)) return shed(msg);
        const json = parseCommandJson(msg, limits);
        const key = this.turnOf(json);
        waitingBytes += bytes;
        const offered = turns.offer(key, () =>
          check(msg, json)
            .catch((err: unknown) => this.o.log.error({ err, agent: slot.host.name, subject: msg.subject }, 'command intake failed'))
            .finally(() => {
              waitingBytes -= bytes;
            }),
        );
        if (offered.accepted) return;
        waitingBytes -= bytes;
        shed(msg, Buffer.from(JSON.stringify({ ok: false, error: { code: 'busy', reason: `busy: ${turns.pending(key)} commands under key id "${key.slice(0, 64)}" are waiting or being checked for agent "${slot.host.name}" (at most ${backlog.maxPendingPerKey}); this one was not queued: send it again later` } } satisfies CommandReply)));
      },
      {
        queue: slot.host.name,
        maxPending: backlog.maxPending,
        maxPendingBytes: backlog.maxPendingBytes,
        onShed: (msg) => shed(msg),
      },
    );
    slot.busSubs.push(sub);
  }

  /** Commands from the bus for `agent` so far: taken by its intake, refused there, and shed `busy` before it. */
  commandIntake(agent: string): CommandIntakeCounts {
    const c = this.intakeCounts.get(agent);
    return c ? { ...c } : { taken: 0, refused: 0, shed: 0 };
  }

  private async listenForEvents(slot: HostSlot): Promise<void> {
    // One intake per agent, whatever pattern an event came on: with a loop per subscription, one
    // pattern's later event moved the agent's position while another's earlier events waited
    // behind a decision, and those were then passed over as already seen (review: A@2 never
    // decided after A@1, A@2, B@3). Each handler waits for its message to be taken, so what
    // waits beyond that stays in the bus's own bounded queues (one message per pattern here).
    const intake = new Mailbox();
    for (const pattern of slot.host.def.subscriptions ?? []) {
      const sub = await this.o.bus.subscribe(subjects.eventPattern(this.o.site, pattern), (msg) => intake.run(() => this.takeRelayed(slot, msg)));
      slot.busSubs.push(sub);
    }
  }

  /** One relayed event for a bus-fed agent, checked, after any events it wants that the bus has not brought yet. */
  private async takeRelayed(slot: HostSlot, msg: BusMessage): Promise<void> {
    // Nothing is decided once stopping: the position stays, so the next start hears it again.
    if (this.stopping) return;
    const refuse = (reason: string, problems?: ReadonlyArray<{ path: string; reason: string }>) =>
      this.dlq.send({ agent: slot.host.name, subject: msg.subject, reason, ...(problems ? { problems } : {}), payload: Buffer.from(msg.data).toString('utf8'), headers: msg.headers });
    const result = intakeEvent(msg, this.o.registry, this.o.keyring);
    if (!result.ok) return refuse(result.reason, result.problems);
    const e = result.value;
    // The subject is not signed either: a genuine event re-published on another pattern's
    // subject reached the agent twice, once out of order. The relay puts each on its type's.
    const relayedOn = subjects.event(this.o.site, e.type);
    if (msg.subject !== relayedOn) return refuse(`wrong subject: event ${e.id} of type ${e.type} is relayed on "${relayedOn}" only, not on "${msg.subject}"`, [{ path: 'type', reason: 'does not match the subject' }]);
    // The position travels outside what is hashed and signed: a genuine event re-published
    // with a position far ahead made a bus-fed agent take that as its own position, pass over
    // every later event and checkpoint past the ledger's head (the next start refused). So a
    // position the agent would move to is checked against the store first.
    if (e.position > slot.host.position) {
      const misplaced = await this.storedElsewhere(e);
      if (misplaced) return refuse(misplaced);
    }
    // Patterns arrive in no common order, and the bus may lose a message: events between the
    // agent's position and this one that it wants are read from the store and decided first,
    // in order, as a store-fed agent would (a copy of them heard later is at or before the
    // position, and passed over).
    if (e.position > slot.host.position + 1) {
      for await (const held of this.store.readAll({ from: slot.host.position })) {
        if (held.position >= e.position || this.stopping) break;
        if (slot.host.wantsType(held.type)) await this.decideLedgerEvent(slot, held, undefined);
      }
      if (this.stopping) return;
    }
    // Verified as relayed (the stored bytes), then read at the latest version of its type.
    await this.decideLedgerEvent(slot, this.upcasters.upcastEnvelope(e), msg.headers);
  }

  /** Hand a bus-fed agent one ledger event in position order (as `subscribeAll` does for a store-fed one). */
  private async decideLedgerEvent(slot: HostSlot, e: Envelope, headers: BusMessage['headers'] | undefined): Promise<void> {
    const input = slot.host.accept(e);
    if (input) {
      if (headers) {
        const span = startSpan(`event intake ${e.type}`, contextFromHeaders(headers), { ...envelopeAttributes(e), [ATTR.agent]: slot.host.name, [ATTR.site]: this.o.site }, SpanKind.CONSUMER);
        attachContext(input, span?.ctx);
        endSpan(span);
      }
      await this.submit(slot, input);
    }
    await slot.host.afterLedgerInput();
  }

  /** Why `e` is not the event the store holds at its position, or undefined when it is. */
  private async storedElsewhere(e: Envelope): Promise<string | undefined> {
    try {
      for await (const held of this.o.store.readAll({ from: e.position - 1, limit: 1 })) {
        if (held.position === e.position && held.id === e.id && held.hash === e.hash) return undefined;
        break;
      }
    } catch (err) {
      return `position ${e.position}: the store's event there could not be read to confirm it (${err instanceof Error ? err.message.slice(0, 200) : String(err)})`;
    }
    return `position ${e.position}: the store does not hold event ${e.id} there; a relayed event's position is not signed, so it is taken only as the store confirms it`;
  }

  /**
   * Whose turn a command waits in: the key id it claims, but only if its signature holds under
   * that key as last read (no I/O); else, with junk and unsigned commands, the shared turn. The
   * site's key ids are public: forged commands under one filled its holder's places (100), and
   * its own commands were shed `busy` while the flood lasted. A key id this process has not read
   * yet keeps its own turn until its first lookup.
   */
  private turnOf(json: ReturnType<typeof parseCommandJson>): string {
    const claimed = claimedKeyId(json);
    if (claimed === undefined || !json.ok) return UNAUTHENTICATED;
    return this.identity.signedByHeldKey?.(json.value as Record<string, unknown>) === false ? UNAUTHENTICATED : claimed;
  }

  private async reply(msg: BusMessage, reply: CommandReply): Promise<void> {
    if (!msg.reply) return;
    await this.o.bus.respond(msg, Buffer.from(JSON.stringify(reply)));
  }

  /** Send a command to an agent over the bus and wait for its outcome. */
  async send(agent: string, name: string, data: unknown, opts: SendOptions = {}): Promise<CommandReply> {
    // Bound to this site, so a copy taken off the bus is refused elsewhere; an expiry only
    // where the site demands one (a simulated clock may race a command that carries one).
    const expiry = this.binding.require ? { expiresAt: new Date(this.o.clock.now() + DEFAULT_COMMAND_LIFETIME_MS).toISOString() } : {};
    const base = { ...this.command(agent, name, data, opts), site: this.o.site, ...expiry };
    const cmd = opts.sign === false ? base : await this.identity.sign(base);
    return this.sendEnvelope(agent, name, cmd, { ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.trace ? { trace: opts.trace } : {}) });
  }

  /**
   * Send a command envelope exactly as a client made it (signed by the client's own key, as
   * `POST /jobs` receives it): the agent's runtime checks the signature like any other.
   */
  async sendEnvelope(agent: string, name: string, envelope: unknown, opts: { timeoutMs?: number; trace?: TraceContext } = {}): Promise<CommandReply> {
    const e = (typeof envelope === 'object' && envelope !== null ? envelope : {}) as { type?: unknown; correlationId?: unknown; id?: unknown };
    const attrs = { [ATTR.agent]: agent, [ATTR.site]: this.o.site, ...(typeof e.correlationId === 'string' ? { [ATTR.correlationId]: e.correlationId } : {}) };
    const span = startSpan(`command send ${typeof e.type === 'string' ? e.type : `${agent}.${name}`}`, opts.trace, attrs, SpanKind.PRODUCER);
    try {
      // The client's own correlation id, not yet checked (the agent's intake does): only one a header can carry.
      const headers = span ? { ...traceHeaders(span.ctx), ...(typeof e.correlationId === 'string' && ENVELOPE_ID.test(e.correlationId) ? { 'Caco-Correlation-Id': e.correlationId } : {}) } : undefined;
      const res = await this.o.bus.request(subjects.command(this.o.site, agent, name), Buffer.from(JSON.stringify(envelope)), { timeoutMs: opts.timeoutMs ?? 30_000, ...(headers ? { headers } : {}) });
      endSpan(span);
      return JSON.parse(Buffer.from(res.data).toString('utf8')) as CommandReply;
    } catch (err) {
      endSpan(span, err);
      if (err instanceof TimeoutError) return { ok: false, error: { reason: `agent "${agent}" did not answer "${name}" in time` } };
      throw err;
    }
  }

  /**
   * Queue a command for an in-process agent without the bus, and without waiting for it to be
   * handled: for an HTTP handler that must answer at once (a Beckn ACK) while the agent works
   * later. The data is decoded against the command's schema first; the promise resolves with
   * the outcome once the agent has handled it.
   */
  enqueue(agent: string, name: string, data: unknown, opts: SendOptions = {}): { accepted: true; outcome: Promise<CommandReply> } | { accepted: false; error: CommandReply } {
    const slot = this.slots.find((s) => s.host.name === agent);
    if (!slot) return { accepted: false, error: { ok: false, error: { reason: `no agent "${agent}" in this runtime` } } };
    const draft = this.command(agent, name, data, opts);
    // Over the bus the envelope schema checks these; here the caller gave them, perhaps from an
    // outside request. The agent's events carry them, and the store refuses what is not an id:
    // refused there, the decision would fail and the agent be retried, holding its other work.
    for (const [field, v] of [['id', draft.id], ['source', draft.source], ['correlationId', draft.correlationId], ['causationId', draft.causationId]] as const) {
      if (v !== null && !ENVELOPE_ID.test(v)) return { accepted: false, error: { ok: false, error: { reason: `${field} must be 1 to 128 printable ASCII characters without spaces` } } };
    }
    const decoded = this.o.registry.decode(draft.type, draft.version, data);
    if (!decoded.ok) return { accepted: false, error: { ok: false, error: { reason: `payload fails the ${draft.type} v${draft.version} schema`, problems: decoded.problems } } };
    const cmd: CommandMessage = { ...draft, data: decoded.value, ...(opts.principal ? { principal: opts.principal } : {}) };
    const outcome = this.submit(slot, { kind: 'command', id: cmd.id, correlationId: cmd.correlationId, command: cmd }).then(
      (o): CommandReply =>
        replyOf(o),
    );
    return { accepted: true, outcome };
  }

  /** A command envelope for `agent`'s `name`, stamped with the clock and a fresh id. */
  private command(agent: string, name: string, data: unknown, opts: SendOptions): CommandMessage {
    const type = this.commandType(agent, name);
    const id = opts.id ?? this.o.ids.next();
    return {
      id,
      type,
      version: opts.version ?? this.o.registry.latestVersion(type) ?? 1,
      time: new Date(this.o.clock.now()).toISOString(),
      source: opts.source ?? 'operator',
      correlationId: opts.correlationId ?? id,
      causationId: opts.causationId ?? null,
      data,
    };
  }

  private commandType(agent: string, name: string): string {
    const def = this.slots.find((s) => s.host.name === agent)?.host.def;
    return def?.commands?.[name] ?? `${agent}.${name}`;
  }

  /**
   * Whether every ledger subscription, the lockstep scheduler and the relay are alive, with each
   * one's lag behind the ledger's head. A subscription whose handler failed stops for good
   * (it keeps the error as `failure`): only a restart of the process recovers it.
   */
  async health(): Promise<RuntimeHealth> {
    const head = await this.o.store.headPosition();
    const running = !this.started ? 'runtime not started' : this.stopping ? 'runtime stopping' : undefined;
    const r = this.readerHealth();
    // Each reader's own state is the one truth: failed means it gave up (or its handler ended it).
    const byName = new Map(r.readers.map((x) => [x.name, x]));
    const probe = (name: string, position: number): SubscriptionProbe => {
      const x = byName.get(name);
      return { name, position: x?.position ?? position, failure: x?.state === 'failed' ? (x.error ?? 'gave up') : undefined };
    };
    const probes: SubscriptionProbe[] = [];
    for (const s of this.slots) if (s.sub) probes.push(probe(`agent:${s.host.name}`, s.sub.position));
    if (this.loop) probes.push(probe('lockstep', this.dispatchPos));
    if (this.relay) probes.push(probe('relay', this.relay.position));
    // The effects reactor's live reader: once it gives up, what agents schedule is not sent.
    const effects = byName.get('effects');
    if (effects) probes.push(probe('effects', effects.position));
    const problems: string[] = [];
    for (const s of this.slots) if (s.host.gaveUp) problems.push(`agent:${s.host.name} ${s.host.gaveUp.slice(0, 300)}`);
    for (const [name, check] of this.healthChecks) {
      const p = check();
      if (p !== undefined) problems.push(`${name}: ${p.slice(0, 300)}`);
    }
    return { ...judgeHealth(this.o.site, head, running, probes, problems), readers: r.readers, quarantine: r.quarantine };
  }

  /**
   * A check of something beside the ledger readers (the anchor found at start) that GET /health
   * holds the site to: `check` returns why it fails, or undefined.
   */
  addHealthCheck(name: string, check: () => string | undefined): void {
    this.healthChecks.set(name, check);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.effects?.halt();
    this.wake.close();
    await this.loop;
    // Before the agents stop (and close their servers): effects in flight finish, those not
    // started stay owed and go out after the next start.
    await this.effects?.stop();
    for (const s of this.slots) {
      for (const b of s.busSubs) await b.unsubscribe();
      // Commands still waiting to be checked are not (their senders hear nothing, as when the
      // process stops); the one being checked finishes.
      s.intake?.dropWaiting();
      await s.intake?.idle();
      await s.sub?.close();
      await s.mailbox.idle();
      await s.host.stop();
    }
    // What was refused and not recorded one by one, summed up while the bus is still there.
    await this.refusals.stop();
    await this.relay?.stop();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The message with its `sig` replaced by a note, so the dead letter cannot be re-sent as a
 * signed command; as it came when it is not a JSON object with one.
 */
function withoutSignature(json: unknown, data: Uint8Array): Uint8Array {
  if (json === null || typeof json !== 'object' || Array.isArray(json) || !Object.hasOwn(json, 'sig')) return data;
  return Buffer.from(JSON.stringify({ ...(json as Record<string, unknown>), sig: '[removed: a refused command is not kept re-sendable]' }), 'utf8');
}

/** At most 1 KB of a message, with its size and SHA-256 when cut, for refusals from unknown senders. */
function boundedText(data: Uint8Array): string {
  const text = Buffer.from(data).toString('utf8');
  if (data.length <= 1024) return text;
  return `${text.slice(0, 512)}… [cut: ${data.length} bytes, sha256 ${createHash('sha256').update(data).digest('hex')}]`;
}

/**
 * The id a command is handled under: its causation on the ledger and what marks it handled. A
 * third party chooses its command ids, and an agent skips any input whose id it has handled,
 * events included: a command whose id was a future event's (a gateway fact's id is derived
 * from the sender's own, a Beckn order's from its message id) made the agent fold that event
 * but never decide on it, and the command's decisions took the ids the event's would have
 * (they derive from the input id and its time, which the sender also chooses). So a third
 * party's commands are handled as `<party>/<id>`: no ledger event id holds a "/" (the site
 * makes them all, as UUIDs) and no party name does, so these cannot meet any other input's id.
 * The site's own parties (admin, operators, its agents) keep their ids as sent.
 */
export function commandInputId(cmd: { readonly id: string; readonly principal?: Principal }): string {
  if (cmd.principal?.role !== 'third-party') return cmd.id;
  const id = `${cmd.principal.party}/${cmd.id}`;
  // A causation id is at most 128 characters: past that, "/" and a digest of the two, which
  // no party's own form can be (a party name is never empty, so never starts with "/").
  return id.length <= MAX_INPUT_ID ? id : `/${createHash('sha256').update(id).digest('hex')}`;
}

const MAX_INPUT_ID = 128;
