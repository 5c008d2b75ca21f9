import type { Clock } from '../clock/clock.ts';
import { isOneOf, type Envelope, type NewEvent } from '../envelope/envelope.ts';
import { EffectFailed, EffectSent } from '../../schemas/index.ts';
import { derivedUuid7 } from '../ids/ids.ts';
import type { Logger } from '../log/logger.ts';
import type { CheckpointStore, EventStore, StoreSubscription, SubscriptionErrorHandler, SubscriptionStatus } from '../store/event-store.ts';
import type { EffectDeclaration, EffectResult } from './agent.ts';
import { CallbackQueue } from './fair-queue.ts';
import { readerCheckpoint, type CheckpointTagging, type ReaderCheckpoint } from './tagged-checkpoint.ts';

export const EFFECT_SENT = EffectSent.type;
export const EFFECT_FAILED = EffectFailed.type;
const isOutcome = isOneOf([EffectSent, EffectFailed]);

export interface EffectsReactorOptions {
  readonly store: EventStore;
  readonly checkpoints: CheckpointStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Each agent's declared effects, by agent name then event type. */
  readonly declarations: ReadonlyMap<string, Readonly<Record<string, EffectDeclaration>>>;
  /**
   * `lockstep`: the runtime hands each event to `onEvent` and awaits the effect, retries and
   * outcome included, so a simulation stays deterministic. `live`: the reactor tails the
   * ledger itself and sends through a fair queue without holding the ledger up.
   */
  readonly mode: 'lockstep' | 'live';
  /** Source of the outcome events and name of the checkpoint; default `effects`. */
  readonly name?: string;
  /** Sends in flight at once over all keys; default 32. */
  readonly maxInFlight?: number;
  /** Effects waiting or in flight for one key; past it an effect is recorded as failed. Default 1000. */
  readonly maxQueuedPerKey?: number;
  /** Attempts before an effect is given up on; default 5. */
  readonly maxAttempts?: number;
  /** First back-off in ms, doubled per attempt up to `maxBackoffMs`; default 200. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** For tests: how to wait between attempts. */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * The tag of a checkpoint position (TaggedCheckpoint): a site signature the checkpoint's
   * writer cannot forge. Without it the checkpoint is taken as stored.
   */
  readonly checkpointTag?: CheckpointTagging;
  /** Told of each failure of the live reader (it retries from its own position), and when it gives up. */
  readonly onError?: SubscriptionErrorHandler;
}

interface Scheduled {
  readonly event: Envelope;
  readonly decl: EffectDeclaration;
}

/**
 * The outbox's sender. An effect is an event on the ledger (`beckn.callback.scheduled`, say)
 * whose type the scheduling agent declared in `effects`; this reactor reads the committed
 * ledger, performs each such effect after it is stored, retries with back-off, and records the
 * outcome as `outbox.effect.sent` / `outbox.effect.failed` (caused by the effect's event). An effect with an
 * outcome on the ledger is never sent again; one without (a crash between commit and send) is
 * sent after restart, with the same idempotency key, so the receiver can drop a repeat.
 */
export class EffectsReactor {
  /** Effects settled whose outcome this reader has not passed yet, by effect event id. */
  private readonly done = new Set<string>();
  /** Positions of effects read and not yet settled: the checkpoint stays below the lowest. */
  private readonly open = new Set<number>();
  private position = 0;
  private sub: StoreSubscription | undefined;
  private readonly queue: CallbackQueue;
  private stopped = false;
  private sinceCheckpoint = 0;
  private from = 0;
  private owed: Envelope[] = [];

  private readonly checkpoint: ReaderCheckpoint;

  constructor(private readonly o: EffectsReactorOptions) {
    this.queue = new CallbackQueue({ maxInFlight: o.maxInFlight ?? 32, maxQueuedPerBap: o.maxQueuedPerKey ?? 1000 });
    const name = o.name ?? 'effects';
    this.checkpoint = readerCheckpoint(o.checkpoints, name, o.checkpointTag && { ...o.checkpointTag, log: o.log });
  }

  get name(): string {
    return this.o.name ?? 'effects';
  }

  /** True when no agent declared an effect: the runtime then runs no reactor. */
  get empty(): boolean {
    for (const d of this.o.declarations.values()) if (Object.keys(d).length > 0) return false;
    return true;
  }

