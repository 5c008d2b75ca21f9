import { eventOf, type EventToAppend } from '../../../core/runtime/index.ts';
import { CallbackScheduled } from '../../../schemas/index.ts';
import type { MessageOf } from '../../../schemas/index.ts';
import { statusPushBody } from '../responses.ts';
import type { CoordinationState, OrderRecord } from '../state.ts';
import { configFor, type CoordinationDecideDeps, type Now } from './deps.ts';

export type CallbackEvent = EventToAppend<MessageOf<typeof CallbackScheduled>>;

/**
 * A callback is a fact first: appended with the decision it answers, sent by the runtime's
 * effects reactor once stored, never from inside `decide`.
 */
export function callbackEvent(target: string, action: string, body: { readonly context: { readonly message_id: string } }): CallbackEvent {
  return eventOf(CallbackScheduled, { target, action, messageId: body.context.message_id, body });
}

/** An unsolicited on_status (delivery news): a new message id in the order's transaction. */
export function statusPush(deps: CoordinationDecideDeps, s: CoordinationState, o: OrderRecord, now: Now): CallbackEvent {
  return callbackEvent(o.bapUri, 'on_status', statusPushBody(configFor(deps, o.bapUri), s, o, now.nowMs, now.newId()));
}
