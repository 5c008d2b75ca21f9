/**
 * The coordination agent: the site's Beckn BPP (see docs/market.md).
 *
 * ```ts
 * runtime.add(createCoordinationAgent({ runtime, signingKey, keyDirectory, resolver }));
 * ```
 */
export { createCoordinationAgent, decideCoordination, COORDINATION_AGENT, type CoordinationDeps } from './coordination-agent.ts';
export { actionRequestOf, type ActionRequest, type CoordinationCmd, type CoordinationIn, type CoordinationOut, type RequestBody } from './messages.ts';
export { BAP_BUDGET_ENV, bapBudgetFromEnv, coordinationConfig, DEFAULT_BAP_BUDGET, DEFAULT_LONDON_SITE, SIM_BPP, type CoordinationConfig } from './config.ts';
export { evolveCoordination, initialCoordinationState, INITIAL_COORDINATION_STATE, availableKwOf, type CoordinationState, type OrderRecord, type PublishedOffer } from './state.ts';
export { candidateOffers, offersToPublish, materiallyDifferent, openOffers, priceFor } from './offers.ts';
export { checkRequest, type RequestPlan } from './checks.ts';
export { BppIntake, type RejectionData } from './intake.ts';
export { becknCommandId } from './doors.ts';
export { startBecknHttpServer, postSigned, readAnswer, loopbackTransport, LoopbackResolver, type BecknHttpServer, type PostResult, type UriResolver, type RawRequest } from './beckn-http.ts';
export { startBecknNatsServer, requestSigned, natsTransport, type BecknNatsServer } from './beckn-nats.ts';
export { seededSigningKey, writeKeyDirectoryFile } from './identity.ts';
