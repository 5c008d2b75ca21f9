import type { MessageOf } from './registry.ts';
import { ForecastPublished, SignalDegraded, SignalObserved, StressExpected } from './grid.ts';
import { FlexibilityAvailable, JobCompleted, JobDeadlineMissed, JobPlanned, JobPreempted, JobRejected, JobStarted, PinJob, PlanPublished, ReleaseJob, SiteMetered, SubmitJob } from './compute.ts';
import { JobPinnedV2, JobReleasedV2, JobSubmittedV2 } from './compute-identity.ts';
import {
  DeliveryRated,
  DeliveryReported,
  HandleCallback,
  HandleRequest,
  OfferPublished,
  OrderActivated,
  OrderCancelled,
  OrderConfirmed,
  OrderFulfilled,
  OrderInitialized,
  OrderRated,
  OrderSelected,
  OrderUpdated,
  PurchaseChanged,
  PurchaseDeclined,
  PurchaseOrdered,
  PurchaseQuoted,
  PurchaseSearchedV2,
  PurchaseSelected,
  RecordRejection,
  RequestRejected,
} from './flex.ts';
import { BecknRequestScheduled, CallbackScheduled, EffectFailed, EffectSent } from './effects.ts';
import { BatteryStateReported, EnergyOffered } from './onsite.ts';
import { AgentAnnounced } from './gateway.ts';

/**
 * Each area's messages as one discriminated union on `type`, at their latest versions (older
 * versions are upgraded on read, schemas/upcasters.ts). Readers narrow with an exhaustive
 * `switch (e.type)`; `Envelope<ComputeEvent>` is a stored compute event.
 *
 * Each union is built from the list of definitions beside it, so a test can check at run time
 * that the unions cover every latest version the registry knows (test/schemas/messages.test.ts).
 */
export const GRID_EVENTS = [SignalObserved, ForecastPublished, StressExpected, SignalDegraded] as const;
export type GridEvent = MessageOf<(typeof GRID_EVENTS)[number]>;

export const COMPUTE_COMMANDS = [SubmitJob, PinJob, ReleaseJob] as const;
export type ComputeCommand = MessageOf<(typeof COMPUTE_COMMANDS)[number]>;
export const COMPUTE_EVENTS = [
  JobSubmittedV2,
  JobRejected,
  JobPlanned,
  JobStarted,
  JobPreempted,
  JobCompleted,
  JobDeadlineMissed,
  JobPinnedV2,
  JobReleasedV2,
  PlanPublished,
  FlexibilityAvailable,
  SiteMetered,
] as const;
export type ComputeEvent = MessageOf<(typeof COMPUTE_EVENTS)[number]>;

/** The seller's side of the flexibility market (the coordination agent, a Beckn BPP). */
export const FLEX_EVENTS = [OfferPublished, OrderSelected, OrderInitialized, OrderConfirmed, OrderActivated, OrderUpdated, OrderFulfilled, OrderCancelled, OrderRated, RequestRejected] as const;
export type FlexEvent = MessageOf<(typeof FLEX_EVENTS)[number]>;
export const FLEX_COMMANDS = [HandleRequest, RecordRejection] as const;
export type FlexCommand = MessageOf<(typeof FLEX_COMMANDS)[number]>;

/** The buyer's side (the grid-operator agent, a Beckn BAP). */
export const MARKET_EVENTS = [PurchaseSearchedV2, PurchaseSelected, PurchaseQuoted, PurchaseOrdered, PurchaseDeclined, PurchaseChanged, DeliveryReported, DeliveryRated] as const;
export type MarketEvent = MessageOf<(typeof MARKET_EVENTS)[number]>;
export const MARKET_COMMANDS = [HandleCallback] as const;
export type MarketCommand = MessageOf<(typeof MARKET_COMMANDS)[number]>;

/** Effects the runtime performs from the ledger, and what became of them. */
export const EFFECT_EVENTS = [CallbackScheduled, BecknRequestScheduled, EffectSent, EffectFailed] as const;
export type EffectEvent = MessageOf<(typeof EFFECT_EVENTS)[number]>;

/** Facts of on-site assets run by outside agents (a battery or solar operator). */
export const ONSITE_EVENTS = [BatteryStateReported, EnergyOffered] as const;
export type OnsiteEvent = MessageOf<(typeof ONSITE_EVENTS)[number]>;

export const GATEWAY_EVENTS = [AgentAnnounced] as const;
export type GatewayEvent = MessageOf<(typeof GATEWAY_EVENTS)[number]>;

/** Every event CACO itself defines, at its latest version. */
export const CACO_EVENTS = [...GRID_EVENTS, ...COMPUTE_EVENTS, ...FLEX_EVENTS, ...MARKET_EVENTS, ...EFFECT_EVENTS, ...ONSITE_EVENTS, ...GATEWAY_EVENTS] as const;
export type CacoEvent = GridEvent | ComputeEvent | FlexEvent | MarketEvent | EffectEvent | OnsiteEvent | GatewayEvent;
export const CACO_COMMANDS = [...COMPUTE_COMMANDS, ...FLEX_COMMANDS, ...MARKET_COMMANDS] as const;
export type CacoCommand = ComputeCommand | FlexCommand | MarketCommand;
