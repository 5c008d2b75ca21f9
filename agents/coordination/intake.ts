import { claimedContextFields } from './claimed-field.ts';
import {
  authFailure,
  callbackAddressFault,
  expectedSigner,
  expiresAtMs,
  nackOf,
  timeFault,
  ack,
  readCheckedBody,
  schemaFault,
  verifyRequest,
  BecknErrorCode,
  fault,
  type BecknFault,
  type HttpAnswer,
  type KeyDirectory,
} from '../../beckn/index.ts';
import { decodeBecknBody, REQUEST_ACTIONS, type BecknRequestAction, type BecknBody } from '../../schemas/beckn/index.ts';
import type { DataOf } from '../../schemas/index.ts';
import type { RequestRejected } from '../../schemas/index.ts';
import type { AckOrNackBody, RawRequest } from './beckn-http.ts';
import { checkRequest } from './checks.ts';
import { actionRequestOf } from './messages.ts';
import { BAP_BUDGET_ENV, type CoordinationConfig } from './config.ts';
import { KeyedUsage, windowText } from '../../core/runtime/index.ts';
import type { CoordinationState } from './state.ts';

/**
 * The BPP's front door. Everything here is synchronous with respect to the agent: it reads the
 * agent's current state, answers ACK or NACK at once, and hands accepted work (or the record
 * of a refusal) to the agent's queue. It never waits for the agent, because in a lockstep
 * simulation the sender's `decide` is waiting for this answer.
 *
 * Order of checks: signature → UTF-8 text → JSON → schema → signer is the context's BAP →
 * bap_uri is at the signer's registered address → ttl and dates → repeated message id →
 * business rules. Every refusal queues exactly one `beckn.request.rejected`.
 */

/** A refusal as `beckn.request.rejected` records it. */
export type RejectionData = DataOf<typeof RequestRejected>;

export interface IntakeDeps {
  readonly config: CoordinationConfig;
  readonly keys: KeyDirectory;
  nowMs(): number;
  state(): CoordinationState;
  /** Work in hand for the BAP at this bap_uri (requests not yet handled, callbacks not yet sent). */
  backlog?(bapUri: string): number;
  /** Queue an accepted request for the agent; false if the runtime would not take it. */
  enqueueRequest(action: BecknRequestAction, body: BecknBody<BecknRequestAction>): boolean;
  /** Record a refusal; `signer` is the verified signer of the request, null when none was verified. */
  enqueueRejection(r: RejectionData, signer: string | null): void;
  readonly log?: { warn(obj: object, msg: string): void };
}

/** Best effort, for the audit record and the answer memory only: what the (possibly unverified) body claims (see claimedContextFields). */
function claimedIds(raw: Buffer): { messageId: string | null; transactionId: string | null; bapId: string | null } {
  const c = claimedContextFields(raw, ['message_id', 'transaction_id', 'bap_id']);
  return { messageId: c.message_id, transactionId: c.transaction_id, bapId: c.bap_id };
}

const answerKey = (signer: string, messageId: string): string => `${signer}\u0000${messageId}`;

/**
 * Longest an accepted message is held for replay detection, whatever its ttl (up to a day):
 * held for its whole ttl, a day's worth of one BAP's cheap searches would fill the memory for
 * a day. A repeat after this is still not acted on twice: the agent drops a command id it has
 * handled (becknCommandId, from the signer and the message id); it is answered afresh.
 */
export const REPLAY_HOLD_MAX_MS = 15 * 60_000;
/** Kept a little past the message's expiry, for the sender's clock being behind ours. */
const REPLAY_MARGIN_MS = 60_000;
/** One signer holds at most this share of the replay memory, so no BAP can fill it for the rest. */
const REPLAY_SHARES = 10;

export const replayShareOf = (cfg: Pick<CoordinationConfig, 'replayMemoryMessages'>): number => Math.max(1, Math.ceil(cfg.replayMemoryMessages / REPLAY_SHARES));

