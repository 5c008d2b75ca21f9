import type { MessageOf } from './registry.ts';
import type { ForecastPublished, SignalDegraded, SignalObserved, StressExpected } from './grid.ts';
import type { FlexibilityAvailable, JobCompleted, JobDeadlineMissed, JobPlanned, JobPreempted, JobRejected, JobStarted, PinJob, PlanPublished, ReleaseJob, SiteMetered, SubmitJob } from './compute.ts';
import type { JobPinnedV2, JobReleasedV2, JobSubmittedV2 } from './compute-identity.ts';
import type {
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
  PurchaseSearched,
  PurchaseSelected,
  RecordRejection,
  RequestRejected,
} from './flex.ts';
import type { BecknRequestScheduled, CallbackScheduled, EffectFailed, EffectSent } from './effects.ts';
import type { BatteryStateReported, EnergyOffered } from './onsite.ts';
import type { AgentAnnounced } from './gateway.ts';

/**
 * Each area's messages as one discriminated union on `type`, at their latest versions (older
 * versions are upgraded on read, schemas/upcasters.ts). Readers narrow with an exhaustive
 * `switch (e.type)`; `Envelope<ComputeEvent>` is a stored compute event.
 */
export type GridEvent = MessageOf<typeof SignalObserved | typeof ForecastPublished | typeof StressExpected | typeof SignalDegraded>;

export type ComputeCommand = MessageOf<typeof SubmitJob | typeof PinJob | typeof ReleaseJob>;
export type ComputeEvent = MessageOf<
  | typeof JobSubmittedV2
  | typeof JobRejected
  | typeof JobPlanned
  | typeof JobStarted
  | typeof JobPreempted
  | typeof JobCompleted
  | typeof JobDeadlineMissed
  | typeof JobPinnedV2
  | typeof JobReleasedV2
  | typeof PlanPublished
  | typeof FlexibilityAvailable
  | typeof SiteMetered
>;

/** The seller's side of the flexibility market (the coordination agent, a Beckn BPP). */
export type FlexEvent = MessageOf<
  | typeof OfferPublished
  | typeof OrderSelected
  | typeof OrderInitialized
  | typeof OrderConfirmed
  | typeof OrderActivated
  | typeof OrderUpdated
  | typeof OrderFulfilled
  | typeof OrderCancelled
  | typeof OrderRated
  | typeof RequestRejected
>;
export type FlexCommand = MessageOf<typeof HandleRequest | typeof RecordRejection>;

/** The buyer's side (the grid-operator agent, a Beckn BAP). */
export type MarketEvent = MessageOf<
  | typeof PurchaseSearched
  | typeof PurchaseSelected
  | typeof PurchaseQuoted
  | typeof PurchaseOrdered
  | typeof PurchaseDeclined
  | typeof PurchaseChanged
  | typeof DeliveryReported
  | typeof DeliveryRated
>;
export type MarketCommand = MessageOf<typeof HandleCallback>;

/** Effects the runtime performs from the ledger, and what became of them. */
export type EffectEvent = MessageOf<typeof CallbackScheduled | typeof BecknRequestScheduled | typeof EffectSent | typeof EffectFailed>;

/** Facts of on-site assets run by outside agents (a battery or solar operator). */
export type OnsiteEvent = MessageOf<typeof BatteryStateReported | typeof EnergyOffered>;

export type GatewayEvent = MessageOf<typeof AgentAnnounced>;

/** Every event CACO itself defines. */
export type CacoEvent = GridEvent | ComputeEvent | FlexEvent | MarketEvent | EffectEvent | OnsiteEvent | GatewayEvent;
export type CacoCommand = ComputeCommand | FlexCommand | MarketCommand;
