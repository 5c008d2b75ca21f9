import { isOneOf } from '../../core/envelope/index.ts';
import { CallbackScheduled, FLEX_EVENTS, FlexibilityAvailable, SiteMetered, type DataOf, type FlexCommand, type HandleRequest, type MessageOf } from '../../schemas/index.ts';
import type { BecknBody, BecknRequestAction } from '../../schemas/beckn/index.ts';

/** What the coordination agent emits: the seller's facts and the callbacks that answer them. */
const COORDINATION_OUT = [...FLEX_EVENTS, CallbackScheduled] as const;
export type CoordinationOut = MessageOf<(typeof COORDINATION_OUT)[number]>;

/** What it evolves and decides on: its own events and the compute agent's flexibility and meter reads. */
const COORDINATION_IN = [...COORDINATION_OUT, FlexibilityAvailable, SiteMetered] as const;
export type CoordinationIn = MessageOf<(typeof COORDINATION_IN)[number]>;

export type CoordinationCmd = FlexCommand;

/** The guard `evolve` narrows with: exactly the messages of `CoordinationIn`. */
export const isCoordinationInput = isOneOf(COORDINATION_IN);

/** A Beckn request as the `flex.request.handle` command carries it. */
export type RequestBody = DataOf<typeof HandleRequest>['body'];

/** A request with its action and body tied together, so a switch on `action` narrows the body. */
export type ActionRequest = { readonly [A in BecknRequestAction]: { readonly action: A; readonly body: BecknBody<A> } }[BecknRequestAction];

const is = <A extends BecknRequestAction>(body: RequestBody, action: A): body is Extract<RequestBody, { readonly context: { readonly action: A } }> => body.context.action === action;

/** The body's context names its action (the schema of that action decoded it). */
export function actionRequestOf(body: RequestBody): ActionRequest {
  if (is(body, 'search')) return { action: 'search', body };
  if (is(body, 'select')) return { action: 'select', body };
  if (is(body, 'init')) return { action: 'init', body };
  if (is(body, 'confirm')) return { action: 'confirm', body };
  if (is(body, 'status')) return { action: 'status', body };
  if (is(body, 'update')) return { action: 'update', body };
  if (is(body, 'cancel')) return { action: 'cancel', body };
  if (is(body, 'rating')) return { action: 'rating', body };
  if (is(body, 'support')) return { action: 'support', body };
  const never: never = body;
  return never;
}
