import type { MessageOf } from '../../schemas/index.ts';
import type { ComputeCommand, ComputeEvent, OnsiteEvent } from '../../schemas/index.ts';
import type { ForecastPublished, SignalObserved } from '../../schemas/index.ts';
import type { OrderCancelled, OrderConfirmed, OrderUpdated } from '../../schemas/index.ts';

/** The flexibility orders the coordination agent records: each changes the import caps the plan must keep. */
export type FlexOrderEvent = MessageOf<typeof OrderConfirmed | typeof OrderUpdated | typeof OrderCancelled>;

/** What the grid agent tells the compute agent: the forecast it plans on and the signals it meters with. */
export type GridFact = MessageOf<typeof ForecastPublished | typeof SignalObserved>;

/**
 * What the compute agent evolves and decides on: its own events (rebuilt on restore) and the
 * facts of others it observes. `compute.job.submitted`, `pinned` and `released` may still be
 * stored at v1; readers go through the upcast helpers of schemas/compute-identity.ts.
 */
export type ComputeIn = ComputeEvent | GridFact | FlexOrderEvent | OnsiteEvent;

/** What it appends. */
export type ComputeOut = ComputeEvent;

/** What it accepts on `caco.<site>.cmd.compute.<name>`. */
export type ComputeCmd = ComputeCommand;