interface Remembered {
  readonly signer: string;
  readonly answer: HttpAnswer<AckOrNackBody>;
  /** Until when it must be kept: an ACK until its message could no longer be replayed; a refusal -Infinity (may go any time). */
  readonly keepUntilMs: number;
}

const isHeld = (e: Remembered): boolean => e.keepUntilMs !== -Infinity;

/** 429 with when to retry: the time the first held message in the way is released. */
function busy(message: string, path: string | undefined, firstReleaseMs: number, nowMs: number): HttpAnswer<AckOrNackBody> {
  // Infinity only if nothing were held, which the callers rule out; then a second is as good as any.
  const untilMs = Number.isFinite(firstReleaseMs) ? firstReleaseMs : nowMs + 1000;
  const retrySec = Math.max(1, Math.ceil((untilMs - nowMs) / 1000));
  return { statusCode: 429, headers: { 'retry-after': String(retrySec) }, body: nackOf(fault(BecknErrorCode.BUSINESS_ERROR, `${message}; retry at ${new Date(untilMs).toISOString()} (in ${retrySec} s)`, path)) };
}

const nackAnswer = (f: BecknFault): HttpAnswer<AckOrNackBody> => ({ statusCode: 400, headers: {}, body: nackOf(f) });

export class BppIntake {
  /** Answers by signer and message id, oldest first; an ACK keeps until when its message could be replayed. */
  private readonly answers = new Map<string, Remembered>();
  /** How many ACKs each signer has in `answers` (its share of the memory). */
  private readonly held = new Map<string, number>();

  /** Each BAP's accepted requests in the budget's window (config.bapBudget), by verified signer. */
  private readonly budgets: KeyedUsage | undefined;

  constructor(private readonly d: IntakeDeps) {
    this.budgets = d.config.bapBudget ? new KeyedUsage(d.config.bapBudget) : undefined;
  }

  /**
   * Undefined when one more accepted request of `signer` of `bytes` fits its budget (it is
   * charged once queued), else the 429 with when to retry.
   */
  private overBudget(signer: string, nowMs: number, bytes: number): HttpAnswer<AckOrNackBody> | undefined {
    if (!this.budgets) return undefined;
    const c = this.budgets.check(signer, nowMs, bytes);
    if (c.ok) return undefined;
    const budget = this.budgets.budget;
    const window = windowText(this.budgets.windowMs);
    return busy(`${c.used.count} of your requests (${c.used.bytes} bytes) were accepted in the last ${window}; a BAP may have ${budget.count} requests or ${budget.bytes} bytes accepted in ${window} (${BAP_BUDGET_ENV})`, 'context.bap_id', nowMs + c.retryAfterMs, nowMs);
  }

