import { buildContext, type Participant } from '../../../beckn/index.ts';
import { eventOf, type Decision, type EventToAppend } from '../../../core/runtime/index.ts';
import { BecknRequestScheduled } from '../../../schemas/index.ts';
import { PurchaseDeclined } from '../../../schemas/index.ts';
import type { BecknAction } from '../../../schemas/beckn/index.ts';
import type { GridOperatorConfig } from '../config.ts';
import type { GridOperatorOut } from '../messages.ts';
import type { Pending } from '../pending.ts';
import type { RequestMeta } from '../request-meta.ts';
import type { BppRef, Purchase } from '../state.ts';

/** What every decider of the grid operator is given besides its state, memory and input. */
export interface GridOperatorDecideDeps {
  readonly config: GridOperatorConfig;
}

/** The time of the decision and a source of fresh ids (seeded in a simulation, so the order of calls matters). */
export interface Now {
  readonly nowMs: number;
  newId(): string;
}

/** Something worth a warning in the log, said by a decider and logged by the wiring. */
export interface Note {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly message: string;
}

/** What a decider returns: the decisions, the requests still unanswered after them, and what to log. */
export interface Decided {
  readonly decisions: ReadonlyArray<Decision<GridOperatorOut>>;
  readonly pending: Pending;
  readonly notes: ReadonlyArray<Note>;
}

export const decided = (pending: Pending, decisions: ReadonlyArray<Decision<GridOperatorOut>> = [], notes: ReadonlyArray<Note> = []): Decided => ({ decisions, pending, notes });

export type GridOperatorEvent = EventToAppend<GridOperatorOut>;

export const streamOf = (purchaseId: string): string => `purchase-${purchaseId}`;
export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A request is a fact first (`beckn.request.scheduled`, appended with the decision), sent by
 * the runtime's effects reactor once stored; its answer comes back as `outbox.effect.sent` /
 * `outbox.effect.failed`, an input like any other (decide/outcome.ts). `meta` says what it was for.
 */
export function requestEvent(baseUri: string, action: BecknAction, body: { readonly context: { readonly message_id: string } }, meta: RequestMeta): GridOperatorEvent {
  return eventOf(BecknRequestScheduled, { target: baseUri, action, messageId: body.context.message_id, body, meta });
}

/** Nothing (more) is bought for a purchase, or for one of its items. */
export function declined(p: { readonly purchaseId: string; readonly transactionId: string | null }, itemId: string | null, code: string | null, reason: string): Decision<GridOperatorOut> {
  return { stream: streamOf(p.purchaseId), events: [eventOf(PurchaseDeclined, { purchaseId: p.purchaseId, transactionId: p.transactionId, itemId, code, reason })] };
}

/** The context of a request in a purchase's transaction, to the BPP that answered its search. */
export function contextFor<A extends BecknAction>(cfg: GridOperatorConfig, action: A, p: Purchase, now: Now) {
  const bpp: Participant | undefined = p.bppId !== null ? { id: p.bppId, uri: p.bppUri } : undefined;
  return buildContext({ action, bap: cfg.bap, ...(bpp ? { bpp } : {}), transactionId: p.transactionId, messageId: now.newId(), nowMs: now.nowMs, domain: cfg.domain });
}

/**
 * The purchase as seen from one of its items or orders: its requests go to the BPP that item
 * was selected from, which a later search in the same transaction may not be.
 */
export const towards = (p: Purchase, bpp: BppRef | null): Purchase => (bpp ? { ...p, bppId: bpp.id, bppUri: bpp.uri } : p);
