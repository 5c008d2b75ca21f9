import { isOneOf } from '../../core/envelope/index.ts';
import { BecknRequestScheduled, MARKET_EVENTS, type DataOf, type EffectFailed, type EffectSent, type ForecastPublished, type HandleCallback, type MarketCommand, type MessageOf, type StressExpected } from '../../schemas/index.ts';
import type { BecknBody, BecknCallbackAction } from '../../schemas/beckn/index.ts';

/** What the grid operator emits: the buyer's facts and the Beckn requests they send. */
const GRID_OPERATOR_OUT = [...MARKET_EVENTS, BecknRequestScheduled] as const;
export type GridOperatorOut = MessageOf<(typeof GRID_OPERATOR_OUT)[number]>;

/** Its own events (what `evolve` folds) and what it decides on: stress windows, forecasts, and the answers to its requests. */
export type GridOperatorIn = GridOperatorOut | MessageOf<typeof StressExpected | typeof ForecastPublished | typeof EffectSent | typeof EffectFailed>;

export type GridOperatorCmd = MarketCommand;

/** The guard `evolve` narrows with: exactly its own events. */
export const isGridOperatorOwn = isOneOf(GRID_OPERATOR_OUT);

/** A Beckn callback as the `market.callback.handle` command carries it. */
export type CallbackBody = DataOf<typeof HandleCallback>['body'];

/** A callback with its action and body tied together, so a switch on `action` narrows the body. */
export type ActionCallback = { readonly [A in BecknCallbackAction]: { readonly action: A; readonly body: BecknBody<A> } }[BecknCallbackAction];

const is = <A extends BecknCallbackAction>(body: CallbackBody, action: A): body is Extract<CallbackBody, { readonly context: { readonly action: A } }> => body.context.action === action;

/** The body's context names its action (the schema of that action decoded it). */
export function actionCallbackOf(body: CallbackBody): ActionCallback {
  if (is(body, 'on_search')) return { action: 'on_search', body };
  if (is(body, 'on_select')) return { action: 'on_select', body };
  if (is(body, 'on_init')) return { action: 'on_init', body };
  if (is(body, 'on_confirm')) return { action: 'on_confirm', body };
  if (is(body, 'on_status')) return { action: 'on_status', body };
  if (is(body, 'on_update')) return { action: 'on_update', body };
  if (is(body, 'on_cancel')) return { action: 'on_cancel', body };
  if (is(body, 'on_rating')) return { action: 'on_rating', body };
  if (is(body, 'on_support')) return { action: 'on_support', body };
  const never: never = body;
  return never;
}