  /** Effects waiting or in flight. */
  get pending(): number {
    return this.queue.size;
  }

  /** Effects waiting or in flight for `key` (a BAP's backlog). */
  pendingFor(key: string): number {
    return this.queue.pending(key);
  }

  /**
   * Learn which effects after the checkpoint already have outcomes. Lockstep: the reactor is
   * then at the head, and `run()` sends those still owed; the runtime hands it what follows.
   */
  async prepare(): Promise<void> {
    this.from = await this.checkpoint.get();
    const head = await this.o.store.headPosition();
    for await (const e of this.o.store.readAll({ from: this.from })) {
      if (e.position > head) break;
      if (isOutcome(e)) this.done.add(e.data.effectId);
      else if (this.declarationOf(e)) this.owed.push(e);
    }
    for (const e of this.owed) if (!this.done.has(e.id)) this.open.add(e.position);
    this.position = this.o.mode === 'lockstep' ? head : this.from;
  }

  /** Start sending: once the agents (and the servers they open) are up. */
  async run(): Promise<void> {
    if (this.o.mode === 'live') {
      // From the checkpoint: the effects owed are read again and skipped when settled.
      // Retried, as the agents' readers are: one failure used to end it for good, and every
      // effect after it was recorded as scheduled and never sent while health said ok (a
      // helper's review: one failed checkpoint write).
      this.sub = await this.o.store.subscribeAll((e) => this.onEvent(e), { from: this.from, handlerFailures: 'retry', ...(this.o.onError ? { onError: this.o.onError } : {}) });
      return;
    }
    const owed = this.owed.splice(0);
    for (const e of owed) {
      const decl = this.declarationOf(e);
      if (!decl || this.done.has(e.id)) continue;
      this.open.add(e.position);
      await this.deliver({ event: e, decl });
    }
  }

  /**
   * One committed event. Lockstep: resolves when its effect (if any) is settled. Live: resolves
   * once the effect is queued, so one slow receiver holds up only its own key.
   */
  async onEvent(e: Envelope): Promise<void> {
    if (e.position <= this.position || this.stopped) return;
    this.position = e.position;
    this.sinceCheckpoint++;
    if (isOutcome(e)) {
      // An outcome always comes after its effect, which this reader has therefore passed and
      // will not see again: forget it, so memory stays bounded by the effects in flight.
      this.done.delete(e.data.effectId);
    } else {
      const decl = this.declarationOf(e);
      if (decl && !this.done.has(e.id)) {
        const s: Scheduled = { event: e, decl };
        this.open.add(e.position);
        if (this.o.mode === 'lockstep' && decl.background !== true) await this.deliver(s);
        else {
          const key = safeKey(decl, e);
          const offered = this.queue.offer(key, () => this.deliver(s));
          if (!offered.accepted) await this.settle(s, { kind: 'failed', attempts: 0, reason: `not sent: ${offered.reason}` });
        }
      }
    }
    if (this.sinceCheckpoint >= 100) await this.saveCheckpoint();
  }

  /** The live reader's state, for health checks (undefined in lockstep, where the runtime feeds it). */
  status(): SubscriptionStatus | undefined {
    return this.sub?.status?.();
  }

  /** Resolves when the ledger has been read to its head and each effect is queued or settled. */
  async caughtUp(): Promise<void> {
    await this.sub?.caughtUp();
  }

  /** Resolves when every effect read so far is settled (sent, or given up on). */
  async idle(): Promise<void> {
    await this.sub?.caughtUp();
    await this.queue.idle();
  }

  /** Send nothing more: an effect in flight finishes its attempt but is neither retried nor recorded. */
  halt(): void {
    this.stopped = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.sub?.close();
    // Effects not started stay owed: they have no outcome, so the next start sends them.
    this.queue.dropWaiting();
    await this.queue.idle();
    await this.saveCheckpoint();
  }

  private declarationOf(e: Envelope): EffectDeclaration | undefined {
    return this.o.declarations.get(e.source)?.[e.type];
  }

