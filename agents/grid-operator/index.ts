/**
 * The grid-operator agent: a simulated Beckn BAP that buys the site's flexibility for grid
 * stress windows (see docs/market.md). Its HTTP or NATS comes in through `transport`.
 */
export { createGridOperatorAgent, decideGridOperator, GRID_OPERATOR_AGENT, type GridOperatorDeps } from './grid-operator-agent.ts';
export { actionCallbackOf, type ActionCallback, type CallbackBody, type GridOperatorCmd, type GridOperatorIn, type GridOperatorOut } from './messages.ts';
export { NOTHING_PENDING, type Pending } from './pending.ts';
export { gridOperatorConfig, natsAddresses, SIM_BAP, type GridOperatorConfig } from './config.ts';
export { evolveGridOperator, initialGridOperatorState, INITIAL_GRID_OPERATOR_STATE, committedGbp, type GridOperatorState, type Purchase, type BoughtOrder } from './state.ts';
export { chooseOffers, judge, peakIn, ratingFor, costOf, type Choice, type Need, type Verdict } from './policy.ts';
export { CallbackIntake } from './intake.ts';
export type { BecknTransport, PostOutcome, RawCallback, AckAnswer } from './transport.ts';