  async handle(req: RawRequest): Promise<HttpAnswer<AckOrNackBody>> {
    const { config: cfg } = this.d;
    const nowMs = this.d.nowMs();
    const action = REQUEST_ACTIONS.find((a) => a === req.action);
    if (action === undefined) {
      return nackAnswer(fault(BecknErrorCode.INVALID_REQUEST, `a BPP does not take "${req.action}"`, 'context.action'));
    }
    const claimed = claimedIds(req.body);
    let verifiedSigner: string | null = null;
    const refuse = (answer: HttpAnswer<AckOrNackBody>, reason: string, path: string | null, ids = claimed): HttpAnswer<AckOrNackBody> => {
      const err = 'error' in answer.body ? answer.body.error : undefined;
      this.d.enqueueRejection({ action, ...ids, httpStatus: answer.statusCode, code: err?.code ?? 'NACK', reason, path }, verifiedSigner);
      return answer;
    };

    const verified = await verifyRequest(req.headers, req.body, this.d.keys, nowMs / 1000);
    if (!verified.ok) return refuse(authFailure(verified, cfg.bpp.id), `signature ${verified.reason}: ${verified.message}`, null);
    verifiedSigner = verified.subscriberId;

    const read = readCheckedBody(req.body);
    if (!read.ok) return this.remember(verified.subscriberId, claimed.messageId, refuse(nackAnswer(read.fault), read.fault.message, read.fault.path ?? null));
    const json = read.json;
    const decoded = decodeBecknBody(action, json, req.body.byteLength);
    if (!decoded.ok) {
      const f = schemaFault(decoded.problems);
      return this.remember(verified.subscriberId, claimed.messageId, refuse(nackAnswer(f), f.message, f.path ?? null));
    }
    const body = decoded.value;
    const ctx = body.context;
    const ids = { messageId: ctx.message_id, transactionId: ctx.transaction_id, bapId: ctx.bap_id };
    const signer = expectedSigner(ctx);
    if (verified.subscriberId !== signer) {
      const answer = authFailure({ ok: false, reason: 'bad-signature', message: `signed by "${verified.subscriberId}" but the context names "${signer}"` }, cfg.bpp.id);
      return refuse(answer, `signature by the wrong participant: "${verified.subscriberId}" signed for "${signer}"`, 'context.bap_id', ids);
    }
    let registered: string | undefined;
    try {
      registered = await this.d.keys.registeredUrl(verified.subscriberId, verified.uniqueKeyId, nowMs);
    } catch (e) {
      const answer = authFailure({ ok: false, reason: 'key-directory-unavailable', message: `registered address lookup failed: ${(e as Error).message}` }, cfg.bpp.id);
      return refuse(answer, `could not look up the registered address of "${verified.subscriberId}"`, 'context.bap_uri', ids);
    }
    const addressFault = callbackAddressFault(ctx.bap_uri, registered, verified.subscriberId);
    if (addressFault) return this.remember(verified.subscriberId, ctx.message_id, refuse(nackAnswer(addressFault), addressFault.message, addressFault.path ?? null, ids));
    const late = timeFault(body, nowMs);
    if (late) return this.remember(verified.subscriberId, ctx.message_id, refuse(nackAnswer(late), late.message, late.path ?? null, ids));
    const before = this.answers.get(answerKey(verified.subscriberId, ctx.message_id))?.answer;
    if (before) {
      // Same answer, no second effect. A repeat of an accepted request is the one refusal on
      // the ledger for it; a repeat of a refused one was recorded the first time.
      if (before.body.message.ack.status === 'ACK') {
        this.d.enqueueRejection({ action, ...ids, httpStatus: before.statusCode, code: 'duplicate-message-id', reason: 'repeated message_id: answered as the first time, not acted on again', path: 'context.message_id' }, verifiedSigner);
      }
      return before;
    }
    const backlog = this.d.backlog?.(ctx.bap_uri) ?? 0;
    if (backlog >= cfg.maxPendingPerBap) {
      // Not remembered: the same message may be sent again once the backlog has drained.
      const f = fault(BecknErrorCode.BUSINESS_ERROR, `${backlog} requests and callbacks are in hand for ${ctx.bap_uri} (at most ${cfg.maxPendingPerBap}); retry later`, 'context.bap_uri');
      return refuse({ statusCode: 429, headers: { 'retry-after': '1' }, body: nackOf(f) }, f.message, f.path ?? null, ids);
    }
    const check = checkRequest(actionRequestOf(body), this.d.state(), nowMs, cfg);
    if (!check.ok) return this.remember(verified.subscriberId, ctx.message_id, refuse(nackAnswer(check.fault), check.fault.message, check.fault.path ?? null, ids));
    const full = this.roomForAck(verified.subscriberId, nowMs) ?? this.overBudget(verified.subscriberId, nowMs, req.body.length);
    if (full) {
      const err = 'error' in full.body ? full.body.error : undefined;
      return refuse(full, err?.message ?? 'the replay memory is full', err?.paths ?? null, ids);
    }
    if (!this.d.enqueueRequest(action, body)) {
      this.d.log?.warn({ action, messageId: ctx.message_id }, 'the agent would not take an accepted request');
      return { statusCode: 500, headers: {}, body: nackOf(fault(BecknErrorCode.BUSINESS_ERROR, 'the BPP could not queue the request; retry with a new message_id')) };
    }
    this.budgets?.add(verified.subscriberId, nowMs, req.body.length);
    // Kept until the message has expired (after that a replay is refused as expired), at most REPLAY_HOLD_MAX_MS.
    const holdUntil = Math.min(expiresAtMs(ctx) ?? nowMs, nowMs + REPLAY_HOLD_MAX_MS) + REPLAY_MARGIN_MS;
    return this.remember(verified.subscriberId, ctx.message_id, { statusCode: 200, headers: {}, body: ack() }, holdUntil);
  }