  private async deliver(s: Scheduled): Promise<void> {
    const max = this.o.maxAttempts ?? 5;
    const idempotencyKey = idempotencyKeyOf(s.event);
    let reason = '';
    for (let n = 1; n <= max; n++) {
      if (this.stopped) return;
      let r: EffectResult;
      try {
        r = await s.decl.perform(s.event, { number: n, idempotencyKey, nowMs: this.o.clock.now() });
      } catch (err) {
        r = { ok: false, reason: err instanceof Error ? err.message : String(err) };
      }
      if (r.ok) return this.settle(s, { kind: 'sent', attempts: n, result: r });
      reason = r.reason;
      if (this.stopped) return;
      this.o.log.warn({ effectId: s.event.id, type: s.event.type, attempt: n, reason }, 'effect not delivered; retrying with back-off');
      if (n < max) await (this.o.sleep ?? sleep)(Math.min(this.o.maxBackoffMs ?? 5_000, (this.o.backoffMs ?? 200) * 2 ** (n - 1)));
    }
    await this.settle(s, { kind: 'failed', attempts: max, reason: `gave up after ${max} attempts: ${reason}` });
  }

  private async settle(s: Scheduled, outcome: { kind: 'sent'; attempts: number; result: Extract<EffectResult, { ok: true }> } | { kind: 'failed'; attempts: number; reason: string }): Promise<void> {
    const e = s.event;
    const meta = effectField(e, 'meta');
    const base = {
      effectId: e.id,
      effectType: e.type,
      scheduledBy: e.source,
      messageId: idempotencyKeyOf(e),
      attempts: outcome.attempts,
      ...(meta !== undefined ? { meta } : {}),
    };
    const data =
      outcome.kind === 'sent'
        ? { ...base, httpStatus: outcome.result.httpStatus, ack: outcome.result.ack, detail: outcome.result.detail === null ? null : outcome.result.detail.slice(0, 512) }
        : { ...base, reason: outcome.reason.slice(0, 2048) };
    const event: NewEvent = {
      // Derived from the effect, so recording the same outcome twice stores it once.
      id: derivedUuid7(Date.parse(e.time), `${this.name}|${e.id}`),
      type: outcome.kind === 'sent' ? EFFECT_SENT : EFFECT_FAILED,
      version: 1,
      time: new Date(this.o.clock.now()).toISOString(),
      source: this.name,
      correlationId: e.correlationId,
      causationId: e.id,
      data,
    };
    this.done.add(e.id);
    try {
      await this.o.store.append(`${this.name}-${e.source}`, [event], 'any');
    } catch (err) {
      // The effect went out but its outcome is not stored: it stays owed and is sent again
      // after a restart, which the receiver's dedupe absorbs.
      this.done.delete(e.id);
      this.o.log.error({ effectId: e.id, err: err instanceof Error ? err.message : String(err) }, 'could not record an effect outcome');
      return;
    }
    this.open.delete(e.position);
  }

  private async saveCheckpoint(): Promise<void> {
    this.sinceCheckpoint = 0;
    // Below the oldest effect still owed, so a restart reads it again.
    // A loop, not Math.min(...open): spread past ~125k effects in flight throws.
    let oldest = Infinity;
    for (const p of this.open) if (p < oldest) oldest = p;
    const owed = this.open.size ? oldest - 1 : this.position;
    const at = Math.min(owed, this.position);
    if (at <= 0) return;
    try {
      await this.checkpoint.put(at);
    } catch (err) {
      // Sending goes on: a checkpoint behind only makes a restart read (and skip) more. Tried
      // again ten events later, not at every event while the store is failing.
      this.sinceCheckpoint = 90;
      this.o.log.error({ at, err: err instanceof Error ? err.message : String(err) }, 'could not save the effects checkpoint; sending goes on, and it is tried again');
    }
  }
}

/** The receiver's dedupe key: the message id the event carries, else the event id. */
export function idempotencyKeyOf(e: Envelope): string {
  const m = effectField(e, 'messageId');
  return typeof m === 'string' && m.length > 0 ? m : e.id;
}

/**
 * A field every effect event may carry (`messageId`, `meta`). An effect is any registered type
 * an agent declares, so its payload type is not known here: the field is looked up, not assumed.
 */
function effectField(e: Envelope, key: 'messageId' | 'meta'): unknown {
  const d = e.data;
  return typeof d === 'object' && d !== null && key in d ? Reflect.get(d, key) : undefined;
}

function safeKey(decl: EffectDeclaration, e: Envelope): string {
  try {
    return decl.key(e);
  } catch {
    return e.source;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
