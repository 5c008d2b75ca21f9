import type { Runtime } from '../core/runtime/runtime.ts';
import type { SimulatedClock } from '../core/clock/simulated-clock.ts';
import type { Keyring } from '../core/ledger/keyring.ts';
import type { SiteConfig } from '../agents/compute/jobs/index.ts';
import { createComputeAgent, type ComputeState } from '../agents/compute/index.ts';
import { createGridAgent, loadGridForecaster, RecordedSignalSource } from '../agents/grid/index.ts';
import type { SimulationInputs } from './inputs.ts';

export interface SiteAgents {
  /** Jobs submitted and not yet finished. */
  activeJobs(): number;
  readonly forecasterNotes: ReadonlyArray<string>;
  close(): Promise<void>;
}

export interface SiteAgentsParams {
  readonly runtime: Runtime;
  readonly inputs: SimulationInputs;
  readonly site: SiteConfig;
  readonly seed: string;
  readonly market: boolean;
  readonly clock: SimulatedClock;
  readonly keyring: Keyring;
}

/**
 * The site's agents for a simulation, in the order their timers must fire at the same
 * instant: the grid agent first (its observations and forecast are what the compute agent
 * plans with), then compute, then the market.
 */
export async function buildSiteAgents(p: SiteAgentsParams): Promise<SiteAgents> {
  const source = new RecordedSignalSource({ carbon: p.inputs.carbon, prices: p.inputs.prices });
  const { forecaster, notes } = await loadGridForecaster();
  p.runtime.add(createGridAgent({ source, forecaster }));
  const compute = p.runtime.add(createComputeAgent({ site: p.site }));
  return {
    activeJobs: () => (compute.state as ComputeState).active.size,
    forecasterNotes: notes,
    close: async () => undefined,
  };
}