  private remember(signer: string, messageId: string | null, answer: HttpAnswer<AckOrNackBody>, keepUntilMs = -Infinity): HttpAnswer<AckOrNackBody> {
    if (messageId === null) return answer;
    // Per signer: another BAP reusing a message id it has seen must not get (or spoil) this answer.
    const key = answerKey(signer, messageId);
    this.drop(key);
    // Full of accepted messages still held: this refusal is not kept (a repeat is judged afresh).
    if (this.answers.size >= this.d.config.replayMemoryMessages && !this.forgetOne(this.d.nowMs())) return answer;
    const entry: Remembered = { signer, answer, keepUntilMs };
    this.answers.set(key, entry);
    if (isHeld(entry)) this.held.set(signer, (this.held.get(signer) ?? 0) + 1);
    return answer;
  }

  private drop(key: string): void {
    const entry = this.answers.get(key);
    if (!entry) return;
    this.answers.delete(key);
    if (!isHeld(entry)) return;
    const n = (this.held.get(entry.signer) ?? 1) - 1;
    if (n > 0) this.held.set(entry.signer, n);
    else this.held.delete(entry.signer);
  }

  /**
   * Undefined when one more accepted message of `signer` fits in the replay memory, else the
   * 429 to answer: the signer is over its share (its own doing: only it is refused), or the
   * whole memory is held by several BAPs' recent messages.
   */
  private roomForAck(signer: string, nowMs: number): HttpAnswer<AckOrNackBody> | undefined {
    const cfg = this.d.config;
    const share = replayShareOf(cfg);
    const mine = this.held.get(signer) ?? 0;
    if (mine >= share && !this.forgetOne(nowMs, signer)) {
      const until = this.firstRelease(signer);
      return busy(`${mine} of your accepted messages are held to catch a replay, the most one BAP may have (a message is held until its ttl has passed, at most ${REPLAY_HOLD_MAX_MS / 60_000} min)`, 'context.bap_id', until, nowMs);
    }
    if (this.answers.size < cfg.replayMemoryMessages || this.forgetOne(nowMs)) return undefined;
    return busy(`the replay memory is full: ${this.answers.size} accepted messages of several BAPs are held to catch a replay (each BAP at most ${share}, each message until its ttl has passed, at most ${REPLAY_HOLD_MAX_MS / 60_000} min)`, undefined, this.firstRelease(), nowMs);
  }

  /** When the first held answer (of `signer`, or of anyone) may go. */
  private firstRelease(signer?: string): number {
    let first = Infinity;
    for (const e of this.answers.values()) if (isHeld(e) && (signer === undefined || e.signer === signer) && e.keepUntilMs < first) first = e.keepUntilMs;
    return first;
  }

  /**
   * Forget the oldest answer that may be forgotten (of `signer` only, when given: one of its
   * ACKs): any refusal, or an ACK whose hold has passed. Never an ACK still held, whose replay
   * would get a fresh answer instead of the first.
   */
  private forgetOne(nowMs: number, signer?: string): boolean {
    for (const [key, entry] of this.answers) {
      if (signer !== undefined && (entry.signer !== signer || !isHeld(entry))) continue;
      if (entry.keepUntilMs <= nowMs) {
        this.drop(key);
        return true;
      }
    }
    return false;
  }
}
